#include "model/llm/llama_model.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <vector>

#include "base/file.h"
#include "base/json.h"
#include "model/safetensors.h"
#include "model/torch_errors.h"

namespace sasrecllm::llm {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Attention of queries qg [B, KV, rep, T, hd] over keys and values
// [B, KV, S, hd] (S = cached + T; query i is cache position cached + i),
// where `blocked` [B|1, 1, 1, T, S] is true where a query may not look (at
// least every later key). In blocks of `block` queries (0: all at once): a
// block's scores are [B, KV, rep, block, cached + its end], because none of
// its queries sees a later key. The causal upper triangle beyond each block
// is then never computed, and the scores are never held for all T at once.
// The same result up to float rounding (rows that see no key at all, such as
// left padding, are undefined either way and read by nobody).
torch::Tensor MaskedAttention(const torch::Tensor& qg, const torch::Tensor& keys,
                              const torch::Tensor& values, const torch::Tensor& blocked,
                              int64_t cached, int64_t block, torch::Dtype dtype) {
  const float lowest = std::numeric_limits<float>::lowest();
  const int64_t t = qg.size(3);
  if (block <= 0 || block >= t) block = t;
  std::vector<torch::Tensor> parts;
  for (int64_t begin = 0; begin < t; begin += block) {
    const int64_t n = std::min(block, t - begin);
    const int64_t seen = cached + begin + n;  // keys any query of the block may see
    torch::Tensor scores =
        torch::matmul(qg.narrow(3, begin, n),
                      keys.narrow(2, 0, seen).unsqueeze(2).transpose(-1, -2))  // [B, KV, rep, n, seen]
            .to(torch::kFloat)
            .masked_fill(blocked.narrow(3, begin, n).narrow(4, 0, seen), lowest);
    torch::Tensor probs = torch::softmax(scores, -1).to(dtype);                     // [B, KV, rep, n, seen]
    parts.push_back(torch::matmul(probs, values.narrow(2, 0, seen).unsqueeze(2)));  // [B, KV, rep, n, hd]
  }
  return parts.size() == 1 ? parts[0] : torch::cat(parts, 3);  // [B, KV, rep, T, hd]
}

}  // namespace

// ---------------------------------------------------------------------------
// KvCache

torch::Tensor KvCache::keys(int64_t layer) const { return k_[layer].narrow(2, 0, length_); }
torch::Tensor KvCache::values(int64_t layer) const { return v_[layer].narrow(2, 0, length_); }

void KvCache::Reserve(int64_t extra) {
  const int64_t need = length_ + extra;
  if (need <= capacity()) return;
  const int64_t new_capacity = std::max(need, 2 * capacity());
  for (size_t l = 0; l < k_.size(); ++l) {
    for (torch::Tensor* t : {&k_[l], &v_[l]}) {
      auto sizes = t->sizes().vec();  // [B, KV, capacity, hd]
      sizes[2] = new_capacity;
      torch::Tensor grown = torch::zeros(sizes, t->options());  // [B, KV, new_capacity, hd]
      grown.narrow(2, 0, length_).copy_(t->narrow(2, 0, length_));
      *t = grown;
    }
  }
}

StatusOr<KvCache> KvCache::RepeatInterleaveBatch(int64_t n) const {
  if (n <= 0) return InvalidArgumentError("KvCache::RepeatInterleaveBatch: n must be > 0");
  try {
    KvCache out;
    out.length_ = length_;
    for (size_t l = 0; l < k_.size(); ++l) {
      out.k_.push_back(k_[l].repeat_interleave(n, 0));  // [B*n, KV, capacity, hd]
      out.v_.push_back(v_[l].repeat_interleave(n, 0));  // [B*n, KV, capacity, hd]
    }
    return out;
  } catch (const std::exception& e) {
    return InternalError(std::string("KvCache::RepeatInterleaveBatch: ") +
                         TorchErrorMessage(e));
  }
}

