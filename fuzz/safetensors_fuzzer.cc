// A .safetensors file from arbitrary bytes: the 8-byte header length, the
// JSON header (dtypes, shapes, offsets, __metadata__) and the data section.
// Read both ways, by copy and by memory map: the two readers must accept and
// refuse the same files and give the same bytes (a mapped tensor's bytes are
// read here, so an offset past the file's end would fault).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "fuzz/fuzz_input.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      sasrecllm::fuzz::WriteInput("model.safetensors", sasrecllm::fuzz::AsText(data, size));
  std::map<std::string, std::string> metadata, mapped_metadata;
  auto read = sasrecllm::model::ReadSafetensors(path, &metadata);
  auto mapped = sasrecllm::model::MapSafetensors(path, &mapped_metadata);
  if (read.ok() != mapped.ok()) std::abort();
  if (!read.ok()) return 0;
  if (read->size() != mapped->size() || metadata != mapped_metadata) std::abort();
  for (const auto& [name, tensor] : *read) {
    const auto it = mapped->find(name);
    if (it == mapped->end()) std::abort();
    const auto& other = it->second;
    if (tensor.dtype() != other.dtype() || tensor.sizes() != other.sizes() ||
        tensor.nbytes() != other.nbytes()) {
      std::abort();
    }
    if (tensor.nbytes() > 0 &&
        std::memcmp(tensor.data_ptr(), other.data_ptr(), tensor.nbytes()) != 0) {
      std::abort();
    }
  }
  return 0;
}
