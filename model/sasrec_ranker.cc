#include "model/sasrec_ranker.h"

#include <algorithm>
#include <limits>
#include <sstream>

#include "model/torch_errors.h"

namespace sasrecllm::model {
namespace {

Status CheckIndices(const std::vector<int64_t>& indices, int64_t item_num, size_t query,
                    const char* field) {
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 1 || indices[i] > item_num) {
      return InvalidArgumentError("query " + std::to_string(query) + ": " + field + "[" +
                                  std::to_string(i) + "] = " + std::to_string(indices[i]) +
                                  " outside 1.." + std::to_string(item_num));
    }
  }
  return OkStatus();
}

Status CheckQueries(const std::vector<RankQuery>& queries, int64_t item_num, bool need_top_k) {
  for (size_t q = 0; q < queries.size(); ++q) {
    SASRECLLM_RETURN_IF_ERROR(CheckIndices(queries[q].history, item_num, q, "history"));
    SASRECLLM_RETURN_IF_ERROR(CheckIndices(queries[q].candidates, item_num, q, "candidates"));
    SASRECLLM_RETURN_IF_ERROR(CheckIndices(queries[q].exclude, item_num, q, "exclude"));
    if (need_top_k && queries[q].top_k < 1) {
      return InvalidArgumentError("query " + std::to_string(q) + ": top_k = " +
                                  std::to_string(queries[q].top_k) + " must be >= 1");
    }
  }
  return OkStatus();
}

// The queries' user vectors, [B, H] on `device`. Histories are padded to the
// full maxlen (see LeftPaddedHistories) and were validated by CheckQueries.
torch::Tensor UserVectors(Sasrec& model, const std::vector<RankQuery>& queries,
                          const torch::Device& device) {
  std::vector<const std::vector<int64_t>*> histories;
  histories.reserve(queries.size());
  for (const RankQuery& q : queries) histories.push_back(&q.history);
  const torch::Tensor seqs =
      LeftPaddedHistories(histories, /*item_num=*/0, model->config().maxlen).to(device);
  return model->UserRepresentation(seqs);  // [B, H]
}


constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// The exact top-k of whole-catalog queries: one [B', N + 1] score matrix and
// one topk. `users` [B', H] holds the rows of queries[full_rows[r]].
void ExactTopK(const torch::Tensor& users, const torch::Tensor& items,
               const std::vector<RankQuery>& queries, const std::vector<int64_t>& full_rows,
               int64_t item_num, const torch::Device& device,
               std::vector<std::vector<ScoredItem>>* results) {
  int64_t k_max = 0;
  for (int64_t q : full_rows) k_max = std::max(k_max, std::min(queries[q].top_k, item_num));
  // [B', N + 1] float32 (float32 even for half-precision models: -inf and ties).
  torch::Tensor scores = torch::matmul(users, items.t()).to(torch::kFloat32);
  scores.select(1, 0).fill_(kNegInf);  // padding is never an answer
  std::vector<int64_t> ex_rows, ex_cols;
  for (size_t r = 0; r < full_rows.size(); ++r) {
    for (int64_t idx : queries[full_rows[r]].exclude) {
      ex_rows.push_back(static_cast<int64_t>(r));
      ex_cols.push_back(idx);
    }
  }
  if (!ex_rows.empty()) {
    scores.index_put_({torch::tensor(ex_rows, torch::kLong).to(device),
                       torch::tensor(ex_cols, torch::kLong).to(device)},
                      torch::scalar_tensor(kNegInf, scores.options()));
  }
  auto [top_scores, top_idx] = torch::topk(scores, k_max, /*dim=*/1);  // [B', k_max]
  top_scores = top_scores.to(torch::kCPU).contiguous();
  top_idx = top_idx.to(torch::kCPU).contiguous();
  const float* s = top_scores.data_ptr<float>();
  const int64_t* ix = top_idx.data_ptr<int64_t>();
  for (size_t r = 0; r < full_rows.size(); ++r) {
    const RankQuery& query = queries[full_rows[r]];
    auto& out = (*results)[full_rows[r]];
    const int64_t k = std::min(query.top_k, item_num);
    for (int64_t j = 0; j < k; ++j) {
      const float score = s[r * k_max + j];
      if (score == kNegInf) break;  // only excluded items are left
      out.push_back({ix[r * k_max + j], score});
    }
  }
}

// The same answered by `retriever`: each query asks for top_k + |exclude|
// items (an excluded item can take at most one place each) and keeps the
// first top_k that are not excluded.
Status RetrieveTopK(const ItemRetriever& retriever, const torch::Tensor& users,
                    const std::vector<RankQuery>& queries, const std::vector<int64_t>& full_rows,
                    int64_t item_num, std::vector<std::vector<ScoredItem>>* results) {
  int64_t k_max = 0;
  for (int64_t q : full_rows) {
    const RankQuery& query = queries[q];
    k_max = std::max(k_max, std::min<int64_t>(query.top_k + query.exclude.size(), item_num));
  }
  const torch::Tensor host_users = users.to(torch::kCPU, torch::kFloat32).contiguous();
  SASRECLLM_ASSIGN_OR_RETURN(auto found, retriever.Search(host_users, k_max));
  for (size_t r = 0; r < full_rows.size(); ++r) {
    const RankQuery& query = queries[full_rows[r]];
    std::vector<int64_t> excluded = query.exclude;
    std::sort(excluded.begin(), excluded.end());
    auto& out = (*results)[full_rows[r]];
    for (const ScoredItem& item : found[r]) {
      if (static_cast<int64_t>(out.size()) >= query.top_k) break;
      if (std::binary_search(excluded.begin(), excluded.end(), item.index)) continue;
      out.push_back(item);
    }
  }
  return OkStatus();
}

}  // namespace

