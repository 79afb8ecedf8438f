// Measurements behind `sasrecllm bench-llm`: the device's matmul peak, the
// prefill / decode throughput of a LlamaModel, and prompt-prefix sharing
// through KvCache::RepeatInterleaveBatch against recomputing every sequence.
// Figures only: nothing here asserts a speed.
//
//   SASRECLLM_ASSIGN_OR_RETURN(double peak, MeasureMatmulGflops(2048, 5, torch::kFloat32, cpu));
//   SASRECLLM_ASSIGN_OR_RETURN(PrefillDecodeTiming t,
//                              BenchPrefillDecode(*model, /*batch=*/16, 128, 64, /*repeats=*/3));
//   double gflops = t.prefill_flops / t.prefill_seconds / 1e9;
//
// Times are wall-clock seconds, the best (minimum) of `repeats` runs, the
// device synchronised before each clock read; the first run doubles as the
// warm-up. Token ids are drawn from a generator seeded by `seed`.
//
// Thread safety: the functions only read the model; run one at a time (they
// time the whole machine).
#ifndef SASRECLLM_MODEL_LLM_LLM_BENCH_H_
#define SASRECLLM_MODEL_LLM_LLM_BENCH_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "model/llm/llama_config.h"
#include "model/llm/llama_model.h"
#include "base/status.h"

namespace sasrecllm::llm {

// GFLOP/s (2 n^3 / seconds) of torch::mm on two random [n, n] matrices of
// `dtype` on `device`, best of `repeats` (>= 1) after one warm-up product.
// INVALID_ARGUMENT for n or repeats < 1, INTERNAL for libtorch errors.
StatusOr<double> MeasureMatmulGflops(int64_t n, int repeats, torch::Dtype dtype,
                                     torch::Device device);

// Floating-point operations of one Forward over `new_tokens` positions per
// row, for `batch` rows that already have `past` cached positions, with
// lm_head logits at `logits_positions` positions per row. Counted (one
// multiply-add = 2 FLOPs): the q/k/v/o and gate/up/down projections of every
// layer for every new token; lm_head for every logits position; attention
// scores q.k and the probability-weighted sum of values for the keys each
// query may see (causal: past + i + 1 for new token i), over all heads.
// Not counted: embedding look-up, RMSNorm, RoPE, softmax, SiLU, residual
// adds; nor the masked scores the implementation computes within each
// attention block of a prefill (Options::attention_block).
double ForwardFlops(const LlamaConfig& config, int64_t batch, int64_t past, int64_t new_tokens,
                    int64_t logits_positions);

struct PrefillDecodeTiming {
  double prefill_seconds = 0;  // one Forward of [B, prompt_len], logits at the last position
  double decode_seconds = 0;   // decode_steps Forwards of [B, 1] through the cache, each
                               // followed by argmax over the logits (greedy)
  double prefill_flops = 0;    // ForwardFlops of the prefill
  double decode_flops = 0;     // sum of ForwardFlops over the decode steps
  int64_t prefill_tokens = 0;  // B * prompt_len
  int64_t decode_tokens = 0;   // B * decode_steps
};

// Per repeat: a fresh cache for prompt_len + decode_steps positions, the
// prefill (timed), then greedy decoding (timed separately).
// INVALID_ARGUMENT for sizes < 1; Forward's errors otherwise.
StatusOr<PrefillDecodeTiming> BenchPrefillDecode(const LlamaModel& model, int64_t batch,
                                                 int64_t prompt_len, int64_t decode_steps,
                                                 int repeats, uint64_t seed = 0);

struct PrefixSharingTiming {
  double shared_seconds = 0;     // (a): prefix once + RepeatInterleaveBatch + suffixes
  double recompute_seconds = 0;  // (b): every full sequence from scratch
  double shared_flops = 0;       // ForwardFlops of (a)'s two Forwards
  double recompute_flops = 0;    // ForwardFlops of (b)
  // max |logits_a - logits_b| over the [N, 1, V] last-position logits (float32).
  double max_abs_logit_diff = 0;
};

// One `prefix_len`-token prefix continued by `continuations` suffixes of
// `suffix_len` tokens each, last-position logits only:
//   (a) Forward([1, P], kNone) into a batch-1 cache, RepeatInterleaveBatch(N),
//       Forward([N, S], kLast) through the repeated cache;
//   (b) Forward([N, P + S], kLast) without a cache.
StatusOr<PrefixSharingTiming> BenchPrefixSharing(const LlamaModel& model, int64_t prefix_len,
                                                 int64_t continuations, int64_t suffix_len,
                                                 int repeats, uint64_t seed = 0);

struct PrefillComparison {
  std::vector<double> seconds;  // per model: the best prefill time
  // per model: max |last-position logits - models[0]'s| over [B, 1, V]
  std::vector<double> max_abs_logit_diff;
};

// The same prefill (Forward of [batch, prompt_len] random ids, no cache,
// last-position logits) on each of `models` (one model under different
// Options, e.g. attention_block), interleaved so that machine noise falls on
// all alike: each repeat runs every model once, in turn. All models must
// have the same config and device. INVALID_ARGUMENT for no model or sizes
// < 1; Forward's errors otherwise.
StatusOr<PrefillComparison> ComparePrefill(const std::vector<const LlamaModel*>& models,
                                           int64_t batch, int64_t prompt_len, int repeats,
                                           uint64_t seed = 0);

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_LLM_BENCH_H_
