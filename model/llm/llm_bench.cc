#include "model/llm/llm_bench.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "model/llm/random_init.h"
#include "model/torch_errors.h"

namespace sasrecllm::llm {
namespace {

// Waits for queued device work, so that a clock read sees it finished.
void Sync(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// [rows, cols] int64 ids uniform in [3, V) (above <unk>, BOS, EOS) on `device`.
torch::Tensor RandomIds(at::Generator& gen, int64_t rows, int64_t cols, int64_t vocab_size,
                        torch::Device device) {
  const int64_t lo = vocab_size > 3 ? 3 : 0;
  return torch::randint(lo, vocab_size, {rows, cols}, gen, torch::kLong).to(device);
}

}  // namespace

StatusOr<double> MeasureMatmulGflops(int64_t n, int repeats, torch::Dtype dtype,
                                     torch::Device device) {
  SASRECLLM_RETURN_IF_ERROR(
      RequirePositive("MeasureMatmulGflops", {{"n", n}, {"repeats", repeats}}));
  torch::NoGradGuard no_grad;
  try {
    auto opts = torch::TensorOptions().dtype(dtype).device(device);
    torch::Tensor a = torch::randn({n, n}, opts);  // [n, n]
    torch::Tensor b = torch::randn({n, n}, opts);  // [n, n]
    torch::Tensor c = torch::mm(a, b);             // warm-up (allocations, GPU clocks)
    Sync(device);
    double best = std::numeric_limits<double>::infinity();
    for (int r = 0; r < repeats; ++r) {
      const double start = Now();
      torch::mm_out(c, a, b);
      Sync(device);
      best = std::min(best, Now() - start);
    }
    return 2.0 * static_cast<double>(n) * n * n / best / 1e9;
  } catch (const std::exception& e) {
    return InternalError(std::string("MeasureMatmulGflops: ") + TorchErrorMessage(e));
  }
}

double ForwardFlops(const LlamaConfig& config, int64_t batch, int64_t past, int64_t new_tokens,
                    int64_t logits_positions) {
  const LlamaParameterCount params = CountLlamaParameters(config);
  const double b = static_cast<double>(batch), t = static_cast<double>(new_tokens);
  const double projections = 2.0 * static_cast<double>(params.layer_matmul) * b * t;
  const double lm_head = 2.0 * static_cast<double>(params.lm_head) * b * logits_positions;
  // Keys seen, summed over the new tokens: sum_{i<t} (past + i + 1).
  const double keys = t * static_cast<double>(past) + t * (t + 1.0) / 2.0;
  // q.k and probs.v: 2 multiply-adds per (head, head-dim element, key).
  const double attention = 4.0 * static_cast<double>(config.num_hidden_layers) *
                           static_cast<double>(config.num_attention_heads) *
                           static_cast<double>(config.head_dim()) * b * keys;
  return projections + lm_head + attention;
}

StatusOr<PrefillDecodeTiming> BenchPrefillDecode(const LlamaModel& model, int64_t batch,
                                                 int64_t prompt_len, int64_t decode_steps,
                                                 int repeats, uint64_t seed) {
  SASRECLLM_RETURN_IF_ERROR(RequirePositive("BenchPrefillDecode", {{"batch", batch},
                                                                   {"prompt_len", prompt_len},
                                                                   {"decode_steps", decode_steps},
                                                                   {"repeats", repeats}}));
  const LlamaConfig& config = model.config();
  const torch::Device device = model.options().device;
  PrefillDecodeTiming timing;
  timing.prefill_tokens = batch * prompt_len;
  timing.decode_tokens = batch * decode_steps;
  timing.prefill_flops = ForwardFlops(config, batch, 0, prompt_len, 1);
  for (int64_t s = 0; s < decode_steps; ++s) {
    timing.decode_flops += ForwardFlops(config, batch, prompt_len + s, 1, 1);
  }
  timing.prefill_seconds = timing.decode_seconds = std::numeric_limits<double>::infinity();

  torch::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (int r = 0; r < repeats; ++r) {
    torch::Tensor prompt = RandomIds(gen, batch, prompt_len, config.vocab_size, device);  // [B, T]
    SASRECLLM_ASSIGN_OR_RETURN(KvCache cache, model.NewCache(batch, prompt_len + decode_steps));
    ForwardArgs args;
    args.input_ids = prompt;
    args.logits = LogitsMode::kLast;
    Sync(device);
    double start = Now();
    SASRECLLM_ASSIGN_OR_RETURN(torch::Tensor logits, model.Forward(args, &cache));  // [B, 1, V]
    Sync(device);
    timing.prefill_seconds = std::min(timing.prefill_seconds, Now() - start);

    start = Now();
    for (int64_t s = 0; s < decode_steps; ++s) {
      args.input_ids = logits.argmax(-1);                               // [B, 1] int64, greedy
      SASRECLLM_ASSIGN_OR_RETURN(logits, model.Forward(args, &cache));  // [B, 1, V]
    }
    Sync(device);
    timing.decode_seconds = std::min(timing.decode_seconds, Now() - start);
  }
  return timing;
}

StatusOr<PrefixSharingTiming> BenchPrefixSharing(const LlamaModel& model, int64_t prefix_len,
                                                 int64_t continuations, int64_t suffix_len,
                                                 int repeats, uint64_t seed) {
  SASRECLLM_RETURN_IF_ERROR(RequirePositive("BenchPrefixSharing", {{"prefix_len", prefix_len},
                                                                   {"continuations", continuations},
                                                                   {"suffix_len", suffix_len},
                                                                   {"repeats", repeats}}));
  const LlamaConfig& config = model.config();
  const torch::Device device = model.options().device;
  const int64_t n = continuations;
  PrefixSharingTiming timing;
  timing.shared_flops = ForwardFlops(config, 1, 0, prefix_len, 0) +
                        ForwardFlops(config, n, prefix_len, suffix_len, 1);
  timing.recompute_flops = ForwardFlops(config, n, 0, prefix_len + suffix_len, 1);
  timing.shared_seconds = timing.recompute_seconds = std::numeric_limits<double>::infinity();

  torch::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::Tensor prefix = RandomIds(gen, 1, prefix_len, config.vocab_size, device);    // [1, P]
  torch::Tensor suffixes = RandomIds(gen, n, suffix_len, config.vocab_size, device);  // [N, S]
  torch::Tensor full = torch::cat({prefix.expand({n, prefix_len}), suffixes}, 1);     // [N, P+S]

  torch::Tensor shared_logits, recomputed_logits;  // [N, 1, V] float32
  for (int r = 0; r < repeats; ++r) {
    // (a) the prefix once, then the N suffixes through copies of its cache.
    Sync(device);
    double start = Now();
    SASRECLLM_ASSIGN_OR_RETURN(KvCache cache, model.NewCache(1, prefix_len + suffix_len));
    ForwardArgs prefill;
    prefill.input_ids = prefix;
    prefill.logits = LogitsMode::kNone;
    SASRECLLM_RETURN_IF_ERROR(model.Forward(prefill, &cache).status());
    SASRECLLM_ASSIGN_OR_RETURN(KvCache repeated, cache.RepeatInterleaveBatch(n));
    ForwardArgs continue_args;
    continue_args.input_ids = suffixes;
    continue_args.logits = LogitsMode::kLast;
    SASRECLLM_ASSIGN_OR_RETURN(shared_logits, model.Forward(continue_args, &repeated));
    Sync(device);
    timing.shared_seconds = std::min(timing.shared_seconds, Now() - start);

    // (b) every full sequence from scratch.
    start = Now();
    ForwardArgs full_args;
    full_args.input_ids = full;
    full_args.logits = LogitsMode::kLast;
    SASRECLLM_ASSIGN_OR_RETURN(recomputed_logits, model.Forward(full_args, nullptr));
    Sync(device);
    timing.recompute_seconds = std::min(timing.recompute_seconds, Now() - start);
  }
  try {
    timing.max_abs_logit_diff = (shared_logits - recomputed_logits).abs().max().item<double>();
  } catch (const std::exception& e) {
    return InternalError(std::string("BenchPrefixSharing: ") + TorchErrorMessage(e));
  }
  return timing;
}

StatusOr<PrefillComparison> ComparePrefill(const std::vector<const LlamaModel*>& models,
                                           int64_t batch, int64_t prompt_len, int repeats,
                                           uint64_t seed) {
  SASRECLLM_RETURN_IF_ERROR(
      RequirePositive("ComparePrefill", {{"models", static_cast<int64_t>(models.size())},
                                         {"batch", batch},
                                         {"prompt_len", prompt_len},
                                         {"repeats", repeats}}));
  const torch::Device device = models[0]->options().device;
  PrefillComparison out;
  out.seconds.assign(models.size(), std::numeric_limits<double>::infinity());
  out.max_abs_logit_diff.assign(models.size(), 0.0);
  torch::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::Tensor prompt =
      RandomIds(gen, batch, prompt_len, models[0]->config().vocab_size, device);  // [B, T]
  ForwardArgs args;
  args.input_ids = prompt;
  args.logits = LogitsMode::kLast;
  std::vector<torch::Tensor> logits(models.size());  // [B, 1, V] each
  for (int r = 0; r < repeats; ++r) {
    for (size_t m = 0; m < models.size(); ++m) {
      Sync(device);
      const double start = Now();
      SASRECLLM_ASSIGN_OR_RETURN(logits[m], models[m]->Forward(args, nullptr));
      Sync(device);
      out.seconds[m] = std::min(out.seconds[m], Now() - start);
    }
  }
  for (size_t m = 0; m < models.size(); ++m) {
    out.max_abs_logit_diff[m] =
        (logits[m].to(torch::kFloat) - logits[0].to(torch::kFloat)).abs().max().item<double>();
  }
  return out;
}

}  // namespace sasrecllm::llm
