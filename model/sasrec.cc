#include "model/sasrec.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <utility>
#include <vector>

#include "model/torch_errors.h"

namespace sasrecllm::model {

// ---------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------

Status SasrecConfig::Validate() const {
  auto bad = [](const std::string& field, const std::string& value, const std::string& want) {
    return InvalidArgumentError("SasrecConfig." + field + " = " + value + ": " + want);
  };
  if (item_num < 1) return bad("item_num", std::to_string(item_num), "must be >= 1");
  if (maxlen < 1) return bad("maxlen", std::to_string(maxlen), "must be >= 1");
  if (hidden_units < 1) return bad("hidden_units", std::to_string(hidden_units), "must be >= 1");
  if (num_blocks < 1) return bad("num_blocks", std::to_string(num_blocks), "must be >= 1");
  if (num_heads < 1) return bad("num_heads", std::to_string(num_heads), "must be >= 1");
  if (hidden_units % num_heads != 0) {
    return bad("num_heads", std::to_string(num_heads),
               "must divide hidden_units = " + std::to_string(hidden_units));
  }
  if (!(dropout_rate >= 0.0 && dropout_rate < 1.0)) {
    return bad("dropout_rate", std::to_string(dropout_rate), "must be in [0, 1)");
  }
  if (!(layernorm_eps > 0.0 && std::isfinite(layernorm_eps))) {
    return bad("layernorm_eps", std::to_string(layernorm_eps), "must be > 0");
  }
  return OkStatus();
}

StatusOr<SasrecConfig> SasrecConfig::FromJson(const Json& json) {
  if (!json.is_object()) return InvalidArgumentError("SASRec config: expected a JSON object");
  SasrecConfig config;
  SASRECLLM_ASSIGN_OR_RETURN(config.item_num, GetInt(json, "item_num"));
  // pmixer's defaults (the struct's) for the keys that are absent.
  SASRECLLM_ASSIGN_OR_RETURN(config.maxlen, GetIntOr(json, "maxlen", config.maxlen));
  SASRECLLM_ASSIGN_OR_RETURN(config.hidden_units,
                             GetIntOr(json, "hidden_units", config.hidden_units));
  SASRECLLM_ASSIGN_OR_RETURN(config.num_blocks, GetIntOr(json, "num_blocks", config.num_blocks));
  SASRECLLM_ASSIGN_OR_RETURN(config.num_heads, GetIntOr(json, "num_heads", config.num_heads));
  SASRECLLM_ASSIGN_OR_RETURN(config.dropout_rate,
                             GetDoubleOr(json, "dropout_rate", config.dropout_rate));
  SASRECLLM_ASSIGN_OR_RETURN(config.layernorm_eps,
                             GetDoubleOr(json, "layernorm_eps", config.layernorm_eps));
  SASRECLLM_ASSIGN_OR_RETURN(config.norm_first, GetBoolOr(json, "norm_first", config.norm_first));
  SASRECLLM_RETURN_IF_ERROR(config.Validate());
  return config;
}

Json SasrecConfig::ToJson() const {
  return {{"item_num", item_num},         {"maxlen", maxlen},
          {"hidden_units", hidden_units}, {"num_blocks", num_blocks},
          {"num_heads", num_heads},       {"dropout_rate", dropout_rate},
          {"norm_first", norm_first},     {"layernorm_eps", layernorm_eps}};
}

// ---------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------

namespace {

// Inverted dropout, as torch::dropout: keeps each element with probability
// 1 - p and scales it by 1 / (1 - p). torch::dropout draws its mask with
// bernoulli_, which on the CPU here is about 3x slower than comparing uniform
// samples (7.8 ms vs 2.7 ms for a [128, 50, 50] tensor); SASRec training runs
// seven dropouts per step, so the mask is drawn this way.
torch::Tensor Dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p == 0.0) return x;
  torch::Tensor scaled_keep = torch::rand_like(x).ge_(p).mul_(1.0 / (1.0 - p));  // x's shape
  return x * scaled_keep;
}

