// A CoLLM split TSV (train.tsv, valid.tsv, test.tsv) from arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "base/collm_split.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)sasrecllm::ParseCollmSplit(sasrecllm::fuzz::AsText(data, size), "fuzz.tsv");
  return 0;
}
