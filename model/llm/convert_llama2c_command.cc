#include <iostream>

#include "model/llm/commands.h"
#include "model/llm/flags.h"
#include "model/llm/llama2c.h"

namespace sasrecllm::llm {

int RunConvertLlama2c(int argc, char** argv, int first) {
  StatusOr<Flags> flags = Flags::Parse(argc, argv, first, {}, {"help"});
  if (!flags.ok() || flags->Has("help") || flags->positional().size() != 3) {
    if (!flags.ok()) std::cerr << flags.status() << "\n";
    std::cerr << "usage: sasrecllm convert-llama2c CHECKPOINT.bin TOKENIZER.bin OUT_DIR\n"
                 "  writes OUT_DIR/config.json, model.safetensors, tokenizer.bin\n";
    return 2;
  }
  const auto& p = flags->positional();
  Status s = ConvertLlama2c(p[0], p[1], p[2]);
  if (!s.ok()) {
    std::cerr << "convert-llama2c: " << s << "\n";
    return 1;
  }
  std::cerr << "wrote " << p[2] << "/config.json, model.safetensors, tokenizer.bin\n";
  return 0;
}

}  // namespace sasrecllm::llm
