#include "server/llm_stage.h"

#include <torch/torch.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/status_util.h"

namespace sasrecllm::server {

namespace {

// The first `max_titles` catalog titles' prompt parts, or null (none asked
// for, or an error).
std::shared_ptr<const hybrid::PromptCache> CatalogPrompts(const hybrid::HybridModel& model,
                                                          const model::Catalog& catalog,
                                                          size_t max_titles) {
  if (max_titles == 0) return nullptr;
  std::vector<std::string> titles;
  titles.reserve(std::min(catalog.entries().size(), max_titles));
  for (const model::CatalogEntry& e : catalog.entries()) {
    if (titles.size() == max_titles) break;
    titles.push_back(e.title);
  }
  auto cache = hybrid::PromptCache::Build(&model.prompt_builder(), titles);
  return cache.ok() ? *std::move(cache) : nullptr;
}

}  // namespace

LlmStage::LlmStage(std::shared_ptr<hybrid::HybridModel> model,
                   const hybrid::RerankOptions& options, const model::Catalog* catalog,
                   Metrics* metrics, Clock* clock, LlmStagePassTuning tuning,
                   size_t max_cached_titles)
    : model_(model),
      catalog_(catalog),
      metrics_(metrics),
      clock_(clock != nullptr ? clock : RealClock::Get()),
      tuning_options_(tuning),
      prompts_(CatalogPrompts(*model, *catalog, max_cached_titles)),
      precompute_empty_prefix_(max_cached_titles > 0),
      reranker_(std::move(model), options, prompts_),
      options_(reranker_.options()) {}

hybrid::RerankOptions LlmStage::options() const {
  absl::MutexLock lock(&mu_);
  return options_;
}

int LlmStage::BatchSizeLimit() const {
  absl::MutexLock lock(&mu_);
  if (!pass_tuning_.has_value() || pass_tuning_->StillImproving()) return 0;
  return pass_tuning_->requests_per_pass;
}

std::optional<LlmPassTuning> LlmStage::pass_tuning() const {
  absl::MutexLock lock(&mu_);
  return pass_tuning_;
}

bool LlmStage::Wants(const Request& request) const {
  return request.hybrid() && !request.candidates.empty();
}

namespace {

hybrid::RerankQuery QueryOf(const Request& request) {
  hybrid::RerankQuery query;
  query.history = request.history;
  query.history_titles = request.history_titles;
  query.candidates.reserve(request.candidates.size());
  for (const Candidate& c : request.candidates) {
    query.candidates.push_back({c.entry->index, c.entry->title});
  }
  return query;
}

}  // namespace

size_t LlmStage::Run(const std::vector<Request*>& batch, std::vector<absl::Status>* statuses) {
  std::vector<hybrid::RerankQuery> queries;
  queries.reserve(batch.size());
  for (const Request* request : batch) queries.push_back(QueryOf(*request));

  // The batch time a deadline must leave room for, once a few batches were
  // measured (the first ones include warm-up effects).
  const absl::Duration needed =
      batches_measured_ >= 3 ? expected_batch_time_ : absl::ZeroDuration();
  // Asked before each forward pass for each request it holds: a request
  // dropped here is finished with that status and costs no more LLM work.
  auto skip = [&](size_t q) {
    absl::Status& status = (*statuses)[q];
    if (!status.ok()) return true;
    const absl::Time now = clock_->Now();
    const absl::Time deadline = batch[q]->deadline;
    if (now >= deadline) {
      status = absl::DeadlineExceededError(
          "deadline exceeded before the request's LLM scoring could run");
    } else if (now + needed > deadline) {
      status = absl::DeadlineExceededError(
          absl::StrCat("deadline cannot be met: ", absl::FormatDuration(deadline - now),
                       " left, LLM batches take about ", absl::FormatDuration(needed)));
    } else if (batch[q]->sink != nullptr && batch[q]->sink->IsCancelled()) {
      status = absl::CancelledError("request cancelled by the client");
    }
    return !status.ok();
  };

  // Real time: the estimate is of the model's cost, whatever clock_ says.
  const absl::Time start = absl::Now();
  hybrid::RerankStats stats;
  torch::NoGradGuard no_grad;
  StatusOr<std::vector<std::vector<float>>> logits = reranker_.Logits(queries, skip, &stats);
  const absl::Duration took = absl::Now() - start;
  if (stats.forward_passes > 0) {  // batches that did nothing say nothing about cost
    expected_batch_time_ = batches_measured_ == 0 ? took : 0.8 * expected_batch_time_ + 0.2 * took;
    ++batches_measured_;
  }
  metrics_->AddLlmTokens("prefill", stats.prefill_tokens);
  metrics_->AddLlmTokens("prefix_reused", stats.reused_tokens);

  size_t sequences = 0;
  for (size_t q = 0; q < batch.size(); ++q) {
    absl::Status& status = (*statuses)[q];
    if (!status.ok()) continue;  // dropped by `skip`
    if (!logits.ok()) {
      status = FromModelStatus(logits.status());
      continue;
    }
    const std::vector<float>& row = (*logits)[q];
    std::vector<Candidate>& candidates = batch[q]->candidates;
    if (row.size() != candidates.size()) {
      status = absl::InternalError("the LLM answered a different number of scores");
      continue;
    }
    for (size_t c = 0; c < candidates.size(); ++c) candidates[c].llm_score = row[c];
    sequences += candidates.size();
  }
  return sequences;
}

hybrid::RerankQuery LlmStage::WarmupQuery(int history, int candidates) const {
  const int catalog_size = static_cast<int>(catalog_->entries().size());
  // A small catalog gives what it has; candidates first (what the pass scores).
  candidates = std::max(1, std::min(candidates, catalog_size - 1));
  history = std::max(1, std::min(history, catalog_size - candidates));
  hybrid::RerankQuery query;
  for (const model::CatalogEntry& e : catalog_->entries()) {
    if (static_cast<int>(query.history.size()) < history) {
      query.history.push_back(e.index);
      query.history_titles.push_back(e.title);
    } else if (static_cast<int>(query.candidates.size()) < candidates) {
      query.candidates.push_back({e.index, e.title});
    }
  }
  return query;
}

absl::Status LlmStage::Warmup() {
  torch::NoGradGuard no_grad;
  if (precompute_empty_prefix_) {
    // Before serving: nothing else uses reranker_ yet.
    absl::MutexLock lock(&mu_);
    if (absl::Status s = FromModelStatus(reranker_.PrecomputeEmptyPrefix()); !s.ok()) return s;
  }
  if (!tuning_options_.enabled) {
    return FromModelStatus(reranker_.Logits({WarmupQuery(3, 2)}).status());
  }
  LlmPassTuner tuner({.max_requests = tuning_options_.max_requests});
  absl::StatusOr<LlmPassTuning> tuning = tuner.Tune(
      &reranker_, WarmupQuery(tuning_options_.history, tuning_options_.candidates));
  if (!tuning.ok()) return tuning.status();
  hybrid::RerankOptions tuned = reranker_.options();
  tuned.max_batch_tokens = tuning->max_batch_tokens;
  absl::MutexLock lock(&mu_);
  reranker_ = reranker_.WithOptions(tuned);
  options_ = reranker_.options();
  pass_tuning_ = *std::move(tuning);
  return absl::OkStatus();
}

}  // namespace sasrecllm::server
