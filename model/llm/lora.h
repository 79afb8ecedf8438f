// LoRA (Hu et al., 2021) for the Llama decoder: a side table of low-rank
// updates keyed by the weight they adapt (llama.cpp's llama-adapter idea).
// For a target linear y = x W^T, the adapted layer computes
//   y = x W^T + scaling * dropout(x) A^T B^T,   scaling = alpha / r,
// with A [r, in] and B [out, r] trainable and W frozen. Merging folds the
// update into W (W' = W + scaling * B A) for serving: same outputs, no extra
// cost.
//
// Files: PEFT's adapter layout, so adapters trained with Hugging Face PEFT
// load here and ours load there:
//   adapter_config.json        {"peft_type": "LORA", "r": 8, "lora_alpha": 16,
//                               "lora_dropout": 0.05, "target_modules": [...]}
//   adapter_model.safetensors  base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight ...
//
//   LoraConfig config;                               // r 8, alpha 16, q_proj + v_proj
//   SASRECLLM_ASSIGN_OR_RETURN(LoraAdapter lora, LoraAdapter::Init(llama_config, config, seed));
//   ForwardArgs args; args.lora = &lora; args.train = true;   // gradients reach lora.parameters()
//   SASRECLLM_ASSIGN_OR_RETURN(auto merged, model->Merged(lora));  // for serving
//
// Thread safety: a LoraAdapter is a set of tensors; reading it from several
// forward passes is safe, training it (an optimizer step) is not.
#ifndef SASRECLLM_MODEL_LLM_LORA_H_
#define SASRECLLM_MODEL_LLM_LORA_H_

#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/json.h"
#include "model/llm/llama_config.h"
#include "base/status.h"

namespace sasrecllm::llm {

// The linear layers of a decoder layer LoRA can adapt (HF module names).
inline const std::vector<std::string>& LoraModuleNames() {
  static const std::vector<std::string> kNames = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                  "gate_proj", "up_proj", "down_proj"};
  return kNames;
}

struct LoraConfig {
  int64_t r = 8;                  // rank; Default: 8 (SASRecLLM, CoLLM)
  double alpha = 16.0;            // Default: 16
  double dropout = 0.05;          // on the adapter's input, training only; Default: 0.05
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};  // Default: q_proj, v_proj

  double scaling() const { return alpha / static_cast<double>(r); }
  // INVALID_ARGUMENT naming the field: r >= 1, alpha > 0, 0 <= dropout < 1,
  // target_modules non-empty and each one of LoraModuleNames().
  Status Validate() const;
  // PEFT's adapter_config.json (keys r, lora_alpha, lora_dropout,
  // target_modules; peft_type must be "LORA" when present).
  static StatusOr<LoraConfig> FromPeftJson(const Json& json);
  Json ToPeftJson(const std::string& base_model_name) const;
};

class LoraAdapter {
 public:
  struct Pair {
    torch::Tensor a;  // [r, in]  (PEFT lora_A.weight)
    torch::Tensor b;  // [out, r] (PEFT lora_B.weight)
  };

  LoraAdapter() = default;

  // A fresh adapter for every layer and target module, PEFT's initialisation:
  // A ~ kaiming_uniform(a=sqrt(5)) (uniform in +-1/sqrt(in)), B = 0, so the
  // adapted model starts equal to the base. float32, requires_grad.
  static StatusOr<LoraAdapter> Init(const LlamaConfig& model_config, const LoraConfig& config,
                                    uint64_t seed, torch::Device device = torch::kCPU);

  // Reads DIR/adapter_config.json and DIR/adapter_model.safetensors and
  // checks every tensor against `model_config` (layer count, shapes, names).
  // Errors name the file and the tensor.
  static StatusOr<LoraAdapter> LoadPeft(const std::string& dir, const LlamaConfig& model_config,
                                        torch::Device device = torch::kCPU);
  // Writes the PEFT layout into DIR (created if needed; files replaced atomically).
  Status SavePeft(const std::string& dir, const std::string& base_model_name = "") const;

  const LoraConfig& config() const { return config_; }
  // The pair adapting layer `layer`'s `module` ("q_proj", ...), or nullptr.
  const Pair* Find(int64_t layer, const std::string& module) const;
  // Every A and B (for an optimizer), in a fixed order.
  std::vector<torch::Tensor> parameters() const;
  // PEFT names -> tensors (float32, CPU, contiguous).
  std::map<std::string, torch::Tensor> NamedTensors() const;
  // Copies `tensors` (PEFT names) into this adapter's A and B, checking
  // names and shapes (for resuming training).
  Status LoadNamedTensors(const std::map<std::string, torch::Tensor>& tensors);

  // The LoRA term for input x [..., in]: scaling * dropout(x) A^T B^T, [..., out].
  torch::Tensor Delta(const Pair& pair, const torch::Tensor& x, bool train) const;

 private:
  LoraConfig config_;
  std::map<std::pair<int64_t, std::string>, Pair> pairs_;  // (layer, module) -> A, B
};

// "base_model.model.model.layers.N.self_attn.q_proj" (PEFT's module path).
std::string PeftModulePath(int64_t layer, const std::string& module);

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_LORA_H_
