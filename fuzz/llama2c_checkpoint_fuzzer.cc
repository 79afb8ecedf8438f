// A llama2.c checkpoint (.bin: a 7-int32 header, then float32 weights) from
// arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "model/llm/llama2c.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      sasrecllm::fuzz::WriteInput("model.bin", sasrecllm::fuzz::AsText(data, size));
  (void)sasrecllm::llm::ReadLlama2cCheckpoint(path);
  return 0;
}