StatusOr<KvCache> KvCache::SelectRows(const torch::Tensor& rows) const {
  try {
    KvCache out;
    out.length_ = length_;
    for (size_t l = 0; l < k_.size(); ++l) {
      torch::Tensor index = rows.to(k_[l].device(), torch::kLong);  // [B']
      out.k_.push_back(k_[l].index_select(0, index));  // [B', KV, capacity, hd]
      out.v_.push_back(v_[l].index_select(0, index));  // [B', KV, capacity, hd]
    }
    return out;
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("KvCache::SelectRows: ") +
                                TorchErrorMessage(e));
  }
}

// ---------------------------------------------------------------------------
// LlamaModel: construction

StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::Create(
    const LlamaConfig& config, const std::map<std::string, torch::Tensor>& weights,
    const Options& options) {
  SASRECLLM_RETURN_IF_ERROR(config.Validate());
  const std::map<std::string, std::vector<int64_t>> expected = LlamaWeightShapes(config);

  std::vector<std::string> unexpected;
  for (const auto& [name, tensor] : weights) {
    auto it = expected.find(name);
    if (it == expected.end()) {
      // Older HF checkpoints store the rotary buffer; a tied model may still
      // carry a copy of lm_head.
      if (EndsWith(name, "rotary_emb.inv_freq")) continue;
      if (name == "lm_head.weight" && config.tie_word_embeddings) continue;
      unexpected.push_back(name);
      continue;
    }
    if (!tensor.defined() || tensor.sizes().vec() != it->second) {
      return InvalidArgumentError("weight " + name + " has shape " +
                                  (tensor.defined() ? model::ShapeString(tensor.sizes()) : "undefined") +
                                  ", the config implies " + model::ShapeString(it->second));
    }
    if (!tensor.is_floating_point()) {
      return InvalidArgumentError("weight " + name + " is not a floating-point tensor");
    }
  }
  if (!unexpected.empty()) {
    std::string list;
    for (size_t i = 0; i < unexpected.size() && i < 5; ++i) list += (i ? ", " : "") + unexpected[i];
    return InvalidArgumentError(std::to_string(unexpected.size()) +
                                " unexpected weight(s) for this config (num_hidden_layers=" +
                                std::to_string(config.num_hidden_layers) + ", attention_bias=" +
                                (config.attention_bias ? "true" : "false") + "): " + list);
  }
  for (const auto& [name, shape] : expected) {
    if (weights.find(name) == weights.end()) {
      return InvalidArgumentError("missing weight " + name + " (expected shape " +
                                  model::ShapeString(shape) + ")");
    }
  }

  std::unique_ptr<LlamaModel> model(new LlamaModel(config, options));
  try {
    auto get = [&](const std::string& name) {
      return weights.at(name).to(options.device, options.dtype).contiguous();
    };
    model->embed_tokens_ = get("model.embed_tokens.weight");  // [V, D]
    model->norm_ = get("model.norm.weight");                  // [D]
    model->lm_head_ =
        config.tie_word_embeddings ? model->embed_tokens_ : get("lm_head.weight");  // [V, D]
    for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      LayerWeights w;
      w.input_layernorm = get(p + "input_layernorm.weight");
      w.q_proj = get(p + "self_attn.q_proj.weight");
      w.k_proj = get(p + "self_attn.k_proj.weight");
      w.v_proj = get(p + "self_attn.v_proj.weight");
      w.o_proj = get(p + "self_attn.o_proj.weight");
      if (config.attention_bias) {
        w.q_bias = get(p + "self_attn.q_proj.bias");
        w.k_bias = get(p + "self_attn.k_proj.bias");
        w.v_bias = get(p + "self_attn.v_proj.bias");
      }
      w.post_attention_layernorm = get(p + "post_attention_layernorm.weight");
      w.gate_proj = get(p + "mlp.gate_proj.weight");
      w.up_proj = get(p + "mlp.up_proj.weight");
      w.down_proj = get(p + "mlp.down_proj.weight");
      model->layers_.push_back(std::move(w));
    }

    // inv_freq[i] = 1 / theta^(2i / hd), in float32 as HF computes it.
    const int64_t hd = config.head_dim();
    torch::Tensor inv_freq =
        1.0 / torch::pow(config.rope_theta,
                         torch::arange(0, hd, 2, torch::kLong).to(torch::kFloat) /
                             static_cast<double>(hd));  // [hd/2] float32
    if (config.rope_scaling.rope_type == "llama3") {
      // HF _compute_llama3_parameters.
      const RopeScaling& rs = config.rope_scaling;
      const double old_len = static_cast<double>(rs.original_max_position_embeddings);
      const double low_freq_wavelen = old_len / rs.low_freq_factor;
      const double high_freq_wavelen = old_len / rs.high_freq_factor;
      torch::Tensor wavelen = 2.0 * M_PI / inv_freq;  // [hd/2]
      torch::Tensor scaled =
          torch::where(wavelen > low_freq_wavelen, inv_freq / rs.factor, inv_freq);
      torch::Tensor smooth = (old_len / wavelen - rs.low_freq_factor) /
                             (rs.high_freq_factor - rs.low_freq_factor);
      torch::Tensor smoothed = (1 - smooth) * scaled / rs.factor + smooth * scaled;
      torch::Tensor is_medium = (wavelen >= high_freq_wavelen).logical_and(
          wavelen <= low_freq_wavelen);
      inv_freq = torch::where(is_medium, smoothed, scaled);
    }
    model->inv_freq_ = inv_freq.to(options.device);
  } catch (const std::exception& e) {
    return InternalError(std::string("LlamaModel::Create: ") + TorchErrorMessage(e));
  }
  return model;
}

StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::Load(const std::string& dir,
                                                       const Options& options) {
  SASRECLLM_ASSIGN_OR_RETURN(LlamaConfig config, LlamaConfig::FromFile(dir + "/config.json"));
  auto read = [&](const std::string& path) {
    return options.memory_map ? model::MapSafetensors(path) : model::ReadSafetensors(path);
  };
  std::map<std::string, torch::Tensor> weights;
  const std::string index_path = dir + "/model.safetensors.index.json";
  if (FileExists(index_path)) {
    SASRECLLM_ASSIGN_OR_RETURN(Json index, ReadJsonFile(index_path));
    const Json* map = FindKey(index, "weight_map");
    if (map == nullptr || !map->is_object()) {
      return InvalidArgumentError(index_path + ": missing object \"weight_map\"");
    }
    std::set<std::string> files;
    for (const auto& [name, file] : map->items()) {
      if (!file.is_string()) {
        return InvalidArgumentError(index_path + ": weight_map[\"" + name + "\"] is not a string");
      }
      SASRECLLM_RETURN_IF_ERROR(
          CheckFileNameInFolder(file.get<std::string>(), index_path + ": weight_map[\"" + name + "\"]"));
      files.insert(file.get<std::string>());
    }
    for (const std::string& file : files) {
      SASRECLLM_ASSIGN_OR_RETURN(auto shard, read(dir + "/" + file));
      for (auto& [name, t] : shard) weights[name] = std::move(t);
    }
    for (const auto& [name, file] : map->items()) {
      if (weights.find(name) == weights.end()) {
        return DataLossError(index_path + ": weight " + name + " is listed in " +
                             file.get<std::string>() + " but that file does not contain it");
      }
    }
  } else {
    SASRECLLM_ASSIGN_OR_RETURN(weights, read(dir + "/model.safetensors"));
  }
  // Converted one tensor at a time: each source tensor is freed (a mapped
  // one's pages given back) as soon as its converted copy exists, so that
  // peak memory is the converted weights plus one tensor, not both copies.
  // Mapped weights already in options.dtype on the CPU stay file-backed.
  try {
    for (auto& [name, tensor] : weights) {
      if (tensor.is_floating_point()) tensor = tensor.to(options.device, options.dtype).contiguous();
    }
  } catch (const std::exception& e) {
    return InternalError(dir + ": converting the weights: " + TorchErrorMessage(e));
  }
  StatusOr<std::unique_ptr<LlamaModel>> model = Create(config, weights, options);
  if (!model.ok()) return model.status().WithPrefix(dir);
  if (options.merge_adapter && FileExists(dir + "/adapter_config.json")) {
    SASRECLLM_ASSIGN_OR_RETURN(LoraAdapter adapter, LoraAdapter::LoadPeft(dir, config));
    return (*model)->Merged(adapter);
  }
  return model;
}