SasrecRanker::SasrecRanker(Sasrec model, torch::Device device,
                           std::shared_ptr<const ItemRetriever> retriever)
    : model_(std::move(model)), device_(device), retriever_(std::move(retriever)) {}

StatusOr<std::vector<std::vector<ScoredItem>>> SasrecRanker::Rank(
    const std::vector<RankQuery>& queries) {
  const SasrecConfig& config = model_->config();
  const int64_t item_num = config.item_num;
  SASRECLLM_RETURN_IF_ERROR(CheckQueries(queries, item_num, /*need_top_k=*/true));
  std::vector<std::vector<ScoredItem>> results(queries.size());
  if (queries.empty()) return results;
  try {
    c10::InferenceMode inference;
    torch::Tensor users = UserVectors(model_, queries, device_);  // [B, H]
    torch::Tensor items = model_->ItemEmbeddings();          // [N + 1, H]

    // Whole-catalog queries: by the retriever, or exactly.
    std::vector<int64_t> full_rows;
    for (size_t q = 0; q < queries.size(); ++q) {
      if (queries[q].candidates.empty()) full_rows.push_back(static_cast<int64_t>(q));
    }
    if (!full_rows.empty()) {
      torch::Tensor rows = torch::tensor(full_rows, torch::kLong).to(device_);
      torch::Tensor full_users = users.index_select(0, rows);  // [B', H]
      if (retriever_ != nullptr) {
        SASRECLLM_RETURN_IF_ERROR(RetrieveTopK(*retriever_, full_users, queries, full_rows,
                                               item_num, &results));
      } else {
        ExactTopK(full_users, items, queries, full_rows, item_num, device_, &results);
      }
    }

    // Candidate queries: gather their embeddings, score, sort on the host.
    for (size_t q = 0; q < queries.size(); ++q) {
      const RankQuery& query = queries[q];
      if (query.candidates.empty()) continue;
      torch::Tensor cand = torch::tensor(query.candidates, torch::kLong).to(device_);  // [C]
      torch::Tensor cand_scores =
          torch::mv(items.index_select(0, cand), users[static_cast<int64_t>(q)])
              .to(torch::kCPU, torch::kFloat32)
              .contiguous();  // [C]
      const float* s = cand_scores.data_ptr<float>();
      std::vector<int64_t> excluded = query.exclude;
      std::sort(excluded.begin(), excluded.end());
      std::vector<ScoredItem> scored;
      std::vector<int64_t> seen;
      for (size_t c = 0; c < query.candidates.size(); ++c) {
        const int64_t idx = query.candidates[c];
        if (std::binary_search(excluded.begin(), excluded.end(), idx)) continue;
        scored.push_back({idx, s[c]});
      }
      // Best first; a candidate listed twice is returned once.
      std::stable_sort(scored.begin(), scored.end(), [](const ScoredItem& a, const ScoredItem& b) {
        return a.score > b.score;
      });
      auto& out = results[q];
      for (const ScoredItem& item : scored) {
        if (static_cast<int64_t>(out.size()) >= query.top_k) break;
        if (std::find(seen.begin(), seen.end(), item.index) != seen.end()) continue;
        seen.push_back(item.index);
        out.push_back(item);
      }
    }
  } catch (const std::exception& e) {
    return InternalError(std::string("SasrecRanker::Rank: ") + TorchErrorMessage(e));
  }
  return results;
}

StatusOr<std::vector<std::vector<float>>> SasrecRanker::Score(
    const std::vector<RankQuery>& queries) {
  const SasrecConfig& config = model_->config();
  SASRECLLM_RETURN_IF_ERROR(CheckQueries(queries, config.item_num, /*need_top_k=*/false));
  std::vector<std::vector<float>> results(queries.size());
  if (queries.empty()) return results;
  try {
    c10::InferenceMode inference;
    torch::Tensor users = UserVectors(model_, queries, device_);  // [B, H]
    torch::Tensor items = model_->ItemEmbeddings();          // [N + 1, H]
    // All candidates of all queries in one gather: [sum C] rows, each with its query.
    std::vector<int64_t> cand, owner;
    for (size_t q = 0; q < queries.size(); ++q) {
      for (int64_t idx : queries[q].candidates) {
        cand.push_back(idx);
        owner.push_back(static_cast<int64_t>(q));
      }
    }
    if (cand.empty()) return results;
    torch::Tensor cand_t = torch::tensor(cand, torch::kLong).to(device_);    // [sum C]
    torch::Tensor owner_t = torch::tensor(owner, torch::kLong).to(device_);  // [sum C]
    torch::Tensor scores = (items.index_select(0, cand_t) * users.index_select(0, owner_t))
                               .sum(-1)
                               .to(torch::kCPU, torch::kFloat32)
                               .contiguous();  // [sum C]
    const float* s = scores.data_ptr<float>();
    size_t pos = 0;
    for (size_t q = 0; q < queries.size(); ++q) {
      results[q].assign(s + pos, s + pos + queries[q].candidates.size());
      pos += queries[q].candidates.size();
    }
  } catch (const std::exception& e) {
    return InternalError(std::string("SasrecRanker::Score: ") + TorchErrorMessage(e));
  }
  return results;
}

}  // namespace sasrecllm::model
