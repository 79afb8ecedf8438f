#include "server/llm_stage.h"

#include <torch/torch.h>

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/status_util.h"

namespace sasrecllm::server {

absl::StatusOr<std::unique_ptr<LlmStage>> LlmStage::Create(
    const Options& options, std::shared_ptr<hybrid::HybridModel> model, Metrics* metrics,
    Clock* clock) {
  if (model == nullptr) return absl::InvalidArgumentError("LlmStage: no model");
  if (metrics == nullptr) return absl::InvalidArgumentError("LlmStage: no metrics");
  if (absl::Status s = options.batcher.Validate(); !s.ok()) return s;
  if (options.rerank.max_batch_tokens < 1) {
    return absl::InvalidArgumentError(absl::StrCat("max_batch_tokens must be >= 1, got ",
                                                   options.rerank.max_batch_tokens));
  }
  std::unique_ptr<LlmStage> stage(new LlmStage(options, std::move(model), metrics, clock));
  LlmStage* self = stage.get();
  Batcher<LlmWork>::Callbacks callbacks;
  callbacks.run_batch = [self](std::vector<LlmWork> batch) { self->RunBatch(std::move(batch)); };
  callbacks.reject = [](LlmWork work, absl::Status status) { work.done(status); };
  callbacks.is_cancelled = [](const LlmWork& work) {
    return work.is_cancelled && work.is_cancelled();
  };
  stage->batcher_ = std::make_unique<Batcher<LlmWork>>(options.batcher, std::move(callbacks),
                                                       stage->clock_);
  return stage;
}

LlmStage::LlmStage(const Options& options, std::shared_ptr<hybrid::HybridModel> model,
                   Metrics* metrics, Clock* clock)
    : model_(model),
      metrics_(metrics),
      clock_(clock != nullptr ? clock : RealClock::Get()),
      reranker_(std::move(model), options.rerank) {}

LlmStage::~LlmStage() { Shutdown(); }

void LlmStage::Shutdown() {
  if (batcher_ != nullptr) batcher_->Shutdown();
}

absl::Status LlmStage::Warmup(const hybrid::RerankQuery& query) {
  try {
    auto logits = reranker_.YesLogits({query});
    return FromModelStatus(logits.status());
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("LLM warm-up failed: ", e.what()));
  }
}

void LlmStage::Enqueue(LlmWork work) {
  const absl::Time deadline = work.deadline;
  absl::StatusOr<Batcher<LlmWork>::Ticket> ticket = batcher_->Enqueue(std::move(work), deadline);
  // On error the batcher left `work` untouched.
  if (!ticket.ok()) work.done(ticket.status());
}

void LlmStage::RunBatch(std::vector<LlmWork> batch) {
  std::vector<hybrid::RerankQuery> queries;
  queries.reserve(batch.size());
  for (LlmWork& work : batch) queries.push_back(std::move(work.query));

  // Why a query was dropped between forward passes (OK = it was not).
  std::vector<absl::Status> dropped(batch.size());
  // The batch time a deadline must leave room for, once a few batches were
  // measured (the first ones include warm-up effects).
  const absl::Duration needed =
      batches_measured_ >= 3 ? expected_batch_time_ : absl::ZeroDuration();
  auto skip = [&](size_t q) {
    const absl::Time now = clock_->Now();
    if (now >= batch[q].deadline) {
      dropped[q] = absl::DeadlineExceededError(
          "deadline exceeded before the request's LLM scoring could run");
    } else if (now + needed > batch[q].deadline) {
      dropped[q] = absl::DeadlineExceededError(absl::StrCat(
          "deadline cannot be met: ", absl::FormatDuration(batch[q].deadline - now),
          " left, LLM batches take about ", absl::FormatDuration(needed)));
    } else if (batch[q].is_cancelled && batch[q].is_cancelled()) {
      dropped[q] = absl::CancelledError("request cancelled by the client");
    }
    return !dropped[q].ok();
  };

  const absl::Time start = absl::Now();
  hybrid::RerankStats stats;
  absl::StatusOr<std::vector<std::vector<float>>> logits;
  try {
    torch::NoGradGuard no_grad;
    auto result = reranker_.YesLogits(queries, skip, &stats);
    if (result.ok()) {
      logits = std::move(result).value();
    } else {
      logits = FromModelStatus(result.status());
    }
  } catch (const std::exception& e) {
    logits = absl::InternalError(absl::StrCat("LLM error: ", e.what()));
  }
  const absl::Duration took = absl::Now() - start;
  metrics_->ObserveInference(kStageLlm, took);
  if (stats.forward_passes > 0) {  // batches that did nothing say nothing about cost
    expected_batch_time_ = batches_measured_ == 0 ? took : 0.8 * expected_batch_time_ + 0.2 * took;
    ++batches_measured_;
  }
  // DESIGN.md: the llm stage's batch size counts sequences, i.e. the
  // (request, candidate) pairs scored.
  size_t sequences = 0;
  for (size_t q = 0; q < batch.size(); ++q) {
    if (dropped[q].ok()) sequences += queries[q].candidates.size();
  }
  if (sequences > 0) metrics_->ObserveBatchSize(kStageLlm, sequences);
  metrics_->AddLlmTokens("prefill", stats.prefill_tokens);
  metrics_->AddLlmTokens("prefix_reused", stats.reused_tokens);

  for (size_t q = 0; q < batch.size(); ++q) {
    if (!dropped[q].ok()) {
      batch[q].done(dropped[q]);
    } else if (!logits.ok()) {
      batch[q].done(logits.status());
    } else {
      batch[q].done(std::move((*logits)[q]));
    }
  }
}

}  // namespace sasrecllm::server