std::map<std::string, torch::Tensor> LlamaModel::Weights() const {
  std::map<std::string, torch::Tensor> w;
  w["model.embed_tokens.weight"] = embed_tokens_;
  w["model.norm.weight"] = norm_;
  if (!config_.tie_word_embeddings) w["lm_head.weight"] = lm_head_;
  for (size_t l = 0; l < layers_.size(); ++l) {
    const LayerWeights& lw = layers_[l];
    const std::string p = "model.layers." + std::to_string(l) + ".";
    w[p + "input_layernorm.weight"] = lw.input_layernorm;
    w[p + "self_attn.q_proj.weight"] = lw.q_proj;
    w[p + "self_attn.k_proj.weight"] = lw.k_proj;
    w[p + "self_attn.v_proj.weight"] = lw.v_proj;
    w[p + "self_attn.o_proj.weight"] = lw.o_proj;
    if (lw.q_bias.defined()) {
      w[p + "self_attn.q_proj.bias"] = lw.q_bias;
      w[p + "self_attn.k_proj.bias"] = lw.k_bias;
      w[p + "self_attn.v_proj.bias"] = lw.v_bias;
    }
    w[p + "post_attention_layernorm.weight"] = lw.post_attention_layernorm;
    w[p + "mlp.gate_proj.weight"] = lw.gate_proj;
    w[p + "mlp.up_proj.weight"] = lw.up_proj;
    w[p + "mlp.down_proj.weight"] = lw.down_proj;
  }
  return w;
}

StatusOr<KvCache> LlamaModel::NewCache(int64_t batch_size, int64_t capacity) const {
  if (batch_size <= 0 || capacity < 0) {
    return InvalidArgumentError("NewCache: batch_size must be > 0 and capacity >= 0, got " +
                                std::to_string(batch_size) + ", " + std::to_string(capacity));
  }
  try {
    KvCache cache;
    auto opts = torch::TensorOptions().dtype(options_.dtype).device(options_.device);
    for (int64_t l = 0; l < config_.num_hidden_layers; ++l) {
      // [B, KV, capacity, hd]
      cache.k_.push_back(torch::zeros(
          {batch_size, config_.num_key_value_heads, capacity, config_.head_dim()}, opts));
      cache.v_.push_back(torch::zeros(
          {batch_size, config_.num_key_value_heads, capacity, config_.head_dim()}, opts));
    }
    return cache;
  } catch (const std::exception& e) {
    return ResourceExhaustedError(std::string("NewCache: ") + TorchErrorMessage(e));
  }
}

// ---------------------------------------------------------------------------
// LlamaModel: the forward pass

torch::Tensor LlamaModel::RmsNorm(const torch::Tensor& x, const torch::Tensor& weight) const {
  // In float32, as HF's LlamaRMSNorm, then back to the input dtype.
  torch::Tensor xf = x.to(torch::kFloat);                                  // [..., D]
  torch::Tensor variance = xf.pow(2).mean(-1, /*keepdim=*/true);           // [..., 1]
  xf = xf * torch::rsqrt(variance + config_.rms_norm_eps);                 // [..., D]
  return weight * xf.to(x.scalar_type());                                  // [..., D]
}

