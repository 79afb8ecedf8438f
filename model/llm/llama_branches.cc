// LlamaModel::ForwardBranches: many independent continuations of one cached
// prefix per row, with attention computed only where it is needed:
//   scores against the prefix:  [R, KV, rep, C*L, P]  (the C branches folded
//                                into the query length: one matmul, no copy)
//   scores within each branch:  [R, KV, rep, C, L, L] (causal)
// joined for one softmax per query over P + L keys.
#include <cmath>
#include <limits>

#include "model/llm/llama_model.h"
#include "model/safetensors.h"
#include "model/torch_errors.h"

namespace sasrecllm::llm {

StatusOr<torch::Tensor> LlamaModel::ForwardBranches(const BranchArgs& args,
                                                    const KvCache& cache) const {
  const torch::Tensor& x = args.inputs_embeds;
  if (!x.defined() || x.dim() != 4 || x.size(3) != config_.hidden_size) {
    return InvalidArgumentError("ForwardBranches: inputs_embeds must be [R, C, L, " +
                                std::to_string(config_.hidden_size) + "], got " +
                                (x.defined() ? model::ShapeString(x.sizes()) : std::string("nothing")));
  }
  const int64_t r = x.size(0), c = x.size(1), l = x.size(2);
  if (cache.num_layers() != config_.num_hidden_layers || cache.batch_size() != r) {
    return InvalidArgumentError("ForwardBranches: the cache must hold " + std::to_string(r) +
                                " rows of this model");
  }
  const int64_t p = cache.length();
  if (!args.position_ids.defined() || args.position_ids.sizes() != x.sizes().slice(0, 3)) {
    return InvalidArgumentError("ForwardBranches: position_ids must be " +
                                model::ShapeString(x.sizes().slice(0, 3)));
  }
  if (!args.prefix_mask.defined() || args.prefix_mask.dim() != 2 ||
      args.prefix_mask.size(0) != r || args.prefix_mask.size(1) != p) {
    return InvalidArgumentError("ForwardBranches: prefix_mask must be [R, P] = " +
                                model::ShapeString({r, p}));
  }
  if (!args.last_positions.defined() || args.last_positions.dim() != 2 ||
      args.last_positions.size(0) != r || args.last_positions.size(1) != c ||
      (c > 0 && (args.last_positions.min().item<int64_t>() < 0 ||
                 args.last_positions.max().item<int64_t>() >= l))) {
    return InvalidArgumentError("ForwardBranches: last_positions must be [R, C] = " +
                                model::ShapeString({r, c}) + " of positions in [0, " + std::to_string(l) + ")");
  }
  SASRECLLM_RETURN_IF_ERROR(CheckLogitIds(args.logit_ids, "ForwardBranches"));
  try {
    torch::NoGradGuard no_grad;
    return ForwardBranchesImpl(args, cache);
  } catch (const std::exception& e) {
    return InternalError(std::string("LlamaModel::ForwardBranches: ") + TorchErrorMessage(e));
  }
}

torch::Tensor LlamaModel::ForwardBranchesImpl(const BranchArgs& args, const KvCache& cache) const {
  const torch::Device device = options_.device;
  const torch::Dtype dtype = options_.dtype;
  const int64_t n_heads = config_.num_attention_heads;
  const int64_t n_kv = config_.num_key_value_heads;
  const int64_t n_rep = n_heads / n_kv;
  const int64_t hd = config_.head_dim();
  torch::Tensor x = args.inputs_embeds.to(device, dtype);  // [R, C, L, D]
  const int64_t r = x.size(0), c = x.size(1), l = x.size(2), d = x.size(3);
  const int64_t p = cache.length();
  const int64_t t = c * l;  // branch tokens per row
  x = x.reshape({r, t, d});  // [R, T, D]

  auto [cos, sin] = Rotary(args.position_ids.to(device, torch::kLong).reshape({r, t}));  // [R, 1, T, hd]
  cos = cos.to(dtype);
  sin = sin.to(dtype);
  // Masks, true = blocked: padding in the prefix, later tokens in a branch.
  torch::Tensor prefix_blocked =
      args.prefix_mask.to(device).eq(0).view({r, 1, 1, 1, p});  // [R, 1, 1, 1, P]
  torch::Tensor causal_blocked =
      torch::ones({l, l}, torch::TensorOptions().dtype(torch::kBool).device(device))
          .triu(1);  // [L, L]
  const float lowest = std::numeric_limits<float>::lowest();
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));

  ForwardArgs plain;  // Project() without LoRA
  for (int64_t layer = 0; layer < static_cast<int64_t>(layers_.size()); ++layer) {
    auto [q, k, v] = AttentionInputs(plain, layer, x, cos, sin);  // [R, H|KV, T, hd], rotated
    q = q * scale;
    torch::Tensor prefix_k = cache.keys(layer);    // [R, KV, P, hd]
    torch::Tensor prefix_v = cache.values(layer);  // [R, KV, P, hd]

    // Query head h = kv * n_rep + j reads kv head kv (as in ForwardImpl).
    torch::Tensor qg = q.reshape({r, n_kv, n_rep, t, hd});  // [R, KV, rep, T, hd]
    torch::Tensor to_prefix =
        torch::matmul(qg, prefix_k.unsqueeze(2).transpose(-1, -2))  // [R, KV, rep, T, P]
            .to(torch::kFloat)
            .masked_fill_(prefix_blocked, lowest)
            .view({r, n_kv, n_rep, c, l, p});                       // [R, KV, rep, C, L, P]
    torch::Tensor kb = k.reshape({r, n_kv, 1, c, l, hd});           // [R, KV, 1, C, L, hd]
    torch::Tensor vb = v.reshape({r, n_kv, 1, c, l, hd});           // [R, KV, 1, C, L, hd]
    torch::Tensor within = torch::matmul(qg.view({r, n_kv, n_rep, c, l, hd}),
                                         kb.transpose(-1, -2))       // [R, KV, rep, C, L, L]
                               .to(torch::kFloat)
                               .masked_fill_(causal_blocked, lowest);
    torch::Tensor probs = torch::softmax(torch::cat({to_prefix, within}, -1), -1)
                              .to(dtype);  // [R, KV, rep, C, L, P + L]
    torch::Tensor attn =
        torch::matmul(probs.narrow(-1, 0, p).reshape({r, n_kv, n_rep, t, p}),
                      prefix_v.unsqueeze(2))                          // [R, KV, rep, T, hd]
            .view({r, n_kv, n_rep, c, l, hd}) +
        torch::matmul(probs.narrow(-1, p, l), vb);                    // [R, KV, rep, C, L, hd]
    attn = attn.reshape({r, n_heads, t, hd}).transpose(1, 2).reshape({r, t, n_heads * hd});
    x = AttentionOutputAndMlp(plain, layer, x, attn);  // [R, T, D]
  }
  // Each branch's last token: flat index c * L + last.
  torch::Tensor last = args.last_positions.to(device, torch::kLong) +
                       torch::arange(c, torch::TensorOptions().dtype(torch::kLong).device(device))
                               .mul(l)
                               .view({1, c});                    // [R, C]
  x = x.gather(1, last.unsqueeze(-1).expand({r, c, d}));        // [R, C, D]
  x = RmsNorm(x, norm_);
  if (args.logit_ids.defined()) {
    torch::Tensor rows = lm_head_.index_select(0, args.logit_ids.to(device, torch::kLong));  // [K, D]
    return torch::linear(x, rows).to(torch::kFloat);  // [R, C, K]
  }
  return torch::linear(x, lm_head_).to(torch::kFloat);  // [R, C, V]
}

}  // namespace sasrecllm::llm
