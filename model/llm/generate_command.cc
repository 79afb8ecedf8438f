#include <torch/torch.h>

#include <cstdio>
#include <iostream>

#include "model/llm/commands.h"
#include "model/llm/flags.h"
#include "model/llm/generate.h"
#include "model/llm/llama2c_tokenizer.h"
#include "model/llm/llama_model.h"
#include "model/torch_device.h"

namespace sasrecllm::llm {
namespace {

constexpr char kUsage[] =
    "usage: sasrecllm generate --model DIR [--prompt TEXT] [--steps N (256)] [--temperature T (1.0)]\n"
    "                [--top-p P (0.9)] [--seed S (time)] [--threads N (1)]\n"
    "                [--tokenizer FILE (DIR/tokenizer.bin)] [--dtype float32|bfloat16|float16]\n"
    "                [--device cpu|cuda[:N]]\n";

Status Run(const Flags& flags) {
  if (!flags.Has("model")) return InvalidArgumentError("--model is required");
  const std::string dir = flags.Get("model");
  SASRECLLM_ASSIGN_OR_RETURN(int64_t threads, flags.GetInt("threads", 1));
  if (threads <= 0) return InvalidArgumentError("--threads must be > 0");
  torch::set_num_threads(static_cast<int>(threads));

  LlamaModel::Options options;
  SASRECLLM_ASSIGN_OR_RETURN(options.dtype, model::TorchDtype(flags.Get("dtype", "float32")));
  SASRECLLM_ASSIGN_OR_RETURN(options.device, model::TorchDevice(flags.Get("device", "cpu")));
  SASRECLLM_ASSIGN_OR_RETURN(auto model, LlamaModel::Load(dir, options));
  SASRECLLM_ASSIGN_OR_RETURN(
      auto tokenizer,
      Llama2cTokenizer::Load(flags.Get("tokenizer", dir + "/tokenizer.bin"),
                             static_cast<int>(model->config().vocab_size)));

  GenerateOptions gen;
  gen.prompt = flags.Get("prompt", "");
  SASRECLLM_ASSIGN_OR_RETURN(int64_t steps, flags.GetInt("steps", 256));
  SASRECLLM_ASSIGN_OR_RETURN(double temperature, flags.GetDouble("temperature", 1.0));
  SASRECLLM_ASSIGN_OR_RETURN(double topp, flags.GetDouble("top-p", 0.9));
  SASRECLLM_ASSIGN_OR_RETURN(int64_t seed, flags.GetInt("seed", 0));
  gen.steps = static_cast<int>(steps);
  gen.temperature = static_cast<float>(temperature);
  gen.topp = static_cast<float>(topp);
  gen.seed = seed > 0 ? static_cast<uint64_t>(seed) : 0;  // run.c: <= 0 = time

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

int RunGenerate(int argc, char** argv, int first) {
  StatusOr<Flags> flags =
      Flags::Parse(argc, argv, first,
                   {"model", "prompt", "steps", "temperature", "top-p", "seed", "threads",
                    "tokenizer", "dtype", "device"},
                   {"help"});
  if (!flags.ok() || flags->Has("help") || !flags->positional().empty()) {
    if (!flags.ok()) std::cerr << "generate: " << flags.status() << "\n";
    std::cerr << kUsage;
    return 2;
  }
  Status s = Run(*flags);
  if (!s.ok()) {
    std::cerr << "generate: " << s << "\n";
    return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace sasrecllm::llm