LlamaModel::AttentionProjections LlamaModel::AttentionInputs(const ForwardArgs& args,
                                                             int64_t layer,
                                                             const torch::Tensor& x,
                                                             const torch::Tensor& cos,
                                                             const torch::Tensor& sin) const {
  const LayerWeights& w = layers_[layer];
  const int64_t b = x.size(0), t = x.size(1), hd = config_.head_dim();
  torch::Tensor h = RmsNorm(x, w.input_layernorm);  // [B, T, D]
  torch::Tensor q = Project(args, layer, "q_proj", h, w.q_proj, w.q_bias)
                        .view({b, t, config_.num_attention_heads, hd})
                        .transpose(1, 2);  // [B, H, T, hd]
  torch::Tensor k = Project(args, layer, "k_proj", h, w.k_proj, w.k_bias)
                        .view({b, t, config_.num_key_value_heads, hd})
                        .transpose(1, 2);  // [B, KV, T, hd]
  torch::Tensor v = Project(args, layer, "v_proj", h, w.v_proj, w.v_bias)
                        .view({b, t, config_.num_key_value_heads, hd})
                        .transpose(1, 2);  // [B, KV, T, hd]
  q = q * cos + RotateHalf(q) * sin;       // [B, H, T, hd]
  k = k * cos + RotateHalf(k) * sin;       // [B, KV, T, hd]
  return {q, k, v};
}

torch::Tensor LlamaModel::AttentionOutputAndMlp(const ForwardArgs& args, int64_t layer,
                                                const torch::Tensor& x,
                                                const torch::Tensor& attn) const {
  const LayerWeights& w = layers_[layer];
  torch::Tensor y = x + Project(args, layer, "o_proj", attn, w.o_proj);  // [B, T, D]
  // SwiGLU MLP block
  torch::Tensor h = RmsNorm(y, w.post_attention_layernorm);              // [B, T, D]
  torch::Tensor gated = torch::silu(Project(args, layer, "gate_proj", h, w.gate_proj)) *
                        Project(args, layer, "up_proj", h, w.up_proj);   // [B, T, F]
  return y + Project(args, layer, "down_proj", gated, w.down_proj);      // [B, T, D]
}

torch::Tensor LlamaModel::RotateHalf(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

std::pair<torch::Tensor, torch::Tensor> LlamaModel::Rotary(const torch::Tensor& positions) const {
  // positions: [B, T] int64.
  torch::Tensor freqs = positions.to(torch::kFloat).unsqueeze(-1) * inv_freq_;  // [B, T, hd/2]
  torch::Tensor emb = torch::cat({freqs, freqs}, -1);                           // [B, T, hd]
  return {emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)};                      // [B, 1, T, hd]
}

StatusOr<torch::Tensor> LlamaModel::Embed(const torch::Tensor& input_ids) const {
  try {
    if (!input_ids.defined() || input_ids.dim() != 2 || input_ids.scalar_type() != torch::kLong) {
      return InvalidArgumentError("input_ids must be a [B, T] int64 tensor");
    }
    if (input_ids.numel() > 0) {
      const int64_t lo = input_ids.min().item<int64_t>();
      const int64_t hi = input_ids.max().item<int64_t>();
      if (lo < 0 || hi >= config_.vocab_size) {
        return InvalidArgumentError("input_ids: token id " + std::to_string(lo < 0 ? lo : hi) +
                                    " outside [0, vocab_size=" +
                                    std::to_string(config_.vocab_size) + ")");
      }
    }
    return torch::embedding(embed_tokens_, input_ids.to(options_.device));  // [B, T, D]
  } catch (const std::exception& e) {
    return InternalError(std::string("LlamaModel::Embed: ") + TorchErrorMessage(e));
  }
}

