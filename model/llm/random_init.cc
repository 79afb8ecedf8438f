#include "model/llm/random_init.h"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <system_error>

#include "base/file.h"
#include "base/json.h"
#include "model/safetensors.h"
#include "model/torch_errors.h"

namespace sasrecllm::llm {

LlamaConfig DefaultRandomLlamaConfig() {
  LlamaConfig c;
  c.model_type = "llama";
  c.hidden_size = 768;
  c.intermediate_size = 2048;
  c.num_hidden_layers = 12;
  c.num_attention_heads = 12;
  c.num_key_value_heads = 12;
  c.vocab_size = 32000;
  c.max_position_embeddings = 2048;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = false;
  c.attention_bias = false;
  c.bos_token_id = 1;
  c.eos_token_id = 2;
  c.torch_dtype = "float32";
  return c;
}

StatusOr<std::map<std::string, torch::Tensor>> RandomLlamaWeights(const LlamaConfig& config,
                                                                  uint64_t seed, torch::Dtype dtype,
                                                                  double stddev) {
  SASRECLLM_RETURN_IF_ERROR(config.Validate());
  if (!(stddev > 0.0)) {
    return InvalidArgumentError("RandomLlamaWeights: stddev must be > 0, got " +
                                std::to_string(stddev));
  }
  torch::NoGradGuard no_grad;
  try {
    // Drawn in float32 in a fixed order (the map's name order), then cast:
    // a bfloat16 model is the rounded float32 one of the same seed.
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const std::map<std::string, std::vector<int64_t>> shapes = LlamaWeightShapes(config);
    std::map<std::string, torch::Tensor> weights;
    for (const auto& [name, shape] : shapes) {
      torch::Tensor t;
      if (name.find("norm.weight") != std::string::npos) {
        t = torch::ones(shape, torch::kFloat32);  // RMSNorm gain
      } else if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
        t = torch::zeros(shape, torch::kFloat32);
      } else {
        t = torch::empty(shape, torch::kFloat32).normal_(0.0, stddev, gen);
      }
      weights[name] = t.to(dtype);
    }
    return weights;
  } catch (const std::exception& e) {
    return ResourceExhaustedError(std::string("RandomLlamaWeights: ") + TorchErrorMessage(e));
  }
}

LlamaParameterCount CountLlamaParameters(const LlamaConfig& config) {
  const int64_t d = config.hidden_size, f = config.intermediate_size, v = config.vocab_size;
  const int64_t q_dim = config.num_attention_heads * config.head_dim();
  const int64_t kv_dim = config.kv_dim();
  const int64_t per_layer_matmul = 2 * q_dim * d + 2 * kv_dim * d + 3 * f * d;
  const int64_t per_layer =
      per_layer_matmul + 2 * d + (config.attention_bias ? q_dim + 2 * kv_dim : 0);
  LlamaParameterCount count;
  count.embedding = v * d;
  count.lm_head = v * d;
  count.layer_matmul = config.num_hidden_layers * per_layer_matmul;
  count.layers = config.num_hidden_layers * per_layer;
  count.total =
      count.embedding + count.layers + d + (config.tie_word_embeddings ? 0 : count.lm_head);
  return count;
}

Status WriteLlamaFolder(const std::string& dir, const LlamaConfig& config,
                        const std::map<std::string, torch::Tensor>& weights,
                        const std::string& source) {
  SASRECLLM_RETURN_IF_ERROR(config.Validate());
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InternalError("cannot create " + dir + ": " + ec.message());
  for (const char* shadow : {"model.safetensors.index.json", "adapter_config.json"}) {
    const std::string path = dir + "/" + shadow;
    if (std::filesystem::exists(path, ec)) {
      return FailedPreconditionError(path + " exists: LlamaModel::Load would read it " +
                                     "instead of or on top of the new weights; use an empty "
                                     "folder");
    }
  }
  SASRECLLM_RETURN_IF_ERROR(model::WriteSafetensors(dir + "/model.safetensors", weights,
                                                    {{"format", "pt"}, {"source", source}}));
  return WriteStringToFile(dir + "/config.json", DumpJson(config.ToJson(), 2) + "\n");
}

}  // namespace sasrecllm::llm
