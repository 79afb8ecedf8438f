// LoadTokenizer: which file it picks, its errors, and the Tokenizer
// adapters over llama2.c's tokenizer.bin and SentencePiece's tokenizer.model.
// Data: ../shared/tokenizers (see its README) and stories260K's tok512.bin.
#include "model/llm/tokenizers/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "model/llm/tokenizers/llama2c_tokenizer.h"
#include "tests/model/llm/shared_data.h"

namespace sasrecllm::llm {
namespace {

using ::sasrecllm::llm::testing::SharedDir;
using ::sasrecllm::llm::testing::Stories260kDir;
using ::sasrecllm::llm::testing::TempDir;

std::string Llama3Dir() { return SharedDir() + "/tokenizers/llama3-bpe"; }
std::string Llama2Model() { return SharedDir() + "/tokenizers/llama2-spm/tokenizer.model"; }
std::string Tok512() { return Stories260kDir() + "/tok512.bin"; }

void Link(const std::string& target, const std::string& link) {
  std::filesystem::create_symlink(target, link);
}

std::vector<int> Concat(std::vector<int> a, const std::vector<int>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(LoadTokenizerTest, ReadsGpt2LayoutFromFolderOrEitherFile) {
  SASRECLLM_REQUIRE_SHARED(Llama3Dir() + "/encoder.json");
  for (const std::string path :
       {Llama3Dir(), Llama3Dir() + "/encoder.json", Llama3Dir() + "/vocab.bpe"}) {
    StatusOr<std::unique_ptr<Tokenizer>> tok = LoadTokenizer(path, 128256);
    ASSERT_TRUE(tok.ok()) << path << ": " << tok.status();
    EXPECT_EQ((*tok)->kind(), "encoder.json") << path;
    EXPECT_EQ((*tok)->Encode("hello world", false, false), (std::vector<int>{15339, 1917}));
    EXPECT_EQ((*tok)->Encode("Yes", true, false), (std::vector<int>{128000, 9642}));
    EXPECT_EQ((*tok)->PieceToId("Yes"), 9642);
  }
}

TEST(LoadTokenizerTest, ReadsTokenizerJsonByExtensionAndInFolders) {
  SASRECLLM_REQUIRE_SHARED(Llama3Dir() + "/mini_llama.json");
  StatusOr<std::unique_ptr<Tokenizer>> tok = LoadTokenizer(Llama3Dir() + "/mini_llama.json");
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->kind(), "tokenizer.json");
  EXPECT_EQ((*tok)->vocab_size(), 128002);

  // In a folder, tokenizer.json comes before tokenizer.bin.
  TempDir dir;
  Link(Llama3Dir() + "/mini_llama.json", dir.path() + "/tokenizer.json");
  if (std::filesystem::exists(Tok512())) Link(Tok512(), dir.path() + "/tokenizer.bin");
  tok = LoadTokenizer(dir.path());
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->kind(), "tokenizer.json");
}

TEST(LoadTokenizerTest, MissingPathsAreNotFound) {
  StatusOr<std::unique_ptr<Tokenizer>> tok = LoadTokenizer("/nonexistent/tokenizer.json");
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kNotFound);
  EXPECT_NE(tok.status().message().find("/nonexistent/tokenizer.json"), std::string::npos);

  TempDir empty;
  tok = LoadTokenizer(empty.path());
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kNotFound);
  EXPECT_NE(tok.status().message().find(empty.path()), std::string::npos) << tok.status();

  // encoder.json without its vocab.bpe.
  TempDir half;
  std::ofstream(half.path() + "/encoder.json") << "{\"a\": 0}";
  tok = LoadTokenizer(half.path());
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kNotFound);
  EXPECT_NE(tok.status().message().find("vocab.bpe"), std::string::npos) << tok.status();
}

TEST(LoadTokenizerTest, MalformedTokenizerJsonIsDataLossNamingTheFile) {
  TempDir dir;
  const std::string path = dir.path() + "/tokenizer.json";
  std::ofstream(path) << "{\"model\": [1, 2";
  StatusOr<std::unique_ptr<Tokenizer>> tok = LoadTokenizer(dir.path());
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(tok.status().message().find(path), std::string::npos) << tok.status();
}

TEST(LoadTokenizerTest, TokenizerLargerThanTheModelIsRejected) {
  SASRECLLM_REQUIRE_SHARED(Llama3Dir() + "/mini_llama.json");
  StatusOr<std::unique_ptr<Tokenizer>> tok =
      LoadTokenizer(Llama3Dir() + "/mini_llama.json", /*vocab_size=*/32000);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(tok.status().message().find("128002"), std::string::npos) << tok.status();
}

