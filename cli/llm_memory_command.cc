// sasrecllm llm-memory: what loading an LLM folder costs in memory. Loads
// the model, runs one forward pass of a short prompt (so that every weight a
// request uses has been touched: memory-mapped pages count once read), and
// reports the load time, the weights' size in the serving dtype, and the
// process's resident memory: peak (VmHWM), now, and now split into anonymous
// and file-backed pages. The anchor is the weights' size: peak / weights is
// the figure the memory aim is stated in.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "base/device_names.h"
#include "base/json.h"
#include "base/process_memory.h"
#include "cli/command.h"
#include "cli/llm_commands.h"
#include "model/llm/llama_model.h"
#include "model/torch_device.h"

namespace sasrecllm::cli {
namespace {

using llm::LlamaModel;

struct LlmMemoryFlags {
  std::string model;
  std::string dtype = "float32";
  std::string device = "cpu";
  std::string read = "mmap";
  int64_t prompt_len = 8;
  int64_t threads = 1;
  std::string json;
};

double Mb(int64_t bytes) { return static_cast<double>(bytes) / 1e6; }

// Run-time errors only: the flags have been checked.
Status Run(const LlmMemoryFlags& flags) {
  torch::set_num_threads(static_cast<int>(flags.threads));
  LlamaModel::Options options;
  SASRECLLM_ASSIGN_OR_RETURN(options.dtype, model::TorchDtype(flags.dtype));
  SASRECLLM_ASSIGN_OR_RETURN(options.device, model::TorchDevice(flags.device));
  options.memory_map = flags.read == "mmap";
  std::FILE* text = flags.json == "-" ? stderr : stdout;

  const ProcessMemory before = ReadProcessMemory();
  const auto start = std::chrono::steady_clock::now();
  SASRECLLM_ASSIGN_OR_RETURN(auto model, LlamaModel::Load(flags.model, options));
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const ProcessMemory loaded = ReadProcessMemory();

  int64_t weight_bytes = 0, parameters = 0;
  for (const auto& [name, tensor] : model->Weights()) {
    parameters += tensor.numel();
    weight_bytes += tensor.numel() * static_cast<int64_t>(tensor.element_size());
  }
  // One forward pass over a short prompt, logits for every position (every
  // layer and the whole lm_head read; embed_tokens only for these ids).
  torch::NoGradGuard no_grad;
  const int64_t vocab = model->config().vocab_size;
  torch::Tensor ids =
      torch::arange(1, flags.prompt_len + 1, torch::kLong).remainder(vocab).unsqueeze(0);  // [1, T]
  const auto forward_start = std::chrono::steady_clock::now();
  SASRECLLM_ASSIGN_OR_RETURN(torch::Tensor logits, model->Forward(ids, nullptr));  // [1, T, V]
  const double forward_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - forward_start).count();
  if (!torch::isfinite(logits).all().item<bool>()) {
    return InternalError("llm-memory: the forward pass gave non-finite logits");
  }
  const ProcessMemory after = ReadProcessMemory();

  const double ratio = static_cast<double>(after.peak_rss_bytes) / static_cast<double>(weight_bytes);
  std::fprintf(text,
               "llm-memory: %s, %.1fM parameters, %s on %s, read by %s\n"
               "weights (%s): %.0f MB\n"
               "load: %.2f s (RSS %.0f MB before, %.0f MB after loading)\n"
               "one forward pass of %lld tokens: %.2f s\n"
               "RSS now %.0f MB (anonymous %.0f, file-backed %.0f); peak %.0f MB = %.2fx the weights\n",
               flags.model.c_str(), static_cast<double>(parameters) / 1e6, flags.dtype.c_str(),
               options.device.str().c_str(), flags.read.c_str(), flags.dtype.c_str(),
               Mb(weight_bytes), load_s, Mb(before.rss_bytes), Mb(loaded.rss_bytes),
               static_cast<long long>(flags.prompt_len), forward_s, Mb(after.rss_bytes),
               Mb(after.rss_anon_bytes), Mb(after.rss_file_bytes), Mb(after.peak_rss_bytes), ratio);
  if (!flags.json.empty()) {
    Json j = Json::object();
    j["model"] = flags.model;
    j["dtype"] = flags.dtype;
    j["device"] = options.device.str();
    j["read"] = flags.read;
    j["parameters"] = parameters;
    j["weights_mb"] = Mb(weight_bytes);
    j["load_s"] = load_s;
    j["forward_s"] = forward_s;
    j["rss_before_mb"] = Mb(before.rss_bytes);
    j["rss_loaded_mb"] = Mb(loaded.rss_bytes);
    j["rss_mb"] = Mb(after.rss_bytes);
    j["rss_anon_mb"] = Mb(after.rss_anon_bytes);
    j["rss_file_mb"] = Mb(after.rss_file_bytes);
    j["peak_rss_mb"] = Mb(after.peak_rss_bytes);
    j["peak_over_weights"] = ratio;
    SASRECLLM_RETURN_IF_ERROR(WriteJsonOutput(flags.json, DumpJson(j, 2)));
  }
  return OkStatus();
}

}  // namespace

Command AddLlmMemory(CLI::App& app) {
  Subcommand<LlmMemoryFlags> sub(
      app, "llm-memory", "what loading an LLM folder costs in memory (peak RSS / weights)",
      R"(Loads --model in --dtype, runs one forward pass of --prompt-len tokens, and prints
the load time, the weights' size in --dtype, and resident memory: peak (VmHWM) and
now (anonymous and file-backed). One setting per run: the peak is the process's.)");
  LlmMemoryFlags& f = sub.flags();
  sub->add_option("--model", f.model, "LLM folder (HF layout)")->required();
  sub->add_option("--dtype", f.dtype, "float32 | bfloat16 | float16")
      ->check(CLI::IsMember({"float32", "bfloat16", "float16"}));
  sub->add_option("--device", f.device, "cpu | cuda[:N]")->check(DeviceNameCheck());
  sub->add_option("--read", f.read, "mmap (the default, as the server loads) | copy")
      ->check(CLI::IsMember({"mmap", "copy"}));
  sub->add_option("--prompt-len", f.prompt_len, "tokens of the one forward pass")
      ->check(AtLeast(1));
  sub->add_option("--threads", f.threads, "libtorch threads")->check(AtLeast(1));
  sub->add_option("--json", f.json, kJsonHelp)->type_name("FILE");
  return sub.RunWith([](const LlmMemoryFlags& f) { return ExitCodeOf("llm-memory", Run(f)); });
}

}  // namespace sasrecllm::cli
