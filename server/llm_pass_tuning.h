// How much work one LLM forward pass of stage 2 should hold, measured on the
// device at warm-up instead of assumed. Packing several requests into one
// pass amortises per-pass overheads (kernel launches, weight reads), which
// is what a GPU needs; on a CPU the pass's activations and KV cache outgrow
// the caches, and one request per pass can be faster (stories260K on 2 cores:
// 1.8x). So the stage times passes of 1, 2, 4, ... copies of a typical
// request (the server's retrieval_k candidates, a full history) and keeps
// the smallest pass whose time per request no larger pass beats by 5%; the
// reranker's token budget per pass (RerankOptions::max_batch_tokens) is then
// set to that many requests' tokens (plus half a request of slack for
// longer prompts), never above the configured budget, which stays the
// memory bound; LlmStage also limits its batches to that many requests
// (Stage::BatchSizeLimit), so that each is answered when its pass is done.
//
//   LlmPassTuner tuner({.max_requests = 8});
//   SASRECLLM_ASSIGN_OR_RETURN(LlmPassTuning t, tuner.Tune(&reranker, query));
//   reranker = HybridReranker(model, {.max_batch_tokens = t.max_batch_tokens, ...});
//
// Measuring stops at the first pass size that does not improve on the best,
// at `max_requests` (the LLM batcher's batch size: no pass holds more), at
// the configured token budget, and before a pass whose expected time exceeds
// `max_pass_seconds` (big models on slow devices keep what they measured).
// Timings are real time; a warm-up during a reload shares the device with
// the model still serving, which makes larger passes look no better.
#ifndef SASRECLLM_SERVER_LLM_PASS_TUNING_H_
#define SASRECLLM_SERVER_LLM_PASS_TUNING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/hybrid/hybrid_reranker.h"

namespace sasrecllm::server {

struct LlmPassMeasurement {
  int requests = 1;                 // copies of the warm-up request in the pass
  double seconds_per_request = 0;   // the pass's time / requests
};

struct LlmPassTuning {
  int64_t tokens_per_request = 0;   // the warm-up request's prompt tokens (as the budget counts)
  std::vector<LlmPassMeasurement> measured;  // in the order measured: 1, 2, 4, ...
  int requests_per_pass = 1;        // the chosen pass size, in warm-up requests
  int64_t max_batch_tokens = 0;     // the budget to serve with
  // Whether the chosen pass is the largest measured (and more than one
  // request): larger passes were still getting cheaper where measuring
  // stopped, so the configured budget and batch size stand.
  bool StillImproving() const {
    return requests_per_pass > 1 && requests_per_pass == measured.back().requests;
  }
  // One line: "1: 0.31 s, 2: 0.36 s per request -> 1 request per pass (1,428 tokens)".
  std::string Summary() const;
};

// The pass size to keep: the first of `measured` (in increasing size) that no
// later one beats by more than 5% per request. `measured` not empty.
int ChoosePassRequests(const std::vector<LlmPassMeasurement>& measured);

class LlmPassTuner {
 public:
  struct Options {
    int max_requests = 8;           // the largest pass tried (the LLM batcher's batch size)
    double max_pass_seconds = 30;   // a pass expected to take longer is not tried
    int repeats_below_half_second = 3;  // fast passes are timed this often (the minimum kept)
  };
  explicit LlmPassTuner(Options options) : options_(options) {}

  // Times `query` alone once untimed (warm-up), then passes of 1, 2, 4, ...
  // copies of it on `reranker` (no gradients), and returns the choice. The
  // budget never exceeds reranker->options().max_batch_tokens.
  // Errors: the model's, from YesLogits.
  absl::StatusOr<LlmPassTuning> Tune(hybrid::HybridReranker* reranker,
                                     const hybrid::RerankQuery& query) const;

 private:
  Options options_;
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_LLM_PASS_TUNING_H_
