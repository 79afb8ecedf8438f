// A sharded LLM folder through LlamaModel::Load: the input, cut at "\n--\n",
// is model.safetensors.index.json and the two shards it may name,
// model-00001-of-00002.safetensors and model-00002-of-00002.safetensors;
// config.json is the tiny model's (tiny_llama.h). The weight_map's file names
// (which must not leave the folder), its weight names against the shards'
// contents, and each shard's header and data.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/file.h"
#include "base/json.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/tiny_llama.h"
#include "model/llm/llama_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fz = sasrecllm::fuzz;
  static const std::string dir = [] {
    const std::filesystem::path d = fz::ScratchDir() / "sharded";
    std::filesystem::create_directories(d);
    fz::WriteInput("sharded/config.json",
                   sasrecllm::DumpJson(fz::TinyLlamaConfig().ToJson()));
    return d.string();
  }();
  const std::vector<std::string_view> parts = fz::SplitInParts(fz::AsText(data, size), 3);
  fz::WriteInput("sharded/model.safetensors.index.json", parts[0]);
  fz::WriteInput("sharded/model-00001-of-00002.safetensors", parts[1]);
  fz::WriteInput("sharded/model-00002-of-00002.safetensors", parts[2]);
  sasrecllm::llm::LlamaModel::Options options;
  options.merge_adapter = false;  // the adapter files have a target of their own
  (void)sasrecllm::llm::LlamaModel::Load(dir, options);
  return 0;
}
