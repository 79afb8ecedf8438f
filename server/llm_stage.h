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
// At construction (model load) the stage tokenizes the prompt suffix of
// every catalog title and the empty-history prefix once
// (hybrid::PromptCache; the first max_cached_titles entries of a larger
// catalog), so a request tokenizes only its own history's titles. Warmup
// also runs the empty-history prefix through the LLM once: requests of
// users without history start from its keys and values (both off when
// max_cached_titles is 0).
//
// With pass tuning on, Warmup measures how many requests one forward pass
// should hold on this device (LlmPassTuner) and serves with that token
// budget (never above the configured one) and batches of that many requests
// (BatchSizeLimit); options() and pass_tuning() say what it chose.
//
// Thread safety: Run and Warmup on one thread at a time (the pipeline's
// stage thread; Warmup before serving). options() and pass_tuning() from
// any thread.
#ifndef SASRECLLM_SERVER_LLM_STAGE_H_
#define SASRECLLM_SERVER_LLM_STAGE_H_

#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "model/catalog.h"
#include "model/hybrid/hybrid_reranker.h"
#include "server/clock.h"
#include "server/llm_pass_tuning.h"
#include "server/metrics.h"
#include "server/pipeline.h"

namespace sasrecllm::server {

// What Warmup's pass tuning measures with: a request like the ones served.
struct LlmStagePassTuning {
  bool enabled = false;       // Default: off (the server turns it on: --llm-pass-tuning)
  int max_requests = 8;       // the LLM batcher's batch size: no pass holds more requests
  int candidates = 20;        // candidates per request (the server's retrieval_k)
  int history = 50;           // history items per request (at most the catalog's)
};

class LlmStage final : public Stage {
 public:
  // Catalog titles whose prompt suffixes are tokenized at load: about 200
  // bytes each (the title and ~25 token ids), 40 MB at the limit.
  static constexpr size_t kMaxCachedTitles = 200000;

  // `model`: the bundle's scorer (LoRA merged), `catalog` (not owned) the
  // bundle's, for Warmup's query and the prompt cache (the first
  // `max_cached_titles` titles; 0: nothing prepared at load, neither the
  // titles' tokens nor the empty-history prefix). `metrics` and `clock`
  // (nullptr = real time) must outlive the stage. Options are clamped by
  // HybridReranker.
  LlmStage(std::shared_ptr<hybrid::HybridModel> model, const hybrid::RerankOptions& options,
           const model::Catalog* catalog, Metrics* metrics, Clock* clock = nullptr,
           LlmStagePassTuning tuning = {}, size_t max_cached_titles = kMaxCachedTitles);

  absl::string_view name() const override { return kStageLlm; }
  bool Wants(const Request& request) const override;
  // Every HYBRID request: a Recommend gets its candidates from stage 1.
  bool WillWant(const Request& request) const override { return request.hybrid(); }
  // Unit: sequences.
  size_t Run(const std::vector<Request*>& batch, std::vector<absl::Status>* statuses) override;
  absl::Status Warmup() override;
  // With pass tuning: the chosen requests per pass, unless larger passes
  // were still getting cheaper where measuring stopped (then 0: the
  // configured batch size stands). A batch of one pass's requests finishes
  // each of them as soon as its pass is done, not when the last one is.
  int BatchSizeLimit() const override;

  const hybrid::HybridModel& model() const { return *model_; }
  // The reranker's options: after a tuning Warmup, its chosen token budget.
  hybrid::RerankOptions options() const;
  // What Warmup's tuning measured and chose; nullopt before it, or when off.
  std::optional<LlmPassTuning> pass_tuning() const;
  // The prompt parts tokenized at load (null when off, or if that failed:
  // every request then tokenizes its own, and fails the same way).
  const std::shared_ptr<const hybrid::PromptCache>& prompt_cache() const { return prompts_; }

 private:
  // A request shaped like a served one: `history` items and `candidates`
  // candidates from the catalog.
  hybrid::RerankQuery WarmupQuery(int history, int candidates) const;

  const std::shared_ptr<hybrid::HybridModel> model_;
  const model::Catalog* const catalog_;
  Metrics* const metrics_;
  Clock* const clock_;
  const LlmStagePassTuning tuning_options_;
  const std::shared_ptr<const hybrid::PromptCache> prompts_;
  const bool precompute_empty_prefix_;  // in Warmup (max_cached_titles > 0)
  hybrid::HybridReranker reranker_;  // replaced only by Warmup, under mu_
  mutable absl::Mutex mu_;           // reranker_ replacement vs readers of its options
  hybrid::RerankOptions options_ ABSL_GUARDED_BY(mu_);
  std::optional<LlmPassTuning> pass_tuning_ ABSL_GUARDED_BY(mu_);
  // Moving average of recent LLM batch durations (stage thread only); zero
  // until batches have been measured.
  absl::Duration expected_batch_time_ = absl::ZeroDuration();
  int batches_measured_ = 0;
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_LLM_STAGE_H_
