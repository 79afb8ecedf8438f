// Stage 2 of the service: LLM re-ranking. Requests that need the LLM (hybrid
// Recommend after SASRec retrieval, hybrid Score) are queued here; one thread
// takes up to max_batch_size of them and scores all their (user, candidate)
// pairs with one HybridReranker call: batched across requests, each user's
// prompt prefix computed once, within the token budget per forward pass.
//
//   LlmStage::Options options;  // batcher + rerank options
//   auto stage = LlmStage::Create(options, hybrid_model, &metrics);
//   LlmWork work;
//   work.query = ...;                       // history, titles, candidates
//   work.deadline = deadline;
//   work.is_cancelled = [ctx] { return ctx->IsCancelled(); };
//   work.done = [](absl::StatusOr<std::vector<float>> logits) { ... };
//   (*stage)->Enqueue(std::move(work));      // done() is called exactly once
//
// A request whose deadline passes, or that is cancelled, before its LLM
// batch runs (or between the forward passes of a long batch) gets
// DEADLINE_EXCEEDED / CANCELLED and its remaining LLM work is not done. So
// does one whose deadline is closer than the recent LLM batches took (a
// moving average of their durations): it could not be met, and its work
// would only delay the others.
//
// Metrics: sasrecllm_batch_size{stage="llm"} (sequences, i.e. (request,
// candidate) pairs, per batch),
// sasrecllm_inference_duration_seconds{stage="llm"} and
// sasrecllm_llm_tokens_total{kind="prefill"|"prefix_reused"}.
//
// Thread safety: Enqueue and Shutdown are thread-safe; done() runs on the
// stage's thread (or on the caller's, for a refused Enqueue).
#ifndef SASRECLLM_SERVER_LLM_STAGE_H_
#define SASRECLLM_SERVER_LLM_STAGE_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/hybrid/hybrid_reranker.h"
#include "server/batcher.h"
#include "server/clock.h"
#include "server/metrics.h"

namespace sasrecllm::server {

struct LlmWork {
  hybrid::RerankQuery query;
  absl::Time deadline = absl::InfiniteFuture();
  // Optional: polled before each LLM batch that would compute this request.
  std::function<bool()> is_cancelled;
  // Required: the "Yes" logits of query.candidates, or why there are none.
  std::function<void(absl::StatusOr<std::vector<float>>)> done;
};

class LlmStage {
 public:
  struct Options {
    // Requests per LLM batch and how long the first one waits for company.
    BatcherOptions batcher{.max_batch_size = 8};
    hybrid::RerankOptions rerank;
  };

  // `model`: the bundle's scorer (LoRA merged). `metrics` and `clock`
  // (nullptr = real time) must outlive the stage. INVALID_ARGUMENT for bad
  // options.
  static absl::StatusOr<std::unique_ptr<LlmStage>> Create(
      const Options& options, std::shared_ptr<hybrid::HybridModel> model, Metrics* metrics,
      Clock* clock = nullptr);

  ~LlmStage();

  // Scores one small query through the reranker (first-call allocations).
  absl::Status Warmup(const hybrid::RerankQuery& query);

  // Queues `work`; when the queue refuses it (full: RESOURCE_EXHAUSTED,
  // shutting down: UNAVAILABLE) work.done gets that status at once.
  void Enqueue(LlmWork work);

  // Refuses new work, runs everything accepted, joins. Idempotent.
  void Shutdown();

  const hybrid::HybridModel& model() const { return *model_; }

 private:
  LlmStage(const Options& options, std::shared_ptr<hybrid::HybridModel> model, Metrics* metrics,
           Clock* clock);
  void RunBatch(std::vector<LlmWork> batch);

  const std::shared_ptr<hybrid::HybridModel> model_;
  Metrics* const metrics_;
  Clock* const clock_;
  hybrid::HybridReranker reranker_;  // used by the batcher thread only (and Warmup before it)
  // Moving average of recent LLM batch durations (batcher thread only);
  // zero until batches have been measured.
  absl::Duration expected_batch_time_ = absl::ZeroDuration();
  int batches_measured_ = 0;
  std::unique_ptr<Batcher<LlmWork>> batcher_;
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_LLM_STAGE_H_
