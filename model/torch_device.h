// The torch side of base/device_names.h: device and dtype names to
// torch::Device / torch::ScalarType, the one place that does it for the
// offline tool, the server and the benchmarks.
//
//   SASRECLLM_ASSIGN_OR_RETURN(options.device, TorchDevice(flags.device));  // "cuda:0"
//   SASRECLLM_ASSIGN_OR_RETURN(options.dtype, TorchDtype(flags.dtype));     // "bfloat16"
//
// FlushDenormalsToZero() is the CPU math setting every main() makes first.
//
// Thread safety: pure functions (TorchDevice asks torch whether CUDA is there),
// except FlushDenormalsToZero, which sets the calling thread's FP state.
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

// Sets flush-to-zero and denormals-are-zero on the calling thread; threads it
// creates later (OpenMP's, torch's inter-op pool, gRPC's) inherit the setting,
// so call it first in main(). Values below 1.2e-38 then count as 0. Why: on
// Intel CPUs every operation on a denormal operand takes a microcode assist
// (a matrix product whose rows were denormal ran 80x slower on this machine),
// and training makes them (softmax tails as attention sharpens, decaying
// gradients): point-wise SASRec epochs grew from 10 s to 40 s within 17
// epochs. Returns false where the CPU has no such mode.
bool FlushDenormalsToZero();

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_TORCH_DEVICE_H_
