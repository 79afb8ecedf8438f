// Small, seeded building blocks for the hybrid tests: a byte-level fake
// tokenizer, a tiny random Llama that matches it, a tiny SASRec and a
// synthetic labelled data set with planted structure.
#ifndef SASRECLLM_TESTS_MODEL_HYBRID_TEST_PARTS_H_
#define SASRECLLM_TESTS_MODEL_HYBRID_TEST_PARTS_H_

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/file.h"
#include "model/hybrid/hybrid_model.h"
#include "base/json.h"
#include "model/safetensors.h"
#include "model/llm/llama_model.h"
#include "model/llm/tokenizers/tokenizer.h"
#include "model/sasrec.h"
#include "tests/model/llm/shared_data.h"
#include "tests/model/llm/tiny_model.h"

namespace sasrecllm::hybrid::testing {

// One token per byte (id = byte + 3), BOS 1, EOS 2; the leading-space rule
// puts a " " token first, like llama2.c's dummy prefix.
class ByteTokenizer : public llm::Tokenizer {
 public:
  std::vector<int> Encode(std::string_view text, bool bos, bool eos,
                          bool leading_space) const override {
    std::vector<int> ids;
    if (bos) ids.push_back(1);
    if (leading_space && !text.empty()) ids.push_back(' ' + 3);
    for (unsigned char c : text) ids.push_back(c + 3);
    if (eos) ids.push_back(2);
    return ids;
  }
  std::string Decode(const std::vector<int>& ids) const override {
    std::string out;
    for (int id : ids) {
      if (id >= 3 && id < 259) out.push_back(static_cast<char>(id - 3));
    }
    return out;
  }
  int vocab_size() const override { return 259; }
  int bos_id() const override { return 1; }
  int eos_id() const override { return 2; }
  int PieceToId(std::string_view piece) const override {
    return piece.size() == 1 ? static_cast<unsigned char>(piece[0]) + 3 : -1;
  }
  std::string kind() const override { return "test-bytes"; }
};

inline llm::LlamaConfig TinyLlamaConfig() {
  return llm::testing::SmallLlamaConfig(/*hidden=*/32, /*intermediate=*/48, /*vocab=*/259,
                                        /*max_positions=*/2048);
}

inline std::map<std::string, torch::Tensor> TinyLlamaWeights(const llm::LlamaConfig& c,
                                                              uint64_t seed) {
  torch::manual_seed(seed);
  const int64_t d = c.hidden_size, f = c.intermediate_size, v = c.vocab_size;
  const int64_t q = c.num_attention_heads * c.head_dim(), kv = c.kv_dim();
  std::map<std::string, torch::Tensor> w;
  w["model.embed_tokens.weight"] = torch::randn({v, d}) * 0.5;
  w["model.norm.weight"] = torch::ones({d});
  w["lm_head.weight"] = torch::randn({v, d}) * 0.2;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    w[p + "input_layernorm.weight"] = torch::ones({d});
    w[p + "post_attention_layernorm.weight"] = torch::ones({d});
    w[p + "self_attn.q_proj.weight"] = torch::randn({q, d}) * 0.2;
    w[p + "self_attn.k_proj.weight"] = torch::randn({kv, d}) * 0.2;
    w[p + "self_attn.v_proj.weight"] = torch::randn({kv, d}) * 0.2;
    w[p + "self_attn.o_proj.weight"] = torch::randn({d, q}) * 0.2;
    w[p + "mlp.gate_proj.weight"] = torch::randn({f, d}) * 0.2;
    w[p + "mlp.up_proj.weight"] = torch::randn({f, d}) * 0.2;
    w[p + "mlp.down_proj.weight"] = torch::randn({d, f}) * 0.2;
  }
  return w;
}

inline std::shared_ptr<const llm::LlamaModel> TinyLlama(uint64_t seed = 5) {
  auto m = llm::LlamaModel::Create(TinyLlamaConfig(), TinyLlamaWeights(TinyLlamaConfig(), seed),
                                   llm::LlamaModel::Options());
  return m.ok() ? std::shared_ptr<const llm::LlamaModel>(std::move(m).value()) : nullptr;
}

