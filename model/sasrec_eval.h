// SASRec evaluation with the paper's protocol (Kang & McAuley, ICDM 2018, as
// pmixer/SASRec.pytorch's evaluate / evaluate_valid).
//
// For each evaluated user (>= 1 train item and a held-out item): the input is
// the last maxlen items of train (+ the valid item when evaluating test); the
// candidates are the held-out item and 100 items drawn uniformly (with
// replacement) from 1..item_num outside everything the user interacted with;
// rank = number of candidates scoring strictly higher than the held-out item.
// HR@10 = mean(rank < 10); NDCG@10 = mean(rank < 10 ? 1 / log2(rank + 2) : 0).
//
//   EvalOptions opts;  opts.split = EvalSplit::kTest;
//   SASRECLLM_ASSIGN_OR_RETURN(RankMetrics m, EvaluateSasrec(model, split, opts));
//
// Thread safety: puts `model` in eval mode and restores its training flag;
// do not train it concurrently.
#ifndef SASRECLLM_MODEL_SASREC_EVAL_H_
#define SASRECLLM_MODEL_SASREC_EVAL_H_

#include <cstdint>
#include <vector>

#include "model/interaction_data.h"
#include "model/sasrec.h"
#include "base/status.h"

namespace sasrecllm::model {

enum class EvalSplit { kValid, kTest };

struct EvalOptions {
  EvalSplit split = EvalSplit::kTest;  // Default: test
  int64_t num_negatives = 100;         // Default: 100 (paper)
  int64_t k = 10;                      // Default: 10 (HR@10, NDCG@10)
  // Evaluate a uniform sample of this many users when more are eligible;
  // 0 = all users. Default: 0 (pmixer samples 10,000).
  int64_t max_users = 0;
  uint64_t seed = 42;                  // Default: 42 (negatives and user sample)
  int64_t batch_size = 512;            // Default: 512 sequences per forward
};

struct RankMetrics {
  double hr = 0.0;    // HR@k
  double ndcg = 0.0;  // NDCG@k
  int64_t users = 0;  // users evaluated
};

// HR@k and NDCG@k from 0-based ranks of the held-out items.
RankMetrics MetricsFromRanks(const std::vector<int64_t>& ranks, int64_t k);

// The 0-based rank of scores[0] among `scores`: how many score strictly higher.
int64_t RankOfFirst(const float* scores, int64_t n);

// Evaluates `model` on `split`. INVALID_ARGUMENT when the model's item_num is
// smaller than the data's; FAILED_PRECONDITION when no user is eligible.
StatusOr<RankMetrics> EvaluateSasrec(Sasrec model, const SplitData& split,
                                     const EvalOptions& options);

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_SASREC_EVAL_H_
