// The torch side of base/device_names.h: device and dtype names to
// torch::Device / torch::ScalarType, the one place that does it for the
// offline tool, the server and the benchmarks.
//
//   SASRECLLM_ASSIGN_OR_RETURN(options.device, TorchDevice(flags.device));  // "cuda:0"
//   SASRECLLM_ASSIGN_OR_RETURN(options.dtype, TorchDtype(flags.dtype));     // "bfloat16"
//
// Thread safety: pure functions (TorchDevice asks torch whether CUDA is there).
#ifndef SASRECLLM_MODEL_TORCH_DEVICE_H_
#define SASRECLLM_MODEL_TORCH_DEVICE_H_

#include <string_view>

#include <torch/torch.h>

#include "base/device_names.h"
#include "base/status.h"

namespace sasrecllm::model {

// INVALID_ARGUMENT for a name ParseDeviceName refuses; FAILED_PRECONDITION
// naming the device when it is a CUDA one and torch::cuda::is_available() is
// false (a CPU-only libtorch or no GPU).
StatusOr<torch::Device> TorchDevice(std::string_view name);
StatusOr<torch::Device> TorchDevice(const DeviceName& device);

// INVALID_ARGUMENT for a name ParseDtypeName refuses.
StatusOr<torch::ScalarType> TorchDtype(std::string_view name);
torch::ScalarType TorchDtype(DtypeName dtype);

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_TORCH_DEVICE_H_
