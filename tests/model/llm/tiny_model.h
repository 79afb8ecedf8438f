// A tiny random Llama for tests: Qwen2-style q/k/v biases, GQA, untied
// lm_head, llama3 rope scaling; weights from a fixed seed.
#ifndef SASRECLLM_TESTS_MODEL_LLM_TINY_MODEL_H_
#define SASRECLLM_TESTS_MODEL_LLM_TINY_MODEL_H_

#include <torch/torch.h>

#include <map>
#include <string>

#include "model/llm/llama_config.h"

namespace sasrecllm::llm::testing {

// A plain small Llama: 2 layers, 4 query heads over 2 KV heads (GQA), the
// given widths; no biases, no rope scaling.
inline LlamaConfig SmallLlamaConfig(int64_t hidden, int64_t intermediate, int64_t vocab,
                                    int64_t max_positions) {
  LlamaConfig c;
  c.hidden_size = hidden;
  c.intermediate_size = intermediate;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.vocab_size = vocab;
  c.max_position_embeddings = max_positions;
  return c;
}

inline LlamaConfig TinyConfig() {
  LlamaConfig c = SmallLlamaConfig(/*hidden=*/16, /*intermediate=*/24, /*vocab=*/11,
                                   /*max_positions=*/64);
  c.model_type = "qwen2";
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 500000.0;
  c.attention_bias = true;
  c.tie_word_embeddings = false;
  c.rope_scaling.rope_type = "llama3";
  c.rope_scaling.factor = 8.0;
  c.rope_scaling.original_max_position_embeddings = 16;
  return c;
}

inline std::map<std::string, torch::Tensor> RandomWeights(const LlamaConfig& c) {
  torch::manual_seed(3);
  const int64_t d = c.hidden_size, f = c.intermediate_size, q = c.num_attention_heads * c.head_dim(),
                kv = c.kv_dim(), v = c.vocab_size;
  std::map<std::string, torch::Tensor> w;
  w["model.embed_tokens.weight"] = torch::randn({v, d});
  w["model.norm.weight"] = 1 + 0.1 * torch::randn({d});
  w["lm_head.weight"] = torch::randn({v, d}) * 0.3;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    w[p + "input_layernorm.weight"] = 1 + 0.1 * torch::randn({d});
    w[p + "post_attention_layernorm.weight"] = 1 + 0.1 * torch::randn({d});
    w[p + "self_attn.q_proj.weight"] = torch::randn({q, d}) * 0.3;
    w[p + "self_attn.k_proj.weight"] = torch::randn({kv, d}) * 0.3;
    w[p + "self_attn.v_proj.weight"] = torch::randn({kv, d}) * 0.3;
    w[p + "self_attn.q_proj.bias"] = torch::randn({q}) * 0.1;
    w[p + "self_attn.k_proj.bias"] = torch::randn({kv}) * 0.1;
    w[p + "self_attn.v_proj.bias"] = torch::randn({kv}) * 0.1;
    w[p + "self_attn.o_proj.weight"] = torch::randn({d, q}) * 0.3;
    w[p + "mlp.gate_proj.weight"] = torch::randn({f, d}) * 0.3;
    w[p + "mlp.up_proj.weight"] = torch::randn({f, d}) * 0.3;
    w[p + "mlp.down_proj.weight"] = torch::randn({d, f}) * 0.3;
  }
  return w;
}

}  // namespace sasrecllm::llm::testing

#endif  // SASRECLLM_TESTS_MODEL_LLM_TINY_MODEL_H_