// torch.nn.MultiheadAttention's parameters under its names, with the forward
// written out by hand (torch::nn::MultiheadAttention is much slower here).
class CausalSelfAttentionImpl : public torch::nn::Module {
 public:
  CausalSelfAttentionImpl(int64_t hidden, int64_t num_heads, double dropout)
      : hidden_(hidden), num_heads_(num_heads), dropout_(dropout) {
    in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * hidden, hidden}));
    in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * hidden}));
    out_proj = register_module("out_proj", torch::nn::Linear(hidden, hidden));
    // PyTorch's MultiheadAttention._reset_parameters.
    torch::NoGradGuard no_grad;
    torch::nn::init::xavier_uniform_(in_proj_weight);
    out_proj->bias.zero_();
  }

  // x: [B, T, H]; causal_mask: [T, T] additive (0 / -inf), x's dtype.
  // Returns [B, T, H].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& causal_mask) {
    const int64_t batch = x.size(0);
    const int64_t len = x.size(1);
    const int64_t head_dim = hidden_ / num_heads_;
    torch::Tensor qkv = torch::linear(x, in_proj_weight, in_proj_bias);  // [B, T, 3H]
    std::vector<torch::Tensor> parts = qkv.chunk(3, /*dim=*/-1);          // 3 x [B, T, H] views
    // [B, T, H] -> [B * nh, T, hd] (a view when nh == 1).
    auto split_heads = [&](const torch::Tensor& t) {
      return t.view({batch, len, num_heads_, head_dim})
          .transpose(1, 2)
          .reshape({batch * num_heads_, len, head_dim});
    };
    torch::Tensor q = split_heads(parts[0]);
    torch::Tensor k = split_heads(parts[1]);
    torch::Tensor v = split_heads(parts[2]);
    // scores = mask + q k^T / sqrt(hd): [B * nh, T, T]
    torch::Tensor scores =
        torch::baddbmm(causal_mask, q, k.transpose(1, 2), /*beta=*/1.0,
                       /*alpha=*/1.0 / std::sqrt(static_cast<double>(head_dim)));
    torch::Tensor probs = torch::softmax(scores, -1);
    probs = Dropout(probs, dropout_, is_training());
    torch::Tensor out = torch::bmm(probs, v);  // [B * nh, T, hd]
    out = out.view({batch, num_heads_, len, head_dim}).transpose(1, 2).reshape({batch, len, hidden_});
    return out_proj(out);  // [B, T, H]
  }

  torch::Tensor in_proj_weight;   // [3H, H]: rows q, k, v
  torch::Tensor in_proj_bias;     // [3H]
  torch::nn::Linear out_proj{nullptr};  // weight [H, H], bias [H]

 private:
  int64_t hidden_;
  int64_t num_heads_;
  double dropout_;
};
TORCH_MODULE(CausalSelfAttention);

// pmixer's PointWiseFeedForward: two Conv1d with kernel 1 (applied as linears
// on the [H, H] view of the [H, H, 1] weights), no residual inside.
class PointWiseFeedForwardImpl : public torch::nn::Module {
 public:
  PointWiseFeedForwardImpl(int64_t hidden, double dropout) : dropout_(dropout) {
    conv1 = register_module("conv1", torch::nn::Conv1d(torch::nn::Conv1dOptions(hidden, hidden, 1)));
    conv2 = register_module("conv2", torch::nn::Conv1d(torch::nn::Conv1dOptions(hidden, hidden, 1)));
  }

  // x: [B, T, H] -> [B, T, H]
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor h = torch::linear(x, conv1->weight.squeeze(-1), conv1->bias);
    h = torch::relu(Dropout(h, dropout_, is_training()));
    h = torch::linear(h, conv2->weight.squeeze(-1), conv2->bias);
    return Dropout(h, dropout_, is_training());
  }

  torch::nn::Conv1d conv1{nullptr};  // weight [H, H, 1], bias [H]
  torch::nn::Conv1d conv2{nullptr};  // weight [H, H, 1], bias [H]

 private:
  double dropout_;
};
TORCH_MODULE(PointWiseFeedForward);

}  // namespace

struct SasrecImpl::Layers {
  torch::nn::Embedding item_emb{nullptr};  // [item_num + 1, H], row 0 = padding
  torch::nn::Embedding pos_emb{nullptr};   // [maxlen + 1, H], row 0 = padding
  std::vector<torch::nn::LayerNorm> attention_layernorms;
  std::vector<CausalSelfAttention> attention_layers;
  std::vector<torch::nn::LayerNorm> forward_layernorms;
  std::vector<PointWiseFeedForward> forward_layers;
  torch::nn::LayerNorm last_layernorm{nullptr};
};

// ---------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------

