// Device and dtype names as written on command lines and in configs, parsed
// without libtorch (model/torch_device.h turns them into torch types):
//   devices: "cpu", "cuda" (the current CUDA device), "cuda:N" (N >= 0)
//   dtypes:  "float32", "bfloat16", "float16" (and the aliases fp32 / float,
//            bf16, fp16 / half that Hugging Face configs and older flags use)
//
//   SASRECLLM_ASSIGN_OR_RETURN(DeviceName device, ParseDeviceName("cuda:1"));
//   device.cuda_index == 1; device.ToString() == "cuda:1"
//
// Thread safety: pure functions.
#ifndef SASRECLLM_BASE_DEVICE_NAMES_H_
#define SASRECLLM_BASE_DEVICE_NAMES_H_

#include <string>
#include <string_view>

#include "base/status.h"

namespace sasrecllm {

struct DeviceName {
  bool cuda = false;   // false: cpu
  int cuda_index = -1; // "cuda:N" -> N; -1 for "cuda" (the current device) and cpu

  // "cpu", "cuda" or "cuda:N".
  std::string ToString() const;
};

// INVALID_ARGUMENT `unknown device "NAME" (expected cpu, cuda or cuda:N)`.
StatusOr<DeviceName> ParseDeviceName(std::string_view name);

enum class DtypeName { kFloat32, kBFloat16, kFloat16 };

// INVALID_ARGUMENT `unknown dtype "NAME" (expected float32, bfloat16 or float16)`.
StatusOr<DtypeName> ParseDtypeName(std::string_view name);

// "float32", "bfloat16" or "float16" (what config.json's torch_dtype holds).
const char* DtypeNameString(DtypeName dtype);

}  // namespace sasrecllm

#endif  // SASRECLLM_BASE_DEVICE_NAMES_H_
