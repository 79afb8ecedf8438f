// LlamaModel: a Llama-family decoder (RMSNorm, RoPE in Hugging Face's
// rotate_half layout, grouped-query attention, SwiGLU MLP, optional Qwen2
// q/k/v biases, optional tied lm_head) over immutable weights, plus KvCache,
// the per-request attention memory (llama2.c's TransformerWeights / RunState
// split).
//
//   LlamaModel::Options options;                      // float32 on the CPU
//   SASRECLLM_ASSIGN_OR_RETURN(auto model, LlamaModel::Load("bundle/llm", options));
//   SASRECLLM_ASSIGN_OR_RETURN(KvCache cache, model->NewCache(/*batch_size=*/1, /*capacity=*/512));
//   ForwardArgs args;
//   args.input_ids = ids;                              // [1, T] int64
//   args.logits = LogitsMode::kLast;
//   SASRECLLM_ASSIGN_OR_RETURN(torch::Tensor logits, model->Forward(args, &cache));  // [1, 1, V]
//
// Thread safety: a LlamaModel is immutable after Create/Load; Forward is
// const and may run concurrently from several threads, each with its own
// KvCache. A KvCache is not thread-safe.
#ifndef SASRECLLM_MODEL_LLM_LLAMA_MODEL_H_
#define SASRECLLM_MODEL_LLM_LLAMA_MODEL_H_

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/llm/llama_config.h"
#include "model/llm/lora.h"
#include "base/status.h"

namespace sasrecllm::llm {

// Per-layer keys and values of the positions seen so far, for a batch of
// sequences that all have the same length (padding is the caller's business,
// expressed with ForwardArgs::attention_mask).
class KvCache {
 public:
  KvCache() = default;

  int64_t batch_size() const { return k_.empty() ? 0 : k_[0].size(0); }
  int64_t num_layers() const { return static_cast<int64_t>(k_.size()); }
  // Positions stored (the next Forward starts at this position).
  int64_t length() const { return length_; }
  // Positions storable before the buffers grow.
  int64_t capacity() const { return k_.empty() ? 0 : k_[0].size(2); }

  // Valid part of layer `layer`'s keys / values: [B, KV, length, head_dim].
  torch::Tensor keys(int64_t layer) const;
  torch::Tensor values(int64_t layer) const;

  // Forgets positions >= `length` (precondition: length <= length()).
  void Truncate(int64_t length) { length_ = std::min(length_, std::max<int64_t>(length, 0)); }

  // A new cache whose row i*n+j is a copy of this cache's row i (j < n): a
  // prompt prefix computed once continued by n suffixes. Capacity kept.
  StatusOr<KvCache> RepeatInterleaveBatch(int64_t n) const;
  // A new cache holding rows `rows` ([B'] int64) of this one.
  StatusOr<KvCache> SelectRows(const torch::Tensor& rows) const;

 private:
  friend class LlamaModel;
  // Makes room for `extra` more positions (doubles the buffers as needed).
  void Reserve(int64_t extra);

