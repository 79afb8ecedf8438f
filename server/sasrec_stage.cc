#include "server/sasrec_stage.h"

#include <torch/torch.h>

#include <utility>

#include "server/status_util.h"
#include "server/validation.h"

namespace sasrecllm::server {

SasrecStage::SasrecStage(std::shared_ptr<const model::Bundle> bundle, int64_t max_history,
                         std::shared_ptr<const model::ItemRetriever> retriever)
    : bundle_(std::move(bundle)),
      max_history_(max_history),
      ranker_(bundle_->sasrec(), bundle_->options().device, std::move(retriever)) {}

bool SasrecStage::Wants(const Request& request) const {
  const bool has_warm = request.HasWarmCandidate();
  if (request.kind == RpcKind::kScore) return !request.hybrid() && has_warm;
  return request.retrieve || has_warm;
}

size_t SasrecStage::Run(const std::vector<Request*>& batch, std::vector<absl::Status>* statuses) {
  // slot[i]: batch[i]'s query in rank_queries (Recommend) or score_queries.
  std::vector<size_t> slot(batch.size());
  std::vector<model::RankQuery> rank_queries, score_queries;
  for (size_t i = 0; i < batch.size(); ++i) {
    Request* request = batch[i];
    model::RankQuery query;
    query.history = request->history;
    query.candidates = request->WarmCandidateIndices();
    if (request->kind == RpcKind::kRecommend) {
      query.exclude = request->exclude;
      query.top_k = request->retrieval_depth;
      slot[i] = rank_queries.size();
      rank_queries.push_back(std::move(query));
    } else {
      slot[i] = score_queries.size();
      score_queries.push_back(std::move(query));
    }
  }

  torch::NoGradGuard no_grad;
  StatusOr<std::vector<std::vector<model::ScoredItem>>> ranked =
      std::vector<std::vector<model::ScoredItem>>();
  if (!rank_queries.empty()) ranked = ranker_.Rank(rank_queries);
  StatusOr<std::vector<std::vector<float>>> scored = std::vector<std::vector<float>>();
  if (!score_queries.empty()) scored = ranker_.Score(score_queries);

  const model::Catalog& catalog = bundle_->catalog();
  for (size_t i = 0; i < batch.size(); ++i) {
    Request* request = batch[i];
    absl::Status& status = (*statuses)[i];
    if (request->kind == RpcKind::kRecommend) {
      if (!ranked.ok()) {
        status = FromModelStatus(ranked.status());
        continue;
      }
      // The ranked warm items, best first, then the cold candidates.
      std::vector<Candidate> candidates;
      for (const model::ScoredItem& item : (*ranked)[slot[i]]) {
        // An index the catalog lacks (a partial catalog) cannot be answered.
        if (const model::CatalogEntry* entry = catalog.FindByIndex(item.index)) {
          candidates.push_back(Candidate{entry, -1, item.score});
        }
      }
      for (const Candidate& c : request->candidates) {
        if (c.cold()) candidates.push_back(c);
      }
      request->candidates = std::move(candidates);
    } else {
      if (!scored.ok()) {
        status = FromModelStatus(scored.status());
        continue;
      }
      const std::vector<float>& logits = (*scored)[slot[i]];
      if (logits.size() != score_queries[slot[i]].candidates.size()) {
        status = absl::InternalError("the ranker answered a different number of scores");
        continue;
      }
      size_t j = 0;
      for (Candidate& c : request->candidates) {
        if (!c.cold()) c.retrieval_score = logits[j++];
      }
    }
  }
  return batch.size();
}

absl::Status SasrecStage::Warmup() {
  model::RankQuery query;
  for (const model::CatalogEntry& e : bundle_->catalog().entries()) {
    if (e.index > 0 && static_cast<int64_t>(query.history.size()) < max_history_) {
      query.history.push_back(e.index);
    }
  }
  query.top_k = kDefaultTopK;
  torch::NoGradGuard no_grad;
  auto ranked = ranker_.Rank({query, query});
  if (!ranked.ok()) return FromModelStatus(ranked.status());
  if (!query.history.empty()) {
    query.candidates = {query.history.front()};
    auto scored = ranker_.Score({query});
    if (!scored.ok()) return FromModelStatus(scored.status());
  }
  return absl::OkStatus();
}

}  // namespace sasrecllm::server
