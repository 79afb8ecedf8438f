#include "model/torch_device.h"

namespace sasrecllm::model {

bool FlushDenormalsToZero() { return at::globalContext().setFlushDenormal(true); }

StatusOr<torch::Device> TorchDevice(const DeviceName& device) {
  if (!device.cuda) return torch::Device(torch::kCPU);
  if (!torch::cuda::is_available()) {
    return FailedPreconditionError("device " + device.ToString() +
                                   ": CUDA is not available in this build or on this machine");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(device.cuda_index));
}

StatusOr<torch::Device> TorchDevice(std::string_view name) {
  SASRECLLM_ASSIGN_OR_RETURN(DeviceName device, ParseDeviceName(name));
  return TorchDevice(device);
}

torch::ScalarType TorchDtype(DtypeName dtype) {
  switch (dtype) {
    case DtypeName::kFloat32: return torch::kFloat32;
    case DtypeName::kBFloat16: return torch::kBFloat16;
    case DtypeName::kFloat16: return torch::kFloat16;
  }
  return torch::kFloat32;
}

StatusOr<torch::ScalarType> TorchDtype(std::string_view name) {
  SASRECLLM_ASSIGN_OR_RETURN(DtypeName dtype, ParseDtypeName(name));
  return TorchDtype(dtype);
}

}  // namespace sasrecllm::model