inline model::Sasrec TinySasrec(int64_t item_num, uint64_t seed = 9) {
  torch::manual_seed(seed);
  model::SasrecConfig c;
  c.item_num = item_num;
  c.maxlen = 8;
  c.hidden_units = 16;
  c.num_blocks = 1;
  c.num_heads = 1;
  c.dropout_rate = 0.2;
  model::Sasrec s(c);
  s->eval();
  return s;
}

// Everything HybridModel needs, with the CoLLM template.
inline HybridModel::Parts TinyParts(int64_t item_num) {
  HybridModel::Parts parts;
  parts.llm = TinyLlama();
  parts.tokenizer = std::make_shared<ByteTokenizer>();
  parts.sasrec = TinySasrec(item_num);
  torch::manual_seed(13);
  parts.mapping = MappingLayer(16, 32);
  parts.max_titles = 3;
  return parts;
}

// TinyParts with the text-only (TALLRec) template: no SASRec, no mapping layer.
inline HybridModel::Parts TextOnlyParts(int64_t item_num) {
  HybridModel::Parts parts = TinyParts(item_num);
  parts.prompt_template = PromptTemplate::TallrecMovie();
  parts.sasrec = nullptr;
  parts.mapping = nullptr;
  return parts;
}

// Items 1..n in two groups (odd / even ids, titles "Odd 7" / "Even 4"). A
// user likes the target when it is in the group of most of the history.
inline std::vector<HybridExample> PlantedExamples(int64_t count, int64_t item_num, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto title = [](int64_t id) { return std::string(id % 2 ? "Odd " : "Even ") + std::to_string(id); };
  std::vector<HybridExample> out;
  for (int64_t i = 0; i < count; ++i) {
    HybridExample e;
    const int group = static_cast<int>(rng() % 2);
    const int64_t len = 1 + static_cast<int64_t>(rng() % 5);
    for (int64_t j = 0; j < len; ++j) {
      int64_t id = 1 + static_cast<int64_t>(rng() % (item_num / 2)) * 2 + (group == 0 ? 0 : 1);
      id = std::min(id, item_num);
      e.history.push_back(id);
      e.history_titles.push_back(title(id));
    }
    e.target = 1 + static_cast<int64_t>(rng() % item_num);
    e.target_title = title(e.target);
    e.label = ((e.target % 2 == 1) == (group == 0)) ? 1.0f : 0.0f;
    out.push_back(std::move(e));
  }
  return out;
}

// Writes an HF-layout folder with the tiny Llama (vocab 260) and a
// llama2.c tokenizer.bin whose pieces are "<unk>", BOS, EOS, the 256 byte
// tokens "<0x00>".."<0xFF>" (ids 3..258) and " " (259, the dummy prefix):
// every character falls back to its bytes, like ByteTokenizer.
inline bool WriteTinyLlmFolder(const std::string& dir) {
  std::filesystem::create_directories(dir);
  llm::LlamaConfig config = TinyLlamaConfig();
  config.vocab_size = 260;
  if (!WriteStringToFile(dir + "/config.json", DumpJson(config.ToJson(), 2)).ok()) return false;
  if (!model::WriteSafetensors(dir + "/model.safetensors", TinyLlamaWeights(config, 5)).ok()) {
    return false;
  }
  std::vector<std::string> pieces = {"<unk>", "\n<s>\n", "\n</s>\n"};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
    pieces.push_back(buf);
  }
  pieces.push_back(" ");
  std::FILE* f = std::fopen((dir + "/tokenizer.bin").c_str(), "wb");
  if (f == nullptr) return false;
  const int max_len = 7;
  std::fwrite(&max_len, sizeof(int), 1, f);
  for (const std::string& p : pieces) {
    const float score = 0;
    const int len = static_cast<int>(p.size());
    std::fwrite(&score, sizeof(float), 1, f);
    std::fwrite(&len, sizeof(int), 1, f);
    std::fwrite(p.data(), 1, p.size(), f);
  }
  return std::fclose(f) == 0;
}

// The LLM tests' temporary directory (removed by its destructor).
using ::sasrecllm::llm::testing::TempDir;

}  // namespace sasrecllm::hybrid::testing

#endif  // SASRECLLM_TESTS_MODEL_HYBRID_TEST_PARTS_H_
