// Every JSON file the loaders read, from arbitrary bytes: the parser
// (nlohmann-json through base/json.h, sorted and not), then the input as each
// file that is parsed from JSON: an LLM's config.json, a bundle's
// manifest.json (with its "files" list) and a PEFT adapter_config.json. Only
// errors may come back.
#include <cstddef>
#include <cstdint>

#include "base/json.h"
#include "fuzz/fuzz_input.h"
#include "model/bundle.h"
#include "model/bundle_files.h"
#include "model/llm/llama_config.h"
#include "model/llm/lora.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = sasrecllm::fuzz::AsText(data, size);
  (void)sasrecllm::ParseSortedJson(text, "fuzz.json");
  auto json = sasrecllm::ParseJson(text, "fuzz.json");
  if (!json.ok()) return 0;
  (void)sasrecllm::llm::LlamaConfig::FromJson(*json);
  if (auto manifest = sasrecllm::model::BundleManifest::FromJson(*json);
      manifest.ok() && manifest->files.is_object()) {
    // Its "files" entries and their paths (a folder that does not exist:
    // each listed file that passes the checks is then missing).
    (void)sasrecllm::model::VerifyBundleFiles("/nonexistent/fuzz-bundle", manifest->files);
  }
  (void)sasrecllm::llm::LoraConfig::FromPeftJson(*json);
  (void)sasrecllm::DumpJson(*json);
  return 0;
}
