// SpmTokenizer against llama.cpp's llama-spm tokenizer test vectors
// (../shared/tokenizers/llama2-spm, MIT; see its README): 46 inputs in
// ggml-vocab-llama-spm.gguf.inp, separated by "\n__ggml_vocab_test__\n",
// and on the same line of the .out file the expected ids without BOS. The
// Llama-2 convention (add_dummy_prefix) puts a "▁" before every input, so
// " Hello" is 29871 15043 ("▁" "▁Hello") and "" is no ids at all.
#if SASRECLLM_HAVE_SENTENCEPIECE

#include "model/llm/tokenizers/spm_tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "tests/model/llm/shared_data.h"
#include "tests/model/llm/tokenizers/vocab_test_vectors.h"

namespace sasrecllm::llm {
namespace {

std::string SpmDir() { return testing::SharedDir() + "/tokenizers/llama2-spm"; }

TEST(SpmTokenizerTest, LoadNamesTheMissingFile) {
  StatusOr<std::unique_ptr<SpmTokenizer>> tok = SpmTokenizer::Load("/nonexistent/tokenizer.model");
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kNotFound);
  EXPECT_NE(tok.status().message().find("/nonexistent/tokenizer.model"), std::string::npos);
}

TEST(SpmTokenizerTest, LoadNamesTheMalformedFile) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/bad.model";
  std::ofstream(path) << "not a sentencepiece model";
  StatusOr<std::unique_ptr<SpmTokenizer>> tok = SpmTokenizer::Load(path);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(tok.status().message().find(path), std::string::npos);
}

TEST(SpmTokenizerTest, Llama2ModelHasLlamaSpecialTokens) {
  const std::string model = SpmDir() + "/tokenizer.model";
  SASRECLLM_REQUIRE_SHARED(model);
  StatusOr<std::unique_ptr<SpmTokenizer>> tok = SpmTokenizer::Load(model);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->vocab_size(), 32000);
  EXPECT_EQ((*tok)->bos_id(), 1);
  EXPECT_EQ((*tok)->eos_id(), 2);
  EXPECT_EQ((*tok)->Encode("Hello world", /*bos=*/true, /*eos=*/true),
            (std::vector<int>{1, 15043, 3186, 2}));
  EXPECT_EQ((*tok)->Encode("", /*bos=*/true, /*eos=*/false), std::vector<int>{1});
  // BOS/EOS are control tokens: they decode to nothing; bad ids are dropped.
  EXPECT_EQ((*tok)->Decode({1, 15043, 3186, 2, -1, 32000}), "Hello world");
}

// Every llama.cpp llama-spm vector encodes to exactly its ids (no BOS) and
// decodes back to its input. Decoding is symmetric for this model: its
// normalizer is the identity (no NFKC, no whitespace collapsing), and
// Decode drops exactly the one dummy-prefix space that Encode added, so
// inputs with leading spaces, tabs and newlines round-trip byte for byte.
TEST(SpmTokenizerTest, MatchesLlamaCppLlamaSpmVectors) {
  const std::string model = SpmDir() + "/tokenizer.model";
  const std::string inp = SpmDir() + "/ggml-vocab-llama-spm.gguf.inp";
  const std::string out = SpmDir() + "/ggml-vocab-llama-spm.gguf.out";
  SASRECLLM_REQUIRE_SHARED(model);
  SASRECLLM_REQUIRE_SHARED(inp);
  SASRECLLM_REQUIRE_SHARED(out);
  StatusOr<std::unique_ptr<SpmTokenizer>> tok = SpmTokenizer::Load(model);
  ASSERT_TRUE(tok.ok()) << tok.status();

  const std::vector<std::string> inputs = testing::ReadInputs(inp);
  const std::vector<std::vector<int>> outputs = testing::ReadOutputs(out);
  ASSERT_EQ(inputs.size(), 46u) << inp;
  ASSERT_EQ(outputs.size(), inputs.size()) << out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<int> ids = (*tok)->Encode(inputs[i], /*bos=*/false, /*eos=*/false);
    EXPECT_EQ(testing::Join(ids), testing::Join(outputs[i]))
        << "vector " << i << ": \"" << inputs[i] << "\"";
    EXPECT_EQ((*tok)->Decode(outputs[i]), inputs[i]) << "vector " << i;
  }
}

}  // namespace
}  // namespace sasrecllm::llm

#endif  // SASRECLLM_HAVE_SENTENCEPIECE
