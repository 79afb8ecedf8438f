// llama2.c checkpoint import: bad headers and truncated files fail cleanly;
// LlamaModel::Create names missing or misshapen weights.
#include "base/file.h"
#include "model/llm/llama2c.h"

#include <gtest/gtest.h>

#include <fstream>

#include "base/json.h"
#include "model/llm/tokenizers/llama2c_tokenizer.h"
#include "model/llm/llama_model.h"
#include "tests/model/llm/shared_data.h"

namespace sasrecllm::llm {
namespace {

using testing::Stories260kDir;
using testing::TempDir;

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string Header(std::vector<int32_t> fields) {
  return std::string(reinterpret_cast<const char*>(fields.data()), fields.size() * 4);
}

bool Contains(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

TEST(Llama2cTest, MissingCheckpointIsNotFound) {
  StatusOr<Llama2cCheckpoint> c = ReadLlama2cCheckpoint("/nonexistent/model.bin");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
}

TEST(Llama2cTest, BadHeadersAreRejectedNamingTheField) {
  TempDir dir;
  const std::string path = dir.path() + "/bad.bin";
  WriteBytes(path, Header({64, 172, 5, 3, 3, 512, 512}) + std::string(64, '\0'));
  StatusOr<Llama2cCheckpoint> c = ReadLlama2cCheckpoint(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(c.status(), "n_heads")) << c.status();

  WriteBytes(path, Header({64, 172, 0, 8, 4, 512, 512}));
  c = ReadLlama2cCheckpoint(path);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(Contains(c.status(), "n_layers")) << c.status();

  WriteBytes(path, Header({64, 172, 5, 8, 3, 512, 512}));
  c = ReadLlama2cCheckpoint(path);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(Contains(c.status(), "n_kv_heads")) << c.status();

  WriteBytes(path, std::string(10, '\1'));
  c = ReadLlama2cCheckpoint(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(c.status(), "header")) << c.status();

  WriteBytes(path, Header({0x616b3432, 1, 0, 0, 0, 0, 0}));
  c = ReadLlama2cCheckpoint(path);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(Contains(c.status(), "ak42")) << c.status();
}

TEST(Llama2cTest, AHugeHeaderIsATruncatedFileNotAnOverflow) {
  // 2^30 everywhere implies ~2^93 bytes; in int64 arithmetic the size wraps
  // to a negative number and the file looked like one with trailing bytes.
  TempDir dir;
  const std::string path = dir.path() + "/huge.bin";
  const int32_t big = 1 << 30;
  WriteBytes(path, Header({big, big, big, 2, 2, big, big}) + std::string(64, '\0'));
  StatusOr<Llama2cCheckpoint> c = ReadLlama2cCheckpoint(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(c.status(), "(truncated)")) << c.status();
}

TEST(Llama2cTest, TinySyntheticCheckpointConvertsAndRuns) {
  // dim 8, hidden 12, 1 layer, 2 heads, 1 kv head, untied vocab 6, seq_len 4.
  const int d = 8, f = 12, v = 6, seq = 4, kvd = 4;
  const int64_t floats = v * d + d + d * d + 2 * kvd * d + d * d + d + 3 * f * d + d +
                         2 * seq * 2 + v * d;
  torch::manual_seed(7);
  torch::Tensor data = torch::randn({floats}, torch::kFloat) * 0.1;  // [floats]
  std::string bytes = Header({d, f, 1, 2, 1, -v, seq});
  bytes.append(reinterpret_cast<const char*>(data.data_ptr<float>()), floats * 4);
  TempDir dir;
  WriteBytes(dir.path() + "/tiny.bin", bytes);
  StatusOr<Llama2cCheckpoint> c = ReadLlama2cCheckpoint(dir.path() + "/tiny.bin");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->config.tie_word_embeddings);
  ASSERT_EQ(c->weights.count("lm_head.weight"), 1u);
  // wcls is the last v*d floats.
  EXPECT_TRUE(torch::equal(c->weights["lm_head.weight"].reshape({-1}), data.narrow(0, floats - v * d, v * d)));
  StatusOr<std::unique_ptr<LlamaModel>> m =
      LlamaModel::Create(c->config, c->weights, LlamaModel::Options());
  ASSERT_TRUE(m.ok()) << m.status();
  StatusOr<torch::Tensor> logits = (*m)->Forward(torch::tensor({{1, 2, 3}}, torch::kLong), nullptr);
  ASSERT_TRUE(logits.ok()) << logits.status();
  EXPECT_EQ(logits->sizes(), (std::vector<int64_t>{1, 3, v}));

  // One byte short: DATA_LOSS naming both sizes.
  WriteBytes(dir.path() + "/short.bin", bytes.substr(0, bytes.size() - 1));
  StatusOr<Llama2cCheckpoint> s = ReadLlama2cCheckpoint(dir.path() + "/short.bin");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(s.status(), "truncated")) << s.status();
  EXPECT_TRUE(Contains(s.status(), std::to_string(bytes.size()))) << s.status();
}

TEST(Llama2cTest, PermuteForHfRotaryMatchesHfConvertScript) {
  // One head of size 4: interleaved rows (0,1),(2,3) become halves [0,2 | 1,3].
  torch::Tensor w = torch::arange(4, torch::kFloat).view({4, 1});  // [4, 1]
  torch::Tensor p = PermuteForHfRotary(w, 1);
  EXPECT_TRUE(torch::equal(p.view({-1}), torch::tensor({0.f, 2.f, 1.f, 3.f})));
}

TEST(Llama2cTest, TruncatedStories260kCheckpointIsDataLoss) {
  SASRECLLM_REQUIRE_SHARED(Stories260kDir() + "/stories260K.bin");
  StatusOr<std::string> bytes = ReadFileToString(Stories260kDir() + "/stories260K.bin");
  ASSERT_TRUE(bytes.ok());
  TempDir dir;
  WriteBytes(dir.path() + "/cut.bin", bytes->substr(0, bytes->size() / 2));
  StatusOr<Llama2cCheckpoint> c = ReadLlama2cCheckpoint(dir.path() + "/cut.bin");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(c.status(), "truncated")) << c.status();