TEST(LoadTokenizerTest, Llama2cAdapterMatchesLlama2cTokenizer) {
  SASRECLLM_REQUIRE_SHARED(Tok512());
  TempDir dir;
  Link(Tok512(), dir.path() + "/tokenizer.bin");
  StatusOr<std::unique_ptr<Tokenizer>> tok = LoadTokenizer(dir.path(), 512);
  ASSERT_TRUE(tok.ok()) << tok.status();
  StatusOr<std::unique_ptr<Llama2cTokenizer>> raw = Llama2cTokenizer::Load(Tok512(), 512);
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ((*tok)->kind(), "tokenizer.bin");
  EXPECT_EQ((*tok)->vocab_size(), 512);
  EXPECT_EQ((*tok)->bos_id(), 1);
  EXPECT_EQ((*tok)->eos_id(), 2);

  const std::string text = "Once upon a time, there was a little girl named Lily.";
  const std::vector<int> ids = (*tok)->Encode(text, /*bos=*/true, /*eos=*/true);
  EXPECT_EQ(ids, (*raw)->Encode(text, true, true));
  EXPECT_EQ((*tok)->Decode(ids), text);  // no dummy-prefix space, no BOS/EOS text
  // Bytes that fall back to <0xXX> tokens come back whole.
  EXPECT_EQ((*tok)->Decode((*tok)->Encode("caf\xC3\xA9 \xE2\x9C\x85", false, false)),
            "caf\xC3\xA9 \xE2\x9C\x85");

  // leading_space = false: no dummy " " token before the merges.
  EXPECT_EQ((*tok)->Encode("", false, false), std::vector<int>{});
  const std::vector<int> without =
      (*tok)->Encode("Once upon", false, false, /*leading_space=*/false);
  EXPECT_EQ(without, (*raw)->Encode("Once upon", false, false, /*dummy_prefix=*/false));
  EXPECT_NE(without, (*tok)->Encode("Once upon", false, false));
  ASSERT_FALSE(without.empty());
  EXPECT_NE((*raw)->piece(without[0])[0], ' ');
  EXPECT_EQ((*tok)->Decode(without), "Once upon");
  EXPECT_GE((*tok)->PieceToId(" "), 0);
  EXPECT_EQ((*tok)->PieceToId("no such piece"), -1);
}

#if SASRECLLM_HAVE_SENTENCEPIECE

TEST(LoadTokenizerTest, SpmAdapterEncodesContinuationsWithoutDummyPrefix) {
  SASRECLLM_REQUIRE_SHARED(Llama2Model());
  StatusOr<std::unique_ptr<Tokenizer>> tok = LoadTokenizer(Llama2Model(), 32000);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->kind(), "tokenizer.model");
  const int hello = (*tok)->PieceToId("Hello");
  const int space_hello = (*tok)->PieceToId("\xE2\x96\x81Hello");  // "▁Hello"
  EXPECT_EQ(space_hello, 15043);
  ASSERT_GE(hello, 0);
  EXPECT_EQ((*tok)->PieceToId("no such piece"), -1);
  EXPECT_EQ((*tok)->PieceToId("<unk>"), 0);

  EXPECT_EQ((*tok)->Encode("Hello", false, false), std::vector<int>{space_hello});
  EXPECT_EQ((*tok)->Encode("Hello", false, false, false), std::vector<int>{hello});
  EXPECT_EQ((*tok)->Encode(" Hello", false, false, false), std::vector<int>{space_hello});
  EXPECT_EQ((*tok)->Encode("\nHello", true, false, false),
            (std::vector<int>{1, 13, hello}));  // BOS, <0x0A>, "Hello"
  EXPECT_EQ((*tok)->Encode("", false, false, false), std::vector<int>{});
  // Text cut before a space or newline (no SentencePiece piece spans one),
  // encoded piece by piece, gives the ids of the whole.
  for (const auto& [a, b] : std::vector<std::pair<std::string, std::string>>{
           {"Hello", " world"}, {"The movie", " \"Heat (1995)\", and"}, {"x", "\n\ny"}}) {
    EXPECT_EQ(Concat((*tok)->Encode(a, true, false), (*tok)->Encode(b, false, false, false)),
              (*tok)->Encode(a + b, true, false))
        << a << "|" << b;
  }
}

TEST(LoadTokenizerTest, UnsupportedTokenizerJsonGivesWayToTokenizerModel) {
  SASRECLLM_REQUIRE_SHARED(Llama2Model());
  TempDir dir;
  std::ofstream(dir.path() + "/tokenizer.json")
      << R"({"model": {"type": "BPE", "vocab": {}, "merges": []},
             "pre_tokenizer": {"type": "Metaspace"}})";
  Link(Llama2Model(), dir.path() + "/tokenizer.model");
  StatusOr<std::unique_ptr<Tokenizer>> tok = LoadTokenizer(dir.path());
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->kind(), "tokenizer.model");
}

#else

TEST(LoadTokenizerTest, TokenizerModelIsUnimplementedWithoutSentencePiece) {
  TempDir dir;
  std::ofstream(dir.path() + "/tokenizer.model") << "x";
  StatusOr<std::unique_ptr<Tokenizer>> tok = LoadTokenizer(dir.path());
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(tok.status().message().find("tokenizer.model"), std::string::npos);
}

#endif  // SASRECLLM_HAVE_SENTENCEPIECE

}  // namespace
}  // namespace sasrecllm::llm
