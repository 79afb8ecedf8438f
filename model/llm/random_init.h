// Randomly initialised Llama weights in the Hugging Face layout, and writing
// them as a folder that LlamaModel::Load reads (config.json +
// model.safetensors). For a random re-ranker to fine-tune, for benchmarks of
// realistic sizes without a download, and for tests that corrupt a real
// model folder.
//
//   LlamaConfig config = DefaultRandomLlamaConfig();  // 768 x 12 layers, ~134M
//   SASRECLLM_ASSIGN_OR_RETURN(auto weights, RandomLlamaWeights(config, /*seed=*/0));
//   SASRECLLM_ASSIGN_OR_RETURN(auto model, LlamaModel::Create(config, weights, {}));
//   SASRECLLM_RETURN_IF_ERROR(WriteLlamaFolder("out/llm", config, weights));
//
// Thread safety: free functions, no shared state (the random stream is a
// private generator, not torch's global one).
#ifndef SASRECLLM_MODEL_LLM_RANDOM_INIT_H_
#define SASRECLLM_MODEL_LLM_RANDOM_INIT_H_

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>

#include "model/llm/llama_config.h"
#include "base/status.h"

namespace sasrecllm::llm {

// The ~100M-parameter random re-ranker's shape: hidden 768, 12 layers, 12
// heads (no GQA), SwiGLU width 2048, vocabulary 32000 (Llama-2's), 2048
// positions, rms_norm_eps 1e-5, untied lm_head: 134.1M parameters, 84.9M of
// them in the decoder layers, 2 x 24.6M in embed_tokens and lm_head.
LlamaConfig DefaultRandomLlamaConfig();

// Every weight Create() expects for `config`, on the CPU in `dtype`:
// projections (and, with attention_bias, zero q/k/v biases), embed_tokens and
// lm_head drawn from normal(0, stddev) with a generator seeded by `seed`
// (GPT-2 / HF initializer_range), RMSNorm weights = 1. The same (config, seed)
// gives the same weights on every machine. INVALID_ARGUMENT for an invalid
// config or stddev <= 0, RESOURCE_EXHAUSTED when the tensors cannot be
// allocated.
StatusOr<std::map<std::string, torch::Tensor>> RandomLlamaWeights(
    const LlamaConfig& config, uint64_t seed, torch::Dtype dtype = torch::kFloat32,
    double stddev = 0.02);

// Parameter counts implied by a config (tied embeddings counted once).
struct LlamaParameterCount {
  int64_t total = 0;         // every weight
  int64_t embedding = 0;     // embed_tokens [V, D]
  int64_t layers = 0;        // the decoder layers, norms and biases included
  int64_t layer_matmul = 0;  // q/k/v/o + gate/up/down weights of all layers:
                             // multiply-adds per token in the decoder
  int64_t lm_head = 0;       // [V, D] multiply-adds per logits position (also when tied)
};
LlamaParameterCount CountLlamaParameters(const LlamaConfig& config);

// Writes dir/model.safetensors (metadata: format=pt, `source`) and then
// dir/config.json (config.ToJson()), each atomically (temp file + rename),
// config.json last so that a folder with a config.json is complete. Creates
// `dir`. FAILED_PRECONDITION when `dir` holds model.safetensors.index.json or
// adapter_config.json (Load would read those instead of / on top of the new
// weights); errors name the path.
Status WriteLlamaFolder(const std::string& dir, const LlamaConfig& config,
                        const std::map<std::string, torch::Tensor>& weights,
                        const std::string& source = "random init");

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_RANDOM_INIT_H_
