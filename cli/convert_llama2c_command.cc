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
  auto f = std::make_shared<ConvertLlama2cFlags>();
  CLI::App* sub = app.add_subcommand(
      "convert-llama2c", "llama2.c checkpoint + tokenizer -> Hugging Face-layout LLM folder");
  sub->footer("Writes OUT_DIR/config.json, model.safetensors, tokenizer.bin.");
  sub->add_option("CHECKPOINT", f->checkpoint, "llama2.c checkpoint (.bin)")->required();
  sub->add_option("TOKENIZER", f->tokenizer, "llama2.c tokenizer (.bin)")->required();
  sub->add_option("OUT_DIR", f->out_dir, "folder to write")->required();
  return {sub, [f] { return ConvertLlama2c(*f); }};
}

}  // namespace sasrecllm::cli