StatusOr<torch::Tensor> LlamaModel::Forward(const torch::Tensor& input_ids, KvCache* cache,
                                            int64_t start_pos) const {
  ForwardArgs args;
  args.input_ids = input_ids;
  args.start_pos = start_pos;
  return Forward(args, cache);
}

StatusOr<torch::Tensor> LlamaModel::Forward(const ForwardArgs& args, KvCache* cache) const {
  torch::AutoGradMode grad_mode(args.train);  // autograd only while training
  try {
    // Validate the arguments (INVALID_ARGUMENT), then run.
    ForwardArgs a = args;
    if (a.input_ids.defined() == a.inputs_embeds.defined()) {
      return InvalidArgumentError("Forward: give exactly one of input_ids and inputs_embeds");
    }
    if (a.input_ids.defined()) {
      SASRECLLM_ASSIGN_OR_RETURN(a.inputs_embeds, Embed(a.input_ids));
      a.input_ids = torch::Tensor();
    } else if (a.inputs_embeds.dim() != 3 || a.inputs_embeds.size(2) != config_.hidden_size) {
      return InvalidArgumentError("Forward: inputs_embeds must be [B, T, " +
                                  std::to_string(config_.hidden_size) + "], got " +
                                  model::ShapeString(a.inputs_embeds.sizes()));
    }
    const int64_t b = a.inputs_embeds.size(0), t = a.inputs_embeds.size(1);
    if (b == 0 || t == 0) return InvalidArgumentError("Forward: empty batch or sequence");
    if (cache != nullptr) {
      if (cache->num_layers() != config_.num_hidden_layers) {
        return InvalidArgumentError("Forward: the cache was not made by NewCache for this model");
      }
      if (cache->batch_size() != b) {
        return InvalidArgumentError("Forward: batch size " + std::to_string(b) +
                                    " != the cache's " + std::to_string(cache->batch_size()));
      }
      if (a.start_pos > cache->length()) {
        return InvalidArgumentError("Forward: start_pos " + std::to_string(a.start_pos) +
                                    " is beyond the cache length " +
                                    std::to_string(cache->length()));
      }
    }
    const int64_t past = cache != nullptr
                             ? (a.start_pos >= 0 ? a.start_pos : cache->length())
                             : std::max<int64_t>(a.start_pos, 0);
    if (a.position_ids.defined() &&
        (a.position_ids.dim() != 2 || a.position_ids.size(0) != b || a.position_ids.size(1) != t)) {
      return InvalidArgumentError("Forward: position_ids must be [B, T] = " +
                                  model::ShapeString({b, t}));
    }
    const int64_t s = (cache != nullptr ? past : 0) + t;
    if (a.attention_mask.defined() &&
        (a.attention_mask.dim() != 2 || a.attention_mask.size(0) != b ||
         a.attention_mask.size(1) != s)) {
      return InvalidArgumentError("Forward: attention_mask must be [B, S] = " +
                                  model::ShapeString({b, s}) + " (S = cached + new positions), got " +
                                  model::ShapeString(a.attention_mask.sizes()));
    }
    if (a.last_positions.defined() &&
        (a.last_positions.dim() != 1 || a.last_positions.size(0) != b)) {
      return InvalidArgumentError("Forward: last_positions must be [B]");
    }
    SASRECLLM_RETURN_IF_ERROR(CheckLogitIds(a.logit_ids, "Forward"));
    if (a.lora != nullptr && a.lora->Find(config_.num_hidden_layers - 1,
                                          a.lora->config().target_modules.front()) == nullptr) {
      return InvalidArgumentError("Forward: the LoRA adapter was not made for this model");
    }
    if (cache != nullptr) cache->Truncate(past);
    a.start_pos = past;
    return ForwardImpl(a, cache);
  } catch (const std::exception& e) {
    return InternalError(std::string("LlamaModel::Forward: ") + TorchErrorMessage(e));
  }
}

