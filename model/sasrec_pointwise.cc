#include "model/sasrec_pointwise.h"

#include <algorithm>
#include <string>

#include "model/torch_errors.h"

namespace sasrecllm::model {
namespace {

bool Known(int64_t item, int64_t item_num) { return item >= 1 && item <= item_num; }

}  // namespace

torch::Tensor CollmHistoryBatch(const std::vector<CollmRow>& rows, size_t begin, size_t end,
                                const SasrecConfig& config, SasrecPointwiseStats* stats) {
  const int64_t b = static_cast<int64_t>(end - begin);
  const int64_t maxlen = config.maxlen;
  std::vector<const std::vector<int64_t>*> histories;
  histories.reserve(b);
  for (int64_t i = 0; i < b; ++i) {
    const std::vector<int64_t>& history = rows[begin + i].history;
    histories.push_back(&history);
    if (stats != nullptr) {
      for (int64_t item : history) stats->unknown_history += Known(item, config.item_num) ? 0 : 1;
    }
  }
  return LeftPaddedHistories(histories, config.item_num, maxlen);  // [B, T], 0 = padding
}

StatusOr<std::vector<float>> SasrecPointwiseScores(Sasrec model, const std::vector<CollmRow>& rows,
                                                   int64_t batch_size,
                                                   SasrecPointwiseStats* stats) {
  if (batch_size < 1) {
    return InvalidArgumentError("SasrecPointwiseScores: batch_size must be >= 1, got " +
                                std::to_string(batch_size));
  }
  const SasrecConfig& config = model->config();
  std::vector<float> scores(rows.size());
  const bool was_training = model->is_training();
  model->eval();
  try {
    torch::NoGradGuard no_grad;
    const torch::Device device = model->parameters().front().device();
    for (size_t start = 0; start < rows.size(); start += batch_size) {
      const size_t end = std::min(rows.size(), start + static_cast<size_t>(batch_size));
      const int64_t b = static_cast<int64_t>(end - start);
      torch::Tensor seqs = CollmHistoryBatch(rows, start, end, config, stats);  // [B, T]
      // [B, 1] int64; unknown candidates point at the zero padding row.
      torch::Tensor items = torch::zeros({b, 1}, torch::kInt64);
      int64_t* ip = items.data_ptr<int64_t>();
      for (int64_t i = 0; i < b; ++i) {
        const int64_t item = rows[start + i].item_id;
        if (Known(item, config.item_num)) {
          ip[i] = item;
        } else if (stats != nullptr) {
          ++stats->unknown_items;
        }
      }
      // [B] float probabilities.
      torch::Tensor logits = model->Predict(seqs.to(device), items.to(device)).select(1, 0);
      torch::Tensor probs = torch::sigmoid(logits).to(torch::kCPU, torch::kFloat32).contiguous();
      // Padding row 0 is all zero after pmixer's init, but a checkpoint may have
      // moved it: unknown candidates are pinned to logit 0 here.
      const float* pp = probs.data_ptr<float>();
      for (int64_t i = 0; i < b; ++i) scores[start + i] = ip[i] == 0 ? 0.5f : pp[i];
    }
  } catch (const std::exception& e) {
    model->train(was_training);
    return InternalError(std::string("SASRec point-wise scoring failed: ") +
                         TorchErrorMessage(e));
  }
  model->train(was_training);
  return scores;
}

}  // namespace sasrecllm::model
