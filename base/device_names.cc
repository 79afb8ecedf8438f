#include "base/device_names.h"

#include <charconv>

namespace sasrecllm {

std::string DeviceName::ToString() const {
  if (!cuda) return "cpu";
  if (cuda_index < 0) return "cuda";
  return "cuda:" + std::to_string(cuda_index);
}

StatusOr<DeviceName> ParseDeviceName(std::string_view name) {
  DeviceName device;
  if (name == "cpu") return device;
  device.cuda = true;
  if (name == "cuda") return device;
  constexpr std::string_view kCudaPrefix = "cuda:";
  if (name.substr(0, kCudaPrefix.size()) == kCudaPrefix) {
    const std::string_view index = name.substr(kCudaPrefix.size());
    int value = -1;
    auto [ptr, ec] = std::from_chars(index.data(), index.data() + index.size(), value);
    if (!index.empty() && ec == std::errc() && ptr == index.data() + index.size() && value >= 0) {
      device.cuda_index = value;
      return device;
    }
  }
  return InvalidArgumentError("unknown device \"" + std::string(name) +
                              "\" (expected cpu, cuda or cuda:N)");
}

StatusOr<DtypeName> ParseDtypeName(std::string_view name) {
  if (name == "float32" || name == "fp32" || name == "float") return DtypeName::kFloat32;
  if (name == "bfloat16" || name == "bf16") return DtypeName::kBFloat16;
  if (name == "float16" || name == "fp16" || name == "half") return DtypeName::kFloat16;
  return InvalidArgumentError("unknown dtype \"" + std::string(name) +
                              "\" (expected float32, bfloat16 or float16)");
}

const char* DtypeNameString(DtypeName dtype) {
  switch (dtype) {
    case DtypeName::kFloat32: return "float32";
    case DtypeName::kBFloat16: return "bfloat16";
    case DtypeName::kFloat16: return "float16";
  }
  return "float32";
}

}  // namespace sasrecllm