SasrecImpl::SasrecImpl(const SasrecConfig& config)
    : config_(config), layers_(std::make_shared<Layers>()) {
  Status valid = config.Validate();
  TORCH_CHECK(valid.ok(), "Sasrec: ", valid.message());
  const int64_t h = config.hidden_units;
  Layers& l = *layers_;
  l.item_emb = register_module(
      "item_emb",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(config.item_num + 1, h).padding_idx(0)));
  l.pos_emb = register_module(
      "pos_emb",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(config.maxlen + 1, h).padding_idx(0)));
  auto attention_layernorms = register_module("attention_layernorms", torch::nn::ModuleList());
  auto attention_layers = register_module("attention_layers", torch::nn::ModuleList());
  auto forward_layernorms = register_module("forward_layernorms", torch::nn::ModuleList());
  auto forward_layers = register_module("forward_layers", torch::nn::ModuleList());
  auto layer_norm = [&] {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({h}).eps(config.layernorm_eps));
  };
  for (int64_t i = 0; i < config.num_blocks; ++i) {
    l.attention_layernorms.push_back(layer_norm());
    attention_layernorms->push_back(l.attention_layernorms.back());
    l.attention_layers.push_back(CausalSelfAttention(h, config.num_heads, config.dropout_rate));
    attention_layers->push_back(l.attention_layers.back());
    l.forward_layernorms.push_back(layer_norm());
    forward_layernorms->push_back(l.forward_layernorms.back());
    l.forward_layers.push_back(PointWiseFeedForward(h, config.dropout_rate));
    forward_layers->push_back(l.forward_layers.back());
  }
  l.last_layernorm = register_module("last_layernorm", layer_norm());

  // pmixer's main.py: xavier_normal_ on every parameter it applies to (dim >= 2),
  // then the padding rows of both embeddings back to zero.
  torch::NoGradGuard no_grad;
  for (auto& p : parameters()) {
    if (p.dim() >= 2) torch::nn::init::xavier_normal_(p);
  }
  l.item_emb->weight[0].zero_();
  l.pos_emb->weight[0].zero_();
}

torch::Tensor SasrecImpl::LogToFeats(const torch::Tensor& log_seqs_in) {
  Layers& l = *layers_;
  const torch::Tensor& item_weight = l.item_emb->weight;  // [N + 1, H]
  TORCH_CHECK(log_seqs_in.dim() == 2, "Sasrec: log_seqs must be [B, T], got ",
              log_seqs_in.sizes());
  const int64_t len = log_seqs_in.size(1);
  TORCH_CHECK(len >= 1 && len <= config_.maxlen, "Sasrec: sequence length ", len,
              " outside 1..maxlen = ", config_.maxlen);
  // [B, T] int64 on the weights' device, 0 = padding.
  torch::Tensor log_seqs = log_seqs_in.to(item_weight.device(), torch::kLong);

  // seqs = item_emb(log_seqs) * sqrt(H): [B, T, H]
  torch::Tensor seqs =
      l.item_emb(log_seqs) * std::sqrt(static_cast<double>(config_.hidden_units));
  // Position ids 1..T by slot, 0 where padded: [B, T] int64.
  torch::Tensor poss = torch::arange(1, len + 1, log_seqs.options()).unsqueeze(0) *
                       log_seqs.ne(0).to(torch::kLong);
  seqs = seqs + l.pos_emb(poss);
  seqs = Dropout(seqs, config_.dropout_rate, is_training());

  // Causal only (no key-padding mask, as pmixer): [T, T], -inf above the diagonal.
  torch::Tensor causal_mask =
      torch::full({len, len}, -std::numeric_limits<double>::infinity(), seqs.options())
          .triu(1);

  for (int64_t i = 0; i < config_.num_blocks; ++i) {
    if (config_.norm_first) {
      torch::Tensor x = l.attention_layernorms[i](seqs);
      seqs = seqs + l.attention_layers[i](x, causal_mask);
      seqs = seqs + l.forward_layers[i](l.forward_layernorms[i](seqs));
    } else {
      seqs = l.attention_layernorms[i](seqs + l.attention_layers[i](seqs, causal_mask));
      seqs = l.forward_layernorms[i](seqs + l.forward_layers[i](seqs));
    }
  }
  return l.last_layernorm(seqs);  // [B, T, H]
}

