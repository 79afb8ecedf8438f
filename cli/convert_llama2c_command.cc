// `sasrecllm convert-llama2c CHECKPOINT TOKENIZER OUT_DIR`.
#include <iostream>
#include <memory>
#include <string>

#include "cli/llm_commands.h"
#include "model/llm/llama2c.h"

namespace sasrecllm::cli {
namespace {

struct ConvertLlama2cFlags {
  std::string checkpoint, tokenizer, out_dir;
};

int ConvertLlama2c(const ConvertLlama2cFlags& f) {
  Status s = llm::ConvertLlama2c(f.checkpoint, f.tokenizer, f.out_dir);
  if (!s.ok()) return ExitCodeOf("convert-llama2c", s);
  std::cerr << "wrote " << f.out_dir << "/config.json, model.safetensors, tokenizer.bin\n";
  return kExitOk;
}

}  // namespace

Command AddConvertLlama2c(CLI::App& app) {
  Subcommand<ConvertLlama2cFlags> sub(
      app, "convert-llama2c", "llama2.c checkpoint + tokenizer -> Hugging Face-layout LLM folder",
      "Writes OUT_DIR/config.json, model.safetensors, tokenizer.bin.");
  ConvertLlama2cFlags& f = sub.flags();
  sub->add_option("CHECKPOINT", f.checkpoint, "llama2.c checkpoint (.bin)")->required();
  sub->add_option("TOKENIZER", f.tokenizer, "llama2.c tokenizer (.bin)")->required();
  sub->add_option("OUT_DIR", f.out_dir, "folder to write")->required();
  return sub.RunWith(ConvertLlama2c);
}

}  // namespace sasrecllm::cli