  std::vector<torch::Tensor> k_;  // per layer: [B, KV, capacity, head_dim], model dtype
  std::vector<torch::Tensor> v_;  // per layer: [B, KV, capacity, head_dim], model dtype
  int64_t length_ = 0;
};

enum class LogitsMode {
  kAll,   // logits for every input position: [B, T, V]
  kLast,  // logits for the last input position only: [B, 1, V]
  kNone,  // no lm_head (e.g. prefilling a shared prefix): an undefined tensor
};

struct ForwardArgs {
  // Exactly one of input_ids / inputs_embeds.
  torch::Tensor input_ids;      // [B, T] int64 token ids
  torch::Tensor inputs_embeds;  // [B, T, D] any float dtype (cast to the model's)
  // Optional per-token positions [B, T] int64 (default: start .. start+T-1,
  // start = the cache's length, or start_pos without a cache).
  torch::Tensor position_ids;
  // Optional [B, S] (S = cache length before the call + T) bool/int, nonzero =
  // this key position may be attended to (0 = padding). Combined with the
  // causal mask. Default: every position is real.
  torch::Tensor attention_mask;
  // Position of input token 0 when there is no cache. With a cache, must be
  // -1 (= the cache's length) or <= the cache's length (earlier positions
  // are then dropped from the cache first).
  int64_t start_pos = -1;
  LogitsMode logits = LogitsMode::kAll;
  // Optional [B] int64: with kLast, the input position (0..T-1) whose logits
  // are returned for each row (e.g. the last real token of right-padded rows).
  torch::Tensor last_positions;
  // Optional [K] int64 vocabulary ids: logits only for these columns
  // ([B, T', K]), e.g. the "Yes" token of a scoring prompt.
  torch::Tensor logit_ids;
  // Optional LoRA adapter applied on the fly (unmerged): y = xW^T + delta.
  const LoraAdapter* lora = nullptr;
  // Training: autograd on (gradients reach inputs_embeds and the adapter;
  // the model's own weights never require grad) and LoRA dropout active.
  // Default: false (inference, no autograd graph).
  bool train = false;
};

// Independent continuations of cached prefixes: row r of the cache
// continued by C branches of L tokens each (e.g. one per candidate item of a
// scoring prompt). A branch token attends to its row's cached positions
// where prefix_mask is nonzero, and causally to its own branch, never to
// another branch; the cache itself is read, not extended.
struct BranchArgs {
  torch::Tensor inputs_embeds;   // [R, C, L, D] any float dtype (cast to the model's)
  torch::Tensor position_ids;    // [R, C, L] int64
  torch::Tensor prefix_mask;     // [R, P] bool/int, P = the cache's length; 0 = padding
  torch::Tensor last_positions;  // [R, C] int64 in [0, L): the token whose logits are returned
  torch::Tensor logit_ids;       // optional [K] int64 vocabulary ids (default: all)
};

class LlamaModel {
 public:
  // Options::attention_block's default, from `sasrecllm bench-llm
  // --attention-blocks 0,64,128,256` on a 2-core CPU: at 400 / 1024 prefill
  // tokens, 1.11x / 1.26x all-at-once for stories260K and 0.99x / 1.15x for
  // a 134M Llama (README, "LLM runtime").
  static constexpr int64_t kDefaultAttentionBlock = 128;

  struct Options {
    torch::Dtype dtype = torch::kFloat32;  // Default: float32 (weights and activations)
    torch::Device device = torch::Device(torch::kCPU);  // Default: CPU
    // Load(): merge DIR/adapter_config.json + adapter_model.safetensors (a
    // PEFT LoRA adapter) into the weights when present. Default: true.
    bool merge_adapter = true;
    // Load(): memory-map the safetensors files (model::MapSafetensors)
    // rather than read them into memory. Default: true. False reads a copy
    // (for files that may be rewritten in place while loaded).
    bool memory_map = true;
    // Forward(): attention in blocks of this many query positions, each
    // block against only the keys it may see (no [T, S] score matrix, and
    // not the causal upper triangle); 0 = all positions at once. Default:
    // kDefaultAttentionBlock.
    int64_t attention_block = kDefaultAttentionBlock;
  };

  // Builds a model from HF-named weights ("model.embed_tokens.weight", ...).
  // Every expected weight must be present with the config's shape; names that
  // are neither expected nor known-ignorable are an error. Weights are moved
  // to options.device / options.dtype. INVALID_ARGUMENT naming the weight.
  static StatusOr<std::unique_ptr<LlamaModel>> Create(
      const LlamaConfig& config, const std::map<std::string, torch::Tensor>& weights,
      const Options& options);

  // Loads DIR/config.json and DIR/model.safetensors, or the shards listed in
  // DIR/model.safetensors.index.json ("weight_map"), and merges a PEFT
  // adapter found in DIR (see Options::merge_adapter). Errors name the file.
  // The files are memory-mapped (Options::memory_map) and converted one
  // tensor at a time: peak memory is about the weights in options.dtype, and
  // weights stored in that dtype and used on the CPU stay file-backed.
  static StatusOr<std::unique_ptr<LlamaModel>> Load(const std::string& dir,
                                                    const Options& options);

  const LlamaConfig& config() const { return config_; }
  const Options& options() const { return options_; }

  // An empty cache for `batch_size` sequences, preallocated for `capacity`
  // positions (it grows beyond that when needed).
  StatusOr<KvCache> NewCache(int64_t batch_size, int64_t capacity) const;

  // Runs the decoder over T new positions per row, appending their keys and
  // values to *cache (may be null: no memory, attention over the inputs only).
  // Returns float32 logits ([B, T, V] or [B, 1, V], see LogitsMode) on the
  // model's device. INVALID_ARGUMENT for bad shapes, INTERNAL for libtorch
  // errors.
  StatusOr<torch::Tensor> Forward(const ForwardArgs& args, KvCache* cache) const;

  // Runs the branches of args over `cache` (see BranchArgs) without
  // modifying it. Returns float32 logits [R, C, K] (K = logit_ids' size, or
  // the vocabulary) at each branch's last_positions. The cost is that of the
  // branch tokens alone: nothing is copied per branch. INVALID_ARGUMENT for
  // bad shapes, INTERNAL for libtorch errors. No autograd, no LoRA (serving).
  StatusOr<torch::Tensor> ForwardBranches(const BranchArgs& args, const KvCache& cache) const;