std::pair<torch::Tensor, torch::Tensor> SasrecImpl::forward(const torch::Tensor& log_seqs,
                                                            const torch::Tensor& pos_seqs,
                                                            const torch::Tensor& neg_seqs) {
  torch::Tensor log_feats = LogToFeats(log_seqs);  // [B, T, H]
  const torch::Device device = log_feats.device();
  torch::Tensor pos_embs = layers_->item_emb(pos_seqs.to(device, torch::kLong));  // [B, T, H]
  torch::Tensor neg_embs = layers_->item_emb(neg_seqs.to(device, torch::kLong));  // [B, T, H]
  torch::Tensor pos_logits = (log_feats * pos_embs).sum(-1);  // [B, T]
  torch::Tensor neg_logits = (log_feats * neg_embs).sum(-1);  // [B, T]
  return {pos_logits, neg_logits};
}

torch::Tensor SasrecImpl::UserRepresentation(const torch::Tensor& log_seqs) {
  return LogToFeats(log_seqs).select(1, -1);  // [B, H]
}

torch::Tensor SasrecImpl::Predict(const torch::Tensor& log_seqs,
                                  const torch::Tensor& item_indices) {
  torch::Tensor final_feat = UserRepresentation(log_seqs);  // [B, H]
  torch::Tensor item_embs =
      layers_->item_emb(item_indices.to(final_feat.device(), torch::kLong));  // [B, C, H]
  return torch::bmm(item_embs, final_feat.unsqueeze(-1)).squeeze(-1);      // [B, C]
}

torch::Tensor SasrecImpl::ItemEmbeddings() const { return layers_->item_emb->weight; }

std::map<std::string, torch::Tensor> SasrecImpl::StateDict() const {
  std::map<std::string, torch::Tensor> out;
  torch::NoGradGuard no_grad;
  for (const auto& item : named_parameters(/*recurse=*/true)) {
    out.emplace(item.key(),
                item.value().detach().to(torch::kCPU, torch::kFloat32).contiguous().clone());
  }
  return out;
}

Status SasrecImpl::LoadStateDict(const std::map<std::string, torch::Tensor>& tensors) {
  auto params = named_parameters(/*recurse=*/true);
  // Check everything before touching any parameter.
  for (const auto& item : params) {
    auto it = tensors.find(item.key());
    if (it == tensors.end()) {
      return InvalidArgumentError("state dict: missing tensor \"" + item.key() + "\"");
    }
    if (!it->second.defined()) {
      return InvalidArgumentError("state dict: tensor \"" + item.key() + "\" is undefined");
    }
    if (it->second.sizes() != item.value().sizes()) {
      std::ostringstream msg;
      msg << "state dict: tensor \"" << item.key() << "\" has shape " << it->second.sizes()
          << ", expected " << item.value().sizes();
      return InvalidArgumentError(msg.str());
    }
    if (!it->second.is_floating_point()) {
      std::ostringstream msg;
      msg << "state dict: tensor \"" << item.key() << "\" has dtype " << it->second.dtype()
          << ", expected a floating-point type";
      return InvalidArgumentError(msg.str());
    }
  }
  for (const auto& [name, tensor] : tensors) {
    if (params.find(name) == nullptr) {
      return InvalidArgumentError("state dict: unexpected tensor \"" + name + "\"");
    }
  }
  try {
    torch::NoGradGuard no_grad;
    for (auto& item : params) item.value().copy_(tensors.at(item.key()));
  } catch (const std::exception& e) {
    return InternalError(std::string("state dict: copy failed: ") + TorchErrorMessage(e));
  }
  return OkStatus();
}

// ---------------------------------------------------------------------------
// Inputs

int64_t LeftPadHistory(const std::vector<int64_t>& history, int64_t item_num, int64_t width,
                       int64_t* row) {
  int64_t idx = width - 1;
  for (auto it = history.rbegin(); it != history.rend() && idx >= 0; ++it) {
    if (item_num <= 0 || (*it >= 1 && *it <= item_num)) row[idx--] = *it;
  }
  return width - 1 - idx;
}

torch::Tensor LeftPaddedHistories(const std::vector<const std::vector<int64_t>*>& histories,
                                  int64_t item_num, int64_t maxlen) {
  const int64_t batch = static_cast<int64_t>(histories.size());
  torch::Tensor seqs = torch::zeros({batch, maxlen}, torch::kInt64);  // [B, maxlen], 0 = padding
  int64_t* data = seqs.data_ptr<int64_t>();
  for (int64_t b = 0; b < batch; ++b) LeftPadHistory(*histories[b], item_num, maxlen, data + b * maxlen);
  return seqs;
}

}  // namespace sasrecllm::model
