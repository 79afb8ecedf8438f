// SASRec as a point-wise scorer of CoLLM rows (user history, candidate item).
//
// A row's score is sigmoid(dot(u, e)), where u = the model's user
// representation of the row's `history` column (its last maxlen known items,
// left-padded with 0, as pmixer's evaluate) and e = the item embedding of
// `item_id`. This is SASRec's own training logit (BCE on next-item vs sampled
// items), read as a probability.
//
// Ids the model does not know (outside 1..item_num, e.g. items first seen after
// the model was trained):
//   - in the history, they are dropped: the last maxlen *known* items are used;
//   - as the candidate, the item has no embedding: its logit is 0 (score 0.5),
//     as the all-zero padding row would give. Such rows are cold by any measure.
// An empty history is all padding; SASRec still gives a user vector for it.
//
//   SASRECLLM_ASSIGN_OR_RETURN(std::vector<float> p, SasrecPointwiseScores(model, rows, 512));
//   SASRECLLM_ASSIGN_OR_RETURN(PointwiseReport r, EvaluatePointwise(p, rows));
//
// Thread safety: puts `model` in eval mode (restoring its training flag) and
// runs under torch::NoGradGuard; do not train it concurrently.
#ifndef SASRECLLM_MODEL_SASREC_POINTWISE_H_
#define SASRECLLM_MODEL_SASREC_POINTWISE_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "model/interaction_data.h"
#include "model/sasrec.h"
#include "base/status.h"

namespace sasrecllm::model {

// How many rows or history entries fell outside the model's 1..item_num.
struct SasrecPointwiseStats {
  int64_t unknown_items = 0;    // rows whose item_id has no embedding (score 0.5)
  int64_t unknown_history = 0;  // history entries outside 1..item_num (over all rows)
};

// The input sequences of rows[begin, end): [end - begin, maxlen] int64, each
// row's last maxlen history items within 1..item_num, left-padded with 0.
// Adds the history entries outside 1..item_num to stats->unknown_history when
// stats is set.
// Precondition: begin <= end <= rows.size().
torch::Tensor CollmHistoryBatch(const std::vector<CollmRow>& rows, size_t begin, size_t end,
                                const SasrecConfig& config, SasrecPointwiseStats* stats = nullptr);

// scores[i] = sigmoid(SASRec logit of rows[i]), in [0, 1]. The forward runs in
// batches of `batch_size` rows on the model's device. INVALID_ARGUMENT when
// batch_size < 1; INTERNAL (with libtorch's message) when the forward fails.
// `stats`, when set, receives the counts of unknown ids.
StatusOr<std::vector<float>> SasrecPointwiseScores(Sasrec model, const std::vector<CollmRow>& rows,
                                                   int64_t batch_size,
                                                   SasrecPointwiseStats* stats = nullptr);

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_SASREC_POINTWISE_H_