torch::Tensor LlamaModel::ForwardImpl(const ForwardArgs& args, KvCache* cache) const {
  const torch::Device device = options_.device;
  const torch::Dtype dtype = options_.dtype;
  const int64_t n_heads = config_.num_attention_heads;
  const int64_t n_kv = config_.num_key_value_heads;
  const int64_t n_rep = n_heads / n_kv;
  const int64_t hd = config_.head_dim();

  torch::Tensor x = args.inputs_embeds.to(device, dtype);  // [B, T, D]
  const int64_t b = x.size(0), t = x.size(1);
  const int64_t past = args.start_pos;             // position of input token 0
  const int64_t cached = cache != nullptr ? past : 0;  // keys already in the cache
  const int64_t s = cached + t;                    // keys attended to

  torch::Tensor positions = args.position_ids.defined()
                                ? args.position_ids.to(device, torch::kLong)  // [B, T]
                                : torch::arange(past, past + t, torch::TensorOptions()
                                                                    .dtype(torch::kLong)
                                                                    .device(device))
                                      .unsqueeze(0)
                                      .expand({b, t});  // [B, T]
  auto [cos, sin] = Rotary(positions);                  // [B, 1, T, hd] float32
  cos = cos.to(dtype);
  sin = sin.to(dtype);

  // allowed[i][j]: query i (cache position cached+i) may see key j <= cached+i.
  auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  torch::Tensor allowed = torch::arange(s, long_opts).unsqueeze(0) <=
                          (torch::arange(t, long_opts) + cached).unsqueeze(1);  // [T, S] bool
  allowed = allowed.view({1, 1, 1, t, s});                                      // [1, 1, 1, T, S]
  if (args.attention_mask.defined()) {
    torch::Tensor keep = args.attention_mask.to(device).ne(0).view({b, 1, 1, 1, s});  // [B,1,1,1,S]
    allowed = allowed.logical_and(keep);                                             // [B,1,1,T,S]
  }
  torch::Tensor blocked = allowed.logical_not();
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));

  if (cache != nullptr) cache->Reserve(t);
  for (size_t l = 0; l < layers_.size(); ++l) {
    auto [q, k, v] = AttentionInputs(args, l, x, cos, sin);  // [B, H|KV, T, hd], rotated
    torch::Tensor keys = k, values = v;      // [B, KV, S, hd]
    if (cache != nullptr) {
      cache->k_[l].narrow(2, cached, t).copy_(k);
      cache->v_[l].narrow(2, cached, t).copy_(v);
      keys = cache->k_[l].narrow(2, 0, s);
      values = cache->v_[l].narrow(2, 0, s);
    }
    // Grouped-query attention without materialising repeated K/V: query head
    // h = kv * n_rep + r reads kv head kv (HF repeat_kv, llama2.c kv_mul).
    // The 1/sqrt(hd) scale is applied to q ([.., T, hd]) rather than to the
    // scores ([.., T, S]): one pass over a much smaller tensor.
    torch::Tensor qg = (q * scale).reshape({b, n_kv, n_rep, t, hd});  // [B, KV, rep, T, hd]
    torch::Tensor attn = MaskedAttention(qg, keys, values, blocked, cached,
                                         options_.attention_block, dtype);  // [B, KV, rep, T, hd]
    attn = attn.reshape({b, n_heads, t, hd}).transpose(1, 2).reshape({b, t, n_heads * hd});
    x = AttentionOutputAndMlp(args, l, x, attn);  // [B, T, D]
  }
  if (cache != nullptr) cache->length_ = s;

  if (args.logits == LogitsMode::kNone) return torch::Tensor();
  if (args.logits == LogitsMode::kLast) {
    if (args.last_positions.defined()) {
      torch::Tensor index = args.last_positions.to(device, torch::kLong)
                                .view({b, 1, 1})
                                .expand({b, 1, x.size(2)});  // [B, 1, D]
      x = x.gather(1, index);                                // [B, 1, D]
    } else {
      x = x.narrow(1, t - 1, 1);  // [B, 1, D]
    }
  }
  x = RmsNorm(x, norm_);  // [B, T', D]
  if (args.logit_ids.defined()) {
    torch::Tensor rows = lm_head_.index_select(0, args.logit_ids.to(device, torch::kLong));  // [K, D]
    return torch::linear(x, rows).to(torch::kFloat);  // [B, T', K] float32
  }
  return torch::linear(x, lm_head_).to(torch::kFloat);  // [B, T', V] float32
}

