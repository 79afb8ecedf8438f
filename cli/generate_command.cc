#include <torch/torch.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "base/device_names.h"
#include "cli/llm_commands.h"
#include "model/llm/generate.h"
#include "model/llm/tokenizers/llama2c_tokenizer.h"
#include "model/llm/llama_model.h"
#include "model/torch_device.h"

namespace sasrecllm::cli {
namespace {

using llm::Generate;
using llm::GenerateOptions;
using llm::GenerateResult;
using llm::Llama2cTokenizer;
using llm::LlamaModel;

struct GenerateFlags {
  std::string model;
  std::string prompt;
  int64_t steps = 256;
  double temperature = 1.0;
  double top_p = 0.9;
  int64_t seed = 0;  // <= 0: the time (as run.c)
  int64_t threads = 1;
  std::string tokenizer;  // Default: MODEL/tokenizer.bin
  std::string dtype = "float32";
  std::string device = "cpu";
};

// Run-time errors only: the flags have been checked.
Status Run(const GenerateFlags& flags) {
  const std::string& dir = flags.model;
  torch::set_num_threads(static_cast<int>(flags.threads));

  LlamaModel::Options options;
  SASRECLLM_ASSIGN_OR_RETURN(options.dtype, model::TorchDtype(flags.dtype));
  SASRECLLM_ASSIGN_OR_RETURN(options.device, model::TorchDevice(flags.device));
  SASRECLLM_ASSIGN_OR_RETURN(auto model, LlamaModel::Load(dir, options));
  SASRECLLM_ASSIGN_OR_RETURN(
      auto tokenizer,
      Llama2cTokenizer::Load(flags.tokenizer.empty() ? dir + "/tokenizer.bin" : flags.tokenizer,
                             static_cast<int>(model->config().vocab_size)));

  GenerateOptions gen;
  gen.prompt = flags.prompt;
  gen.steps = static_cast<int>(flags.steps);
  gen.temperature = static_cast<float>(flags.temperature);
  gen.topp = static_cast<float>(flags.top_p);
  gen.seed = flags.seed > 0 ? static_cast<uint64_t>(flags.seed) : 0;  // run.c: <= 0 = time
  SASRECLLM_ASSIGN_OR_RETURN(GenerateResult result,
                             Generate(*model, *tokenizer, gen, [](const std::string& piece) {
                               std::fwrite(piece.data(), 1, piece.size(), stdout);
                               std::fflush(stdout);
                             }));
  std::fputs("\n", stdout);
  std::fflush(stdout);
  if (result.positions > 1) {
    std::fprintf(stderr, "achieved tok/s: %f\n", result.tokens_per_second);
  }
  return OkStatus();
}

}  // namespace

Command AddGenerate(CLI::App& app) {
  Subcommand<GenerateFlags> sub(app, "generate",
                                "greedy or sampled text from an LLM folder (as llama2.c's run)");
  GenerateFlags& f = sub.flags();
  sub->add_option("--model", f.model, "LLM folder (HF layout)")->required();
  sub->add_option("--prompt", f.prompt, "text to continue");
  sub->add_option("--steps", f.steps, "positions to run, prompt included")->check(AtLeast(1));
  sub->add_option("--temperature", f.temperature, "0 = greedy")->check(AtLeast(0));
  sub->add_option("--top-p", f.top_p, "nucleus sampling threshold")->check(CLI::Range(0.0, 1.0));
  sub->add_option("--seed", f.seed, "sampling seed (<= 0: the time)");
  sub->add_option("--threads", f.threads, "libtorch threads")->check(AtLeast(1));
  sub->add_option("--tokenizer", f.tokenizer,
                  "llama2.c tokenizer.bin (default: MODEL/tokenizer.bin)");
  sub->add_option("--dtype", f.dtype, "float32 | bfloat16 | float16")
      ->check(CLI::IsMember({"float32", "bfloat16", "float16"}));
  sub->add_option("--device", f.device, "cpu | cuda[:N]")->check(DeviceNameCheck());
  return sub.RunWith([](const GenerateFlags& f) { return ExitCodeOf("generate", Run(f)); });
}

}  // namespace sasrecllm::cli
