// A PEFT LoRA adapter folder against the tiny model (tiny_llama.h): the input,
// cut at "\n--\n", is adapter_config.json and adapter_model.safetensors,
// loaded by LoraAdapter::LoadPeft (config, then every tensor's name, shape and
// dtype checked against the model) and, when that succeeds, merged into the
// model's weights as serving does.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "fuzz/tiny_llama.h"
#include "model/llm/llama_model.h"
#include "model/llm/lora.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fz = sasrecllm::fuzz;
  namespace llm = sasrecllm::llm;
  static const llm::LlamaConfig config = fz::TinyLlamaConfig();
  static const std::unique_ptr<llm::LlamaModel> base = [] {
    auto weights = llm::RandomLlamaWeights(config, /*seed=*/1);
    if (!weights.ok()) std::abort();
    auto model = llm::LlamaModel::Create(config, *weights, {});
    if (!model.ok()) std::abort();
    return std::move(*model);
  }();
  static const std::string dir = [] {
    const std::filesystem::path d = fz::ScratchDir() / "adapter";
    std::filesystem::create_directories(d);
    return d.string();
  }();
  const std::vector<std::string_view> parts = fz::SplitInParts(fz::AsText(data, size), 2);
  fz::WriteInput("adapter/adapter_config.json", parts[0]);
  fz::WriteInput("adapter/adapter_model.safetensors", parts[1]);
  auto adapter = llm::LoraAdapter::LoadPeft(dir, config);
  if (adapter.ok()) (void)base->Merged(*adapter);
  return 0;
}