torch::Tensor LlamaModel::Project(const ForwardArgs& args, int64_t layer, const char* module,
                                  const torch::Tensor& x, const torch::Tensor& weight,
                                  const torch::Tensor& bias) const {
  torch::Tensor y = torch::linear(x, weight, bias);
  if (args.lora == nullptr) return y;
  const LoraAdapter::Pair* pair = args.lora->Find(layer, module);
  if (pair == nullptr) return y;
  return y + args.lora->Delta(*pair, x, args.train);
}

Status LlamaModel::CheckLogitIds(const torch::Tensor& logit_ids, const char* caller) const {
  if (logit_ids.defined() &&
      (logit_ids.dim() != 1 || logit_ids.numel() == 0 || logit_ids.min().item<int64_t>() < 0 ||
       logit_ids.max().item<int64_t>() >= config_.vocab_size)) {
    return InvalidArgumentError(std::string(caller) +
                                ": logit_ids must be a non-empty [K] of ids in [0, " +
                                std::to_string(config_.vocab_size) + ")");
  }
  return OkStatus();
}

StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::Merged(const LoraAdapter& lora) const {
  if (lora.Find(config_.num_hidden_layers - 1, lora.config().target_modules.front()) == nullptr ||
      lora.Find(config_.num_hidden_layers, lora.config().target_modules.front()) != nullptr) {
    return InvalidArgumentError("Merged: the LoRA adapter's layer count does not match the model's " +
                                std::to_string(config_.num_hidden_layers));
  }
  torch::NoGradGuard no_grad;
  try {
    std::unique_ptr<LlamaModel> merged(new LlamaModel(config_, options_));
    merged->embed_tokens_ = embed_tokens_;
    merged->norm_ = norm_;
    merged->lm_head_ = lm_head_;
    merged->inv_freq_ = inv_freq_;
    merged->layers_ = layers_;
    const double scaling = lora.config().scaling();
    for (int64_t l = 0; l < config_.num_hidden_layers; ++l) {
      LayerWeights& w = merged->layers_[l];
      std::pair<const char*, torch::Tensor*> targets[] = {
          {"q_proj", &w.q_proj},       {"k_proj", &w.k_proj}, {"v_proj", &w.v_proj},
          {"o_proj", &w.o_proj},       {"gate_proj", &w.gate_proj},
          {"up_proj", &w.up_proj},     {"down_proj", &w.down_proj}};
      for (auto& [module, weight] : targets) {
        const LoraAdapter::Pair* pair = lora.Find(l, module);
        if (pair == nullptr) continue;
        torch::Tensor delta = torch::matmul(pair->b.to(torch::kCPU, torch::kFloat),
                                            pair->a.to(torch::kCPU, torch::kFloat)) *
                              scaling;  // [out, in]
        if (delta.sizes() != weight->sizes()) {
          return InvalidArgumentError(std::string("Merged: layer ") + std::to_string(l) + " " +
                                      module + " adapter shape does not match the weight");
        }
        // A new tensor: the base model's weight is shared, never written.
        *weight = (weight->to(torch::kCPU, torch::kFloat) + delta)
                      .to(options_.device, options_.dtype)
                      .contiguous();
      }
    }
    return merged;
  } catch (const std::exception& e) {
    return InternalError(std::string("LlamaModel::Merged: ") + TorchErrorMessage(e));
  }
}

}  // namespace sasrecllm::llm
