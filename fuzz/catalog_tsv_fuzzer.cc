// A bundle's catalog.tsv, and an items.tsv, from arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "model/catalog.h"
#include "model/interaction_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      sasrecllm::fuzz::WriteInput("catalog.tsv", sasrecllm::fuzz::AsText(data, size));
  auto catalog = sasrecllm::model::Catalog::ReadTsv(path);
  if (catalog.ok()) {
    for (const char* id : {"1", "0", "", "x"}) (void)catalog->FindById(id);
    for (int64_t index : {-1, 0, 1, 1 << 30}) (void)catalog->FindByIndex(index);
  }
  (void)sasrecllm::model::ReadItemsTsv(path);
  return 0;
}
