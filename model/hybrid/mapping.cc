#include "model/hybrid/mapping.h"

#include "model/safetensors.h"

namespace sasrecllm::hybrid {

MappingLayerImpl::MappingLayerImpl(int64_t d_rec, int64_t d_llm) : d_rec_(d_rec), d_llm_(d_llm) {
  up_ = register_module("up", torch::nn::Linear(d_rec, 5 * d_rec));
  down_ = register_module("down", torch::nn::Linear(5 * d_rec, d_llm));
}

torch::Tensor MappingLayerImpl::forward(const torch::Tensor& x) {
  // In the layer's own dtype: a served SASRec may run in bfloat16 while the
  // mapping stays float32.
  const torch::Tensor in = x.scalar_type() == up_->weight.scalar_type()
                               ? x
                               : x.to(up_->weight.scalar_type());  // [..., d_rec]
  return down_->forward(torch::relu(up_->forward(in)));  // [..., d_llm]
}

std::map<std::string, torch::Tensor> MappingLayerImpl::StateDict() const {
  auto cpu = [](const torch::Tensor& t) { return t.detach().to(torch::kCPU, torch::kFloat).contiguous(); };
  return {{"mapping.0.weight", cpu(up_->weight)},
          {"mapping.0.bias", cpu(up_->bias)},
          {"mapping.2.weight", cpu(down_->weight)},
          {"mapping.2.bias", cpu(down_->bias)}};
}

Status MappingLayerImpl::LoadStateDict(const std::map<std::string, torch::Tensor>& tensors) {
  std::map<std::string, torch::Tensor> expected = {{"mapping.0.weight", up_->weight},
                                                   {"mapping.0.bias", up_->bias},
                                                   {"mapping.2.weight", down_->weight},
                                                   {"mapping.2.bias", down_->bias}};
  for (const auto& [name, tensor] : tensors) {
    if (expected.count(name) == 0) return InvalidArgumentError("unexpected tensor " + name);
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, param] : expected) {
    auto it = tensors.find(name);
    if (it == tensors.end()) return InvalidArgumentError("missing tensor " + name);
    if (it->second.sizes() != param.sizes()) {
      return InvalidArgumentError("tensor " + name + " has shape " +
                                  c10::str(it->second.sizes()) + ", expected " +
                                  c10::str(param.sizes()));
    }
    param.copy_(it->second.to(param.device(), param.scalar_type()));
  }
  return OkStatus();
}

Status SaveMapping(const MappingLayer& mapping, const std::string& path) {
  return model::WriteSafetensors(path, mapping->StateDict());
}

StatusOr<MappingLayer> LoadMapping(const std::string& path) {
  SASRECLLM_ASSIGN_OR_RETURN(auto tensors, model::ReadSafetensors(path));
  auto it = tensors.find("mapping.0.weight");
  auto jt = tensors.find("mapping.2.weight");
  if (it == tensors.end() || jt == tensors.end() || it->second.dim() != 2 || jt->second.dim() != 2) {
    return InvalidArgumentError(path + ": missing 2-D mapping.0.weight or mapping.2.weight");
  }
  MappingLayer mapping(it->second.size(1), jt->second.size(0));
  Status s = mapping->LoadStateDict(tensors);
  if (!s.ok()) return s.WithPrefix(path);
  return mapping;
}

}  // namespace sasrecllm::hybrid