  // The tokenizer, cut in the middle of a token.
  StatusOr<std::string> tok = ReadFileToString(Stories260kDir() + "/tok512.bin");
  ASSERT_TRUE(tok.ok());
  WriteBytes(dir.path() + "/tok.bin", tok->substr(0, 1000));
  StatusOr<std::unique_ptr<Llama2cTokenizer>> t =
      Llama2cTokenizer::Load(dir.path() + "/tok.bin", 512);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(t.status(), "truncated at token")) << t.status();
}

// Found by fuzz/tokenizer_files (fuzz/regressions/tokenizer_files/): a
// tokenizer.bin with fewer than the 256 byte-fallback tokens made Encode index
// past its vocabulary (run.c's byte + 3). Such bytes are now <unk>.
TEST(Llama2cTest, AShortVocabularyEncodesUnknownBytesAsUnk) {
  TempDir dir;
  std::string bin = Header({8});  // max_token_length
  for (const std::string piece : {"<unk>", "<s>", "</s>", "a", "b"}) {
    const float score = 0;
    bin += std::string(reinterpret_cast<const char*>(&score), 4);
    bin += Header({static_cast<int32_t>(piece.size())}) + piece;
  }
  WriteBytes(dir.path() + "/short.bin", bin);
  StatusOr<std::unique_ptr<Llama2cTokenizer>> t = Llama2cTokenizer::Load(dir.path() + "/short.bin");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ((*t)->vocab_size(), 5);
  // "a" is in the vocabulary; " " (the dummy prefix), "\xc3\xa9" and "z" are
  // not, and their bytes (+3 = 35, 198, 173, 125) lie past id 4.
  const std::vector<int> ids = (*t)->Encode("a\xc3\xa9z", /*bos=*/true, /*eos=*/true);
  EXPECT_EQ(ids, (std::vector<int>{1, 0, 3, 0, 0, 0, 2}));
}

TEST(Llama2cTest, CreateNamesMissingAndMisshapenWeights) {
  SASRECLLM_REQUIRE_SHARED(Stories260kDir() + "/stories260K.bin");
  StatusOr<Llama2cCheckpoint> c = ReadLlama2cCheckpoint(Stories260kDir() + "/stories260K.bin");
  ASSERT_TRUE(c.ok()) << c.status();

  auto missing = c->weights;
  missing.erase("model.layers.3.mlp.up_proj.weight");
  StatusOr<std::unique_ptr<LlamaModel>> m =
      LlamaModel::Create(c->config, missing, LlamaModel::Options());
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(Contains(m.status(), "model.layers.3.mlp.up_proj.weight")) << m.status();

  auto wrong = c->weights;
  wrong["model.layers.1.self_attn.k_proj.weight"] = torch::zeros({64, 64});
  m = LlamaModel::Create(c->config, wrong, LlamaModel::Options());
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(Contains(m.status(), "model.layers.1.self_attn.k_proj.weight")) << m.status();
  EXPECT_TRUE(Contains(m.status(), "[32, 64]")) << m.status();

  LlamaConfig fewer = c->config;
  fewer.num_hidden_layers = 4;
  m = LlamaModel::Create(fewer, c->weights, LlamaModel::Options());
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(Contains(m.status(), "model.layers.4.")) << m.status();
}

}  // namespace
}  // namespace sasrecllm::llm
