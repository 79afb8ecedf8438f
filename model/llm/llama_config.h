// LlamaConfig: the hyper-parameters of a Llama-family decoder (Llama 1/2/3,
// TinyLlama, Qwen2-style q/k/v biases), read from and written as a Hugging
// Face config.json.
//
//   SASRECLLM_ASSIGN_OR_RETURN(LlamaConfig config, LlamaConfig::FromFile(dir + "/config.json"));
//   int64_t head_dim = config.head_dim();
//
// Thread safety: a plain value type.
#ifndef SASRECLLM_MODEL_LLM_LLAMA_CONFIG_H_
#define SASRECLLM_MODEL_LLM_LLAMA_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace sasrecllm::llm {

// HF rope_scaling {"rope_type": "llama3", ...} (Llama 3.1/3.2). Only "llama3"
// is supported; absent means plain RoPE.
struct RopeScaling {
  std::string rope_type;                          // "" = none, or "llama3"
  double factor = 8.0;                            // Default: 8
  double low_freq_factor = 1.0;                   // Default: 1
  double high_freq_factor = 4.0;                  // Default: 4
  int64_t original_max_position_embeddings = 8192;  // Default: 8192
};

struct LlamaConfig {
  std::string model_type = "llama";     // "llama" or "qwen2"
  int64_t hidden_size = 0;              // D
  int64_t intermediate_size = 0;        // F (SwiGLU hidden width)
  int64_t num_hidden_layers = 0;        // L
  int64_t num_attention_heads = 0;      // H
  int64_t num_key_value_heads = 0;      // KV (H % KV == 0); Default: H
  int64_t head_dim_override = 0;        // "head_dim" key; 0 = D / H
  int64_t vocab_size = 0;               // V
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;          // Default: 10000
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;     // lm_head shares embed_tokens
  bool attention_bias = false;          // q/k/v biases (Qwen2: always)
  int64_t bos_token_id = 1;
  int64_t eos_token_id = 2;
  std::string torch_dtype = "float32";  // "float32", "bfloat16", "float16"

  int64_t head_dim() const {
    return head_dim_override > 0 ? head_dim_override
                                 : (num_attention_heads > 0 ? hidden_size / num_attention_heads : 0);
  }
  int64_t kv_dim() const { return num_key_value_heads * head_dim(); }

  // INVALID_ARGUMENT naming the offending field and value.
  Status Validate() const;

  // Parses an HF config.json object; missing optional keys take the defaults
  // above. Errors name the key. The result is validated.
  static StatusOr<LlamaConfig> FromJson(const Json& json);
  static StatusOr<LlamaConfig> FromFile(const std::string& path);

  // HF-layout config.json (architectures, model_type, the keys above).
  Json ToJson() const;
};

// The Hugging Face tensor names of a Llama with `config` and their shapes:
// model.embed_tokens.weight [V, D], model.norm.weight [D], lm_head.weight
// [V, D] unless tied, and per layer L model.layers.L.{input_layernorm,
// post_attention_layernorm}.weight [D], self_attn.{q,k,v,o}_proj.weight
// ([Q, D], [KV, D], [KV, D], [D, Q]; Q = heads x head_dim, KV = kv_dim()),
// their q/k/v biases when attention_bias, mlp.{gate,up}_proj.weight [F, D],
// mlp.down_proj.weight [D, F]. `config` must be valid.
std::map<std::string, std::vector<int64_t>> LlamaWeightShapes(const LlamaConfig& config);

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_LLAMA_CONFIG_H_
