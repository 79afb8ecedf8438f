// Stage 2 of the pipeline: the LLM re-ranker (hybrid::HybridReranker),
// batched over requests. Sets every candidate's llm_score, the "Yes" logit
// of the CoLLM prompt for (user, candidate), scoring all the (request,
// candidate) pairs of a batch together with each request's prompt prefix
// computed once, within the token budget per forward pass. It wants the
// HYBRID requests that have candidates (after stage 1's retrieval, or a
// HYBRID Score's).
//
// A request whose deadline passes, or that is cancelled, before its LLM
// work runs (or between the forward passes of a long batch) is finished
// with DEADLINE_EXCEEDED / CANCELLED and its remaining LLM work is not done.
// So is one whose deadline is closer than the recent LLM batches took (a
// moving average of their durations): it could not be met, and its work
// would only delay the others.
//
// Metrics (besides the pipeline's): sasrecllm_llm_tokens_total{kind=
// "prefill"|"prefix_reused"}. Batch size unit: sequences, i.e. (request,
// candidate) pairs scored.
//
// Thread safety: Run and Warmup on one thread at a time (the pipeline's
// stage thread; Warmup before serving).
#ifndef SASRECLLM_SERVER_LLM_STAGE_H_
#define SASRECLLM_SERVER_LLM_STAGE_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "model/catalog.h"
#include "model/hybrid/hybrid_reranker.h"
#include "server/clock.h"
#include "server/metrics.h"
#include "server/pipeline.h"

namespace sasrecllm::server {

class LlmStage final : public Stage {
 public:
  // `model`: the bundle's scorer (LoRA merged), `catalog` (not owned) the
  // bundle's, for Warmup's query. `metrics` and `clock` (nullptr = real time)
  // must outlive the stage. Options are clamped by HybridReranker.
  LlmStage(std::shared_ptr<hybrid::HybridModel> model, const hybrid::RerankOptions& options,
           const model::Catalog* catalog, Metrics* metrics, Clock* clock = nullptr);

  absl::string_view name() const override { return kStageLlm; }
  bool Wants(const Request& request) const override;
  // Every HYBRID request: a Recommend gets its candidates from stage 1.
  bool WillWant(const Request& request) const override { return request.hybrid(); }
  // Unit: sequences.
  size_t Run(const std::vector<Request*>& batch, std::vector<absl::Status>* statuses) override;
  absl::Status Warmup() override;

  const hybrid::HybridModel& model() const { return *model_; }
  const hybrid::RerankOptions& options() const { return reranker_.options(); }

 private:
  const std::shared_ptr<hybrid::HybridModel> model_;
  const model::Catalog* const catalog_;
  Metrics* const metrics_;
  Clock* const clock_;
  hybrid::HybridReranker reranker_;
  // Moving average of recent LLM batch durations (stage thread only); zero
  // until batches have been measured.
  absl::Duration expected_batch_time_ = absl::ZeroDuration();
  int batches_measured_ = 0;
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_LLM_STAGE_H_