  // Shorthand: ids [B, T] int64, all logits.
  StatusOr<torch::Tensor> Forward(const torch::Tensor& input_ids, KvCache* cache,
                                  int64_t start_pos = -1) const;

  // A copy of this model with `lora` merged into its weights
  // (W' = W + scaling * B A, computed in float32): the same outputs as
  // Forward with args.lora = &lora, at no extra cost. Unadapted weights are
  // shared with this model (they are never modified).
  StatusOr<std::unique_ptr<LlamaModel>> Merged(const LoraAdapter& lora) const;

  // Every weight under its HF name ("model.layers.0.self_attn.q_proj.weight",
  // ...; lm_head.weight only when untied), in the model's dtype and device:
  // what Create() takes, e.g. to write a merged model to model.safetensors.
  std::map<std::string, torch::Tensor> Weights() const;

  // embed_tokens(ids): [B, T] int64 -> [B, T, D] model dtype. For building
  // inputs_embeds with some positions replaced.
  StatusOr<torch::Tensor> Embed(const torch::Tensor& input_ids) const;

 private:
  struct LayerWeights {
    torch::Tensor input_layernorm;           // [D]
    torch::Tensor q_proj;                    // [H*hd, D]
    torch::Tensor k_proj;                    // [KV*hd, D]
    torch::Tensor v_proj;                    // [KV*hd, D]
    torch::Tensor q_bias;                    // [H*hd] or undefined (no attention_bias)
    torch::Tensor k_bias;                    // [KV*hd] or undefined
    torch::Tensor v_bias;                    // [KV*hd] or undefined
    torch::Tensor o_proj;                    // [D, H*hd]
    torch::Tensor post_attention_layernorm;  // [D]
    torch::Tensor gate_proj;                 // [F, D]
    torch::Tensor up_proj;                   // [F, D]
    torch::Tensor down_proj;                 // [D, F]
  };

  LlamaModel(LlamaConfig config, Options options) : config_(std::move(config)), options_(options) {}

  torch::Tensor RmsNorm(const torch::Tensor& x, const torch::Tensor& weight) const;
  // One layer's attention inputs for x [B, T, D]: q [B, H, T, hd] and k, v
  // [B, KV, T, hd], RoPE applied to q and k (not yet scaled).
  struct AttentionProjections {
    torch::Tensor q, k, v;
  };
  AttentionProjections AttentionInputs(const ForwardArgs& args, int64_t layer,
                                       const torch::Tensor& x, const torch::Tensor& cos,
                                       const torch::Tensor& sin) const;
  // The rest of a layer: x + o_proj(attn), then the SwiGLU MLP block with its
  // residual. attn: [B, T, H*hd]; returns [B, T, D].
  torch::Tensor AttentionOutputAndMlp(const ForwardArgs& args, int64_t layer,
                                      const torch::Tensor& x, const torch::Tensor& attn) const;
  // rotate_half(x) = cat(-x2, x1) over the two halves of the last dim.
  static torch::Tensor RotateHalf(const torch::Tensor& x);
  // cos, sin: [B, 1, T, hd] float32 for positions [B, T].
  std::pair<torch::Tensor, torch::Tensor> Rotary(const torch::Tensor& positions) const;
  torch::Tensor ForwardImpl(const ForwardArgs& args, KvCache* cache) const;
  // OK when `logit_ids` is undefined or a non-empty [K] of ids in [0, vocab);
  // else INVALID_ARGUMENT naming `caller`.
  Status CheckLogitIds(const torch::Tensor& logit_ids, const char* caller) const;
  torch::Tensor ForwardBranchesImpl(const BranchArgs& args, const KvCache& cache) const;
  // linear(x, weight, bias) plus layer `layer`'s LoRA term for `module` when
  // args.lora adapts it.
  torch::Tensor Project(const ForwardArgs& args, int64_t layer, const char* module,
                        const torch::Tensor& x, const torch::Tensor& weight,
                        const torch::Tensor& bias = torch::Tensor()) const;

  LlamaConfig config_;
  Options options_;
  torch::Tensor embed_tokens_;  // [V, D]
  std::vector<LayerWeights> layers_;
  torch::Tensor norm_;          // [D]
  torch::Tensor lm_head_;       // [V, D] (the same tensor as embed_tokens_ when tied)
  torch::Tensor inv_freq_;      // [hd/2] float32, after rope_scaling
};

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_LLAMA_MODEL_H_
