// A .safetensors file from arbitrary bytes: the 8-byte header length, the
// JSON header (dtypes, shapes, offsets, __metadata__) and the data section.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "fuzz/fuzz_input.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      sasrecllm::fuzz::WriteInput("model.safetensors", sasrecllm::fuzz::AsText(data, size));
  std::map<std::string, std::string> metadata;
  (void)sasrecllm::model::ReadSafetensors(path, &metadata);
  return 0;
}
