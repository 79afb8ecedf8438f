// SASRec (Kang & McAuley, ICDM 2018), laid out as pmixer/SASRec.pytorch.
//
// The parameter names are pmixer's state_dict names (item_emb.weight,
// pos_emb.weight, attention_layernorms.N.{weight,bias},
// attention_layers.N.{in_proj_weight,in_proj_bias,out_proj.weight,out_proj.bias},
// forward_layernorms.N.*, forward_layers.N.conv1.{weight,bias} [H, H, 1],
// forward_layers.N.conv2.*, last_layernorm.*), so a checkpoint written by pmixer's
// code loads here unchanged, and ours loads there.
//
// Sequences are left-padded with item 0 to any length <= maxlen; a real item in
// slot t (0-based) of a length-T input gets position id t + 1, padding gets 0
// (pmixer's convention: a 4-item history padded to 50 uses positions 47..50).
//
// Thread safety: forward passes are const on the weights; concurrent inference
// from several threads is safe under torch::NoGradGuard, training is not.
//
//   SasrecConfig config;            // paper defaults
//   config.item_num = 23715;
//   Sasrec model(config);           // random init
//   torch::Tensor h = model->UserRepresentation(log_seqs);  // [B, H]
#ifndef SASRECLLM_MODEL_SASREC_H_
#define SASRECLLM_MODEL_SASREC_H_

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>

#include "base/json.h"
#include "base/status.h"

namespace sasrecllm::model {

struct SasrecConfig {
  int64_t item_num = 0;          // items are 1..item_num; 0 is padding
  int64_t maxlen = 50;           // Default: 50 (paper, Games)
  int64_t hidden_units = 50;     // Default: 50
  int64_t num_blocks = 2;        // Default: 2
  int64_t num_heads = 1;         // Default: 1
  double dropout_rate = 0.5;     // Default: 0.5 (training only)
  bool norm_first = false;       // Default: false (pmixer's post-LayerNorm)
  double layernorm_eps = 1e-8;   // Default: 1e-8 (pmixer)

  // INVALID_ARGUMENT naming the field when a value is out of range
  // (item_num >= 1, hidden_units % num_heads == 0, ...).
  Status Validate() const;
  // pmixer's config.json keys: item_num, maxlen, hidden_units, num_blocks,
  // num_heads, dropout_rate, norm_first, layernorm_eps (unknown keys ignored).
  static StatusOr<SasrecConfig> FromJson(const Json& json);
  Json ToJson() const;
};

class SasrecImpl : public torch::nn::Module {
 public:
  explicit SasrecImpl(const SasrecConfig& config);

  const SasrecConfig& config() const { return config_; }

  // log_seqs: [B, T] int64, T <= maxlen, left-padded with 0.
  // Returns [B, T, H] float: the last LayerNorm's output at every position.
  torch::Tensor LogToFeats(const torch::Tensor& log_seqs);

  // Training entry point. pos_seqs / neg_seqs: [B, T] int64 (0 = no target).
  // Returns {pos_logits, neg_logits}, each [B, T].
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& log_seqs,
                                                  const torch::Tensor& pos_seqs,
                                                  const torch::Tensor& neg_seqs);

  // The user's sequence representation: the last position's features, [B, H].
  torch::Tensor UserRepresentation(const torch::Tensor& log_seqs);

  // pmixer's predict: item_indices [B, C] int64 -> logits [B, C].
  torch::Tensor Predict(const torch::Tensor& log_seqs, const torch::Tensor& item_indices);

  // Item embeddings, [item_num + 1, H] (row 0 = padding).
  torch::Tensor ItemEmbeddings() const;

  // pmixer-named parameters, float32 on CPU, contiguous.
  std::map<std::string, torch::Tensor> StateDict() const;
  // Copies `tensors` into the parameters. Errors name the tensor that is
  // missing, unexpected, or of the wrong shape.
  Status LoadStateDict(const std::map<std::string, torch::Tensor>& tensors);

 private:
  // (private members: the implementation's choice)
  SasrecConfig config_;
  struct Layers;
  std::shared_ptr<Layers> layers_;
};
TORCH_MODULE(Sasrec);

// pmixer's left padding of one history: the last (up to) `width` items of
// `history` (oldest first) that lie in 1..item_num are written right-aligned
// into row[0, width), keeping their order; the slots before them are not
// touched (the caller zeroes them: 0 = padding). item_num <= 0 keeps every
// item. Returns the number of items written.
int64_t LeftPadHistory(const std::vector<int64_t>& history, int64_t item_num, int64_t width,
                       int64_t* row);

// LeftPadHistory for a batch, always to the full maxlen (pmixer's position ids
// are slot + 1 in the padded row, so a shorter width would change the scores).
// Returns [B, maxlen] int64 on the CPU, 0 = padding.
torch::Tensor LeftPaddedHistories(const std::vector<const std::vector<int64_t>*>& histories,
                                  int64_t item_num, int64_t maxlen);

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_SASREC_H_
