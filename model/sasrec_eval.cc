#include "model/sasrec_eval.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include "model/torch_errors.h"

namespace sasrecllm::model {

RankMetrics MetricsFromRanks(const std::vector<int64_t>& ranks, int64_t k) {
  RankMetrics m;
  m.users = static_cast<int64_t>(ranks.size());
  if (ranks.empty()) return m;
  for (int64_t rank : ranks) {
    if (rank < k) {
      m.hr += 1.0;
      m.ndcg += 1.0 / std::log2(static_cast<double>(rank) + 2.0);
    }
  }
  m.hr /= static_cast<double>(ranks.size());
  m.ndcg /= static_cast<double>(ranks.size());
  return m;
}

int64_t RankOfFirst(const float* scores, int64_t n) {
  int64_t rank = 0;
  for (int64_t i = 1; i < n; ++i) rank += scores[i] > scores[0] ? 1 : 0;
  return rank;
}

StatusOr<RankMetrics> EvaluateSasrec(Sasrec model, const SplitData& split,
                                     const EvalOptions& options) {
  const SasrecConfig& config = model->config();
  if (config.item_num < split.item_num) {
    return InvalidArgumentError("model item_num " + std::to_string(config.item_num) +
                                " < data item_num " + std::to_string(split.item_num));
  }
  const bool test = options.split == EvalSplit::kTest;
  const std::vector<int64_t>& held_out = test ? split.test : split.valid;
  const int64_t item_num = split.item_num;

  std::mt19937_64 rng(options.seed);
  std::vector<int64_t> users;
  for (int64_t u = 1; u <= split.user_num; ++u) {
    if (split.train[u].empty() || held_out[u] == 0) continue;
    // A user who interacted with (almost) every item has no negatives to draw.
    if (static_cast<int64_t>(split.train[u].size()) + 2 >= item_num) continue;
    users.push_back(u);
  }
  if (users.empty()) return FailedPreconditionError("no user is eligible for evaluation");
  if (options.max_users > 0 && static_cast<int64_t>(users.size()) > options.max_users) {
    std::shuffle(users.begin(), users.end(), rng);
    users.resize(options.max_users);
    std::sort(users.begin(), users.end());
  }

  const int64_t maxlen = config.maxlen;
  const int64_t num_cand = options.num_negatives + 1;
  std::uniform_int_distribution<int64_t> draw(1, item_num);
  std::vector<int64_t> ranks;
  ranks.reserve(users.size());
  const bool was_training = model->is_training();
  model->eval();
  try {
    const torch::Device device = model->parameters().front().device();
    torch::NoGradGuard no_grad;
    std::vector<int64_t> rated;
    for (size_t start = 0; start < users.size(); start += options.batch_size) {
      const int64_t b = std::min<int64_t>(options.batch_size, users.size() - start);
      torch::Tensor seqs = torch::zeros({b, maxlen}, torch::kInt64);   // [B, T], 0 = padding
      torch::Tensor cands = torch::empty({b, num_cand}, torch::kInt64);  // [B, 1 + negatives]
      int64_t* seq_p = seqs.data_ptr<int64_t>();
      int64_t* cand_p = cands.data_ptr<int64_t>();
      for (int64_t i = 0; i < b; ++i) {
        const int64_t u = users[start + i];
        const auto& train = split.train[u];
        int64_t* row = seq_p + i * maxlen;
        // When testing, the valid item is the newest one the model sees.
        const bool with_valid = test && split.valid[u] != 0;
        if (with_valid) row[maxlen - 1] = split.valid[u];
        LeftPadHistory(train, /*item_num=*/0, with_valid ? maxlen - 1 : maxlen, row);

        rated.assign(train.begin(), train.end());
        if (split.valid[u] != 0) rated.push_back(split.valid[u]);
        if (split.test[u] != 0) rated.push_back(split.test[u]);
        std::sort(rated.begin(), rated.end());
        int64_t* crow = cand_p + i * num_cand;
        crow[0] = held_out[u];
        for (int64_t j = 1; j < num_cand; ++j) {
          int64_t t = draw(rng);
          while (std::binary_search(rated.begin(), rated.end(), t)) t = draw(rng);
          crow[j] = t;
        }
      }
      // [B, 1 + negatives] float
      torch::Tensor logits = model->Predict(seqs.to(device), cands.to(device)).to(torch::kCPU, torch::kFloat32).contiguous();
      const float* lp = logits.data_ptr<float>();
      for (int64_t i = 0; i < b; ++i) ranks.push_back(RankOfFirst(lp + i * num_cand, num_cand));
    }
  } catch (const std::exception& e) {
    model->train(was_training);
    return InternalError(std::string("SASRec evaluation failed: ") + TorchErrorMessage(e));
  }
  model->train(was_training);
  return MetricsFromRanks(ranks, options.k);
}

}  // namespace sasrecllm::model
