// The mapping layer of SASRecLLM / CoLLM: projects SASRec vectors (the
// user's sequence representation, an item's embedding) into the LLM's token
// embedding space, where they replace the prompt's slot tokens.
//   Linear(d_rec, 5 d_rec) -> ReLU -> Linear(5 d_rec, d_llm)
// One projector serves both slots (SASRecLLM's code: 64 -> 320 -> 2048).
//
//   MappingLayer mapping(/*d_rec=*/64, /*d_llm=*/2048);
//   torch::Tensor tokens = mapping->forward(vectors);   // [N, 64] -> [N, 2048]
//   SASRECLLM_RETURN_IF_ERROR(SaveMapping(mapping, "bundle/mapping.safetensors"));
//
// File: mapping.safetensors with "mapping.0.weight" [5 d_rec, d_rec],
// "mapping.0.bias" [5 d_rec], "mapping.2.weight" [d_llm, 5 d_rec],
// "mapping.2.bias" [d_llm] (torch.nn.Sequential's names).
//
// Thread safety: a torch module; concurrent forward passes in eval mode
// are safe, training is not.
#ifndef SASRECLLM_MODEL_HYBRID_MAPPING_H_
#define SASRECLLM_MODEL_HYBRID_MAPPING_H_

#include <torch/torch.h>

#include <map>
#include <string>

#include "base/status.h"

namespace sasrecllm::hybrid {

class MappingLayerImpl : public torch::nn::Module {
 public:
  MappingLayerImpl(int64_t d_rec, int64_t d_llm);

  int64_t d_rec() const { return d_rec_; }
  int64_t d_llm() const { return d_llm_; }

  // [..., d_rec] -> [..., d_llm]
  torch::Tensor forward(const torch::Tensor& x);

  // The file's names -> tensors (float32, CPU, contiguous).
  std::map<std::string, torch::Tensor> StateDict() const;
  // Checks names and shapes; errors name the tensor.
  Status LoadStateDict(const std::map<std::string, torch::Tensor>& tensors);

 private:
  int64_t d_rec_;
  int64_t d_llm_;
  torch::nn::Linear up_{nullptr};    // [5 d_rec, d_rec]
  torch::nn::Linear down_{nullptr};  // [d_llm, 5 d_rec]
};
TORCH_MODULE(MappingLayer);

Status SaveMapping(const MappingLayer& mapping, const std::string& path);
// Reads a mapping layer, its dims from the tensors' shapes. Errors name the file.
StatusOr<MappingLayer> LoadMapping(const std::string& path);

}  // namespace sasrecllm::hybrid

#endif  // SASRECLLM_MODEL_HYBRID_MAPPING_H_
