// Batched SASRec inference for serving: top-k over the catalog, or scores for
// given candidates, for many users in one model call.
//
// Thread safety: Rank and Score only read the model (SASRec's contract:
// concurrent inference is safe while nothing trains it), so they may run
// concurrently; the server calls them from its one SASRec stage thread.
//
//   SasrecRanker ranker(bundle->sasrec(), bundle->options().device);
//   std::vector<RankQuery> queries = ...;
//   auto results = ranker.Rank(queries);  // results->at(i) answers queries[i]
#ifndef SASRECLLM_MODEL_SASREC_RANKER_H_
#define SASRECLLM_MODEL_SASREC_RANKER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "model/item_retriever.h"
#include "model/sasrec.h"
#include "base/status.h"

namespace sasrecllm::model {

struct RankQuery {
  // SASRec item indices (1..item_num), oldest first. Only the last maxlen are
  // used. May be empty (the model then sees only padding).
  std::vector<int64_t> history;
  // When non-empty, rank only these indices (each 1..item_num), else the whole
  // catalog 1..item_num.
  std::vector<int64_t> candidates;
  // Indices never returned (e.g. the history).
  std::vector<int64_t> exclude;
  int64_t top_k = 10;
};

class SasrecRanker {
 public:
  // `retriever`: when given, whole-catalog queries are answered by it (e.g. an
  // approximate FAISS index) instead of by an exact [B, N] score matrix;
  // candidate queries and Score are always exact. It must index this
  // model's item embeddings. Default: none (exact).
  SasrecRanker(Sasrec model, torch::Device device,
               std::shared_ptr<const ItemRetriever> retriever = nullptr);

  // One SASRec forward for all queries, then per query the top_k items by
  // score, best first (excluded items and padding index 0 never appear; fewer
  // than top_k when the rest is excluded). Histories are always left-padded to
  // maxlen, not to the batch's longest: pmixer's position ids are slot + 1 in
  // the padded row, so a shorter width would change the scores relative to
  // training and the reference. INVALID_ARGUMENT naming the query and value for
  // an index outside 1..item_num or top_k < 1. The model should be in eval().
  // With a retriever, a whole-catalog query asks it for top_k + |exclude|
  // items and drops the excluded ones, so excluding the history never
  // shortens the answer; the scores are the same dot products.
  // (Runs under c10::InferenceMode.)
  StatusOr<std::vector<std::vector<ScoredItem>>> Rank(const std::vector<RankQuery>& queries);

  // Scores for each query's candidates, in candidate order (top_k and exclude
  // are ignored).
  StatusOr<std::vector<std::vector<float>>> Score(const std::vector<RankQuery>& queries);

 private:
  Sasrec model_;
  torch::Device device_;
  std::shared_ptr<const ItemRetriever> retriever_;  // nullptr: exact
};

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_SASREC_RANKER_H_
