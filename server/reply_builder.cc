#include "server/reply_builder.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace sasrecllm::server {

namespace {

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

void BuildRecommendResponse(const Request& request, const std::string& model_version,
                            v1::RecommendResponse* response) {
  response->set_model_version(model_version);
  response->set_unknown_history_items(request.unknown_history_items);
  response->set_mode(request.mode);
  const std::vector<Candidate>& candidates = request.candidates;
  std::vector<size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return candidates[a].final_score() > candidates[b].final_score();
  });
  if (order.size() > static_cast<size_t>(request.top_k)) order.resize(request.top_k);
  for (size_t i : order) {
    const Candidate& c = candidates[i];
    v1::RankedItem* out = response->add_items();
    out->set_item_id(c.entry->item_id);
    out->set_title(c.entry->title);
    out->set_score(c.final_score());
    out->set_retrieval_score(c.retrieval_score.value_or(0.0f));
    if (c.llm_score.has_value()) out->set_llm_score(*c.llm_score);
  }
}

void BuildScoreResponse(const v1::ScoreRequest& rpc, const Request& request,
                        const std::string& model_version, v1::ScoreResponse* response) {
  response->set_model_version(model_version);
  response->set_unknown_history_items(request.unknown_history_items);
  response->set_mode(request.mode);
  for (const std::string& id : rpc.candidates()) response->add_scores()->set_item_id(id);
  for (const Candidate& c : request.candidates) {
    v1::ScoredCandidate* out = response->mutable_scores(c.position);
    out->set_known(true);
    out->set_logit(c.final_score());
    out->set_probability(Sigmoid(c.final_score()));
  }
}

}  // namespace sasrecllm::server
