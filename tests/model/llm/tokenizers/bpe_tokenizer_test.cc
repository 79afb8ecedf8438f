// BpeTokenizer (byte-level BPE) against the Llama-3 vocabulary in
// ../shared/tokenizers/llama3-bpe (see its README):
//  - llama.cpp's llama-bpe test vectors (MIT): 46 inputs in
//    ggml-vocab-llama-bpe.gguf.inp, separated by "\n__ggml_vocab_test__\n",
//    and on the same line of the .out file the expected ids, without BOS;
//  - ollama's tokenizer/bytepairencoding_test.go (MIT, a copy is in that
//    folder): its TestLlama cases, ported below as tables;
//  - mini_llama.json, a small tokenizer.json in Hugging Face's format;
// plus hand-made vocabularies for merge order, added tokens and errors.
#include "model/llm/tokenizers/bpe_tokenizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "base/json.h"
#include "model/llm/tokenizers/unicode.h"
#include "tests/model/llm/shared_data.h"
#include "tests/model/llm/tokenizers/vocab_test_vectors.h"

namespace sasrecllm::llm {
namespace {

using ::sasrecllm::llm::testing::Join;
using ::sasrecllm::llm::testing::ReadFile;
using ::sasrecllm::llm::testing::ReadInputs;
using ::sasrecllm::llm::testing::ReadOutputs;
using ::sasrecllm::llm::testing::SharedDir;
using ::sasrecllm::llm::testing::TempDir;

std::string Llama3Dir() { return SharedDir() + "/tokenizers/llama3-bpe"; }

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

// `s` as the inside of a JSON string literal.
std::string JsonEscaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// The Llama-3.2 vocabulary (encoder.json + vocab.bpe), loaded once.
class Llama3BpeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(Llama3Dir() + "/encoder.json")) return;
    StatusOr<std::unique_ptr<BpeTokenizer>> tok =
        BpeTokenizer::LoadGpt2Files(Llama3Dir() + "/encoder.json", Llama3Dir() + "/vocab.bpe");
    status_ = new Status(tok.status());
    if (tok.ok()) tok_ = std::move(tok).value().release();
  }
  static void TearDownTestSuite() {
    delete tok_;
    delete status_;
    tok_ = nullptr;
    status_ = nullptr;
  }
  void SetUp() override {
    SASRECLLM_REQUIRE_SHARED(Llama3Dir() + "/encoder.json");
    SASRECLLM_REQUIRE_SHARED(Llama3Dir() + "/vocab.bpe");
    ASSERT_NE(tok_, nullptr) << *status_;
  }
  static const BpeTokenizer& tok() { return *tok_; }

 private:
  static BpeTokenizer* tok_;
  static Status* status_;
};
BpeTokenizer* Llama3BpeTest::tok_ = nullptr;
Status* Llama3BpeTest::status_ = nullptr;

TEST_F(Llama3BpeTest, Gpt2LayoutGetsLlama3PatternAndSpecialTokens) {
  EXPECT_EQ(tok().kind(), "encoder.json");
  EXPECT_EQ(tok().pattern(), PreTokenizerPattern::kLlama3);  // inferred from the digits
  EXPECT_EQ(tok().num_merges(), 280147);
  EXPECT_EQ(tok().vocab_size(), 128256);
  EXPECT_EQ(tok().num_added_tokens(), 256);
  EXPECT_EQ(tok().bos_id(), 128000);
  EXPECT_EQ(tok().eos_id(), 128001);
  EXPECT_EQ(tok().PieceToId("<|start_header_id|>"), 128006);
  EXPECT_EQ(tok().PieceToId("<|eot_id|>"), 128009);
  EXPECT_EQ(tok().PieceToId("<|reserved_special_token_247|>"), 128255);
  EXPECT_EQ(tok().PieceToId("\xC4\xA0world"), 1917);  // "Ġworld"
  EXPECT_EQ(tok().PieceToId("Yes"), 9642);
  EXPECT_EQ(tok().PieceToId("no such piece"), -1);
}

// All 46 llama.cpp llama-bpe vectors encode to exactly their ids and decode
// back to their inputs. The .out ids carry no BOS (checked): llama.cpp's
// test-tokenizer-0 encodes with add_special = false.
TEST_F(Llama3BpeTest, MatchesLlamaCppLlamaBpeVectors) {
  const std::string inp = Llama3Dir() + "/ggml-vocab-llama-bpe.gguf.inp";
  const std::string out = Llama3Dir() + "/ggml-vocab-llama-bpe.gguf.out";
  SASRECLLM_REQUIRE_SHARED(inp);
  SASRECLLM_REQUIRE_SHARED(out);
  const std::vector<std::string> inputs = ReadInputs(inp);
  const std::vector<std::vector<int>> outputs = ReadOutputs(out);
  ASSERT_EQ(inputs.size(), 46u) << inp;
  ASSERT_EQ(outputs.size(), inputs.size()) << out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_TRUE(outputs[i].empty() || outputs[i][0] != tok().bos_id()) << "vector " << i;
    const std::vector<int> ids = tok().Encode(inputs[i], /*bos=*/false, /*eos=*/false);
    EXPECT_EQ(Join(ids), Join(outputs[i])) << "vector " << i << ": \"" << inputs[i] << "\"";
    EXPECT_EQ(tok().Decode(outputs[i]), inputs[i]) << "vector " << i;
  }
}

// The same vocabulary as a Hugging Face tokenizer.json (written here the way
// Llama-3's is: Split + ByteLevel, ignore_merges, a BOS template, merges as
// pairs) passes the same vectors: the tokenizer.json path at full size.
TEST_F(Llama3BpeTest, Llama3TokenizerJsonMatchesLlamaCppVectors) {
  const std::string inp = Llama3Dir() + "/ggml-vocab-llama-bpe.gguf.inp";
  const std::string out = Llama3Dir() + "/ggml-vocab-llama-bpe.gguf.out";
  SASRECLLM_REQUIRE_SHARED(inp);
  StatusOr<SortedJson> encoder =
      ParseSortedJson(ReadFile(Llama3Dir() + "/encoder.json"), "encoder.json");
  ASSERT_TRUE(encoder.ok()) << encoder.status();

  std::string json = R"({"version": "1.0", "added_tokens": [)";
  const std::map<int, std::string> names = {
      {128000, "<|begin_of_text|>"}, {128001, "<|end_of_text|>"}, {128009, "<|eot_id|>"}};
  for (int id = 128000; id < 128256; ++id) {
    const auto name = names.find(id);
    json += std::string(id > 128000 ? ", " : "") + R"({"id": )" + std::to_string(id) +
            R"(, "content": ")" +
            (name != names.end() ? name->second : "<|special_" + std::to_string(id) + "|>") +
            R"(", "special": true, "lstrip": false, "rstrip": false, "single_word": false})";
  }
  json += R"(], "normalizer": null,
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": ")" +
          JsonEscaped(PreTokenizerPatternRegex(PreTokenizerPattern::kLlama3)) +
          R"("}, "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
    "post_processor": {"type": "Sequence", "processors": [
      {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
      {"type": "TemplateProcessing",
       "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                  {"Sequence": {"id": "A", "type_id": 0}}],
       "pair": [], "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>",
                                       "ids": [128000], "tokens": ["<|begin_of_text|>"]}}}]},
    "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true,
                "use_regex": true},
    "model": {"type": "BPE", "dropout": null, "unk_token": null,
              "continuing_subword_prefix": null, "end_of_word_suffix": null, "fuse_unk": false,
              "byte_fallback": false, "ignore_merges": true, "vocab": {)";
  bool first_piece = true;
  for (const auto& [piece, id] : encoder->items()) {
    json += (first_piece ? "\"" : ", \"") + JsonEscaped(piece) + "\": " +
            std::to_string(id.get<int>());
    first_piece = false;
  }
  json += R"(}, "merges": [)";
  std::istringstream merges(ReadFile(Llama3Dir() + "/vocab.bpe"));
  bool first = true;
  for (std::string line; std::getline(merges, line);) {
    const size_t space = line.find(' ');
    if (line.empty() || line.rfind("#version", 0) == 0 || space == std::string::npos) continue;
    json += std::string(first ? "" : ", ") + "[\"" + JsonEscaped(line.substr(0, space)) + "\", \"" +
            JsonEscaped(line.substr(space + 1)) + "\"]";
    first = false;
  }
  json += "]}}";

  TempDir dir;
  const std::string path = dir.path() + "/tokenizer.json";
  WriteFile(path, json);
  StatusOr<std::unique_ptr<BpeTokenizer>> loaded = BpeTokenizer::LoadTokenizerJson(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const BpeTokenizer& hf = **loaded;
  EXPECT_EQ(hf.kind(), "tokenizer.json");
  EXPECT_EQ(hf.vocab_size(), 128256);
  EXPECT_EQ(hf.num_merges(), tok().num_merges());
  EXPECT_EQ(hf.bos_id(), 128000);  // from the template
  EXPECT_EQ(hf.eos_id(), 128001);  // by name
  const std::vector<std::string> inputs = ReadInputs(inp);
  const std::vector<std::vector<int>> outputs = ReadOutputs(out);
  ASSERT_EQ(inputs.size(), outputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(Join(hf.Encode(inputs[i], false, false)), Join(outputs[i])) << "vector " << i;
    EXPECT_EQ(hf.Decode(outputs[i]), inputs[i]) << "vector " << i;
  }
  EXPECT_EQ(hf.Encode("hello<|eot_id|>", true, false), (std::vector<int>{128000, 15339, 128009}));
}

TEST_F(Llama3BpeTest, BosAndEosWrapTheIds) {
  EXPECT_EQ(tok().Encode("hello world", /*bos=*/true, /*eos=*/true),
            (std::vector<int>{128000, 15339, 1917, 128001}));
  EXPECT_EQ(tok().Encode("", /*bos=*/true, /*eos=*/false), std::vector<int>{128000});
  EXPECT_EQ(tok().Encode("", /*bos=*/false, /*eos=*/false), std::vector<int>{});
  // Byte-level BPE has no dummy-prefix rule: leading_space changes nothing.
  EXPECT_EQ(tok().Encode("Hello", false, false, /*leading_space=*/false),
            tok().Encode("Hello", false, false, /*leading_space=*/true));
  // Special tokens decode to nothing, unknown ids are skipped.
  EXPECT_EQ(tok().Decode({128000, 15339, 1917, 128009, -1, 128256}), "hello world");
}

// ollama tokenizer/bytepairencoding_test.go, TestLlama (ids copied from it).
// ollama's Encode(s, true) adds no BOS for this vocabulary (its Vocabulary
// has AddBOS unset), so these are Encode(s, bos=false).
TEST_F(Llama3BpeTest, OllamaSimple) {
  EXPECT_EQ(tok().Encode("hello world", false, false), (std::vector<int>{15339, 1917}));
  EXPECT_EQ(tok().Decode({15339, 1917}), "hello world");
  EXPECT_EQ(tok().Encode("hello <|end_of_text|>", false, false),
            (std::vector<int>{15339, 220, 128001}));
}

TEST_F(Llama3BpeTest, OllamaSimpleRepeated) {
  const std::map<int, std::vector<int>> cases = {
      {1, {15}},
      {2, {410}},
      {3, {931}},
      {4, {931, 15}},
      {5, {931, 410}},
      {6, {931, 931}},
      {7, {931, 931, 15}},
      {8, {931, 931, 410}},
      {9, {931, 931, 931}},
      {10, {931, 931, 931, 15}},
      {11, {931, 931, 931, 410}},
      {12, {931, 931, 931, 931}},
      {13, {931, 931, 931, 931, 15}},
      {14, {931, 931, 931, 931, 410}},
      {15, {931, 931, 931, 931, 931}},
      {16, {931, 931, 931, 931, 931, 15}},
      {17, {931, 931, 931, 931, 931, 410}},
  };
  for (const auto& [n, want] : cases) {
    EXPECT_EQ(Join(tok().Encode(std::string(n, '0'), false, false)), Join(want)) << n << " zeros";
  }
}

TEST_F(Llama3BpeTest, OllamaBasicRoundtrip) {
  for (const std::string text : {"hello", "hello ", "hello  ", " hello", " hello ", " hello  ",
                                 "hello world", "请考试我的软件！12345"}) {
    EXPECT_EQ(tok().Decode(tok().Encode(text, true, false)), text);
  }
}

TEST_F(Llama3BpeTest, OllamaSpecial) {
  const std::map<std::string, std::vector<int>> cases = {
      {"<|begin_of_text|>A B!", {128000, 32, 426, 0}},
      {"<|begin_of_text|>A<|end_of_text|>B!", {128000, 32, 128001, 33, 0}},
      {"<|begin_of_text|>A<|end_of_text|>B<|begin_of_text|>!", {128000, 32, 128001, 33, 128000, 0}},
      {"<|begin_of_text|>A<|end_of_text|>B<|begin_of_text|>!<|end_of_text|>",
       {128000, 32, 128001, 33, 128000, 0, 128001}},
  };
  for (const auto& [text, want] : cases) {
    EXPECT_EQ(Join(tok().Encode(text, false, false)), Join(want)) << text;
  }
}

// ollama's "roundtriping 0x00-0xFF": each code point U+0000..U+00FF alone.
// ollama expects U+0000 to decode to ""; here every byte is kept (the
// Tokenizer contract), so it round-trips like the others.
TEST_F(Llama3BpeTest, OllamaRoundtripsEveryLatin1CodePoint) {
  for (char32_t cp = 0; cp <= 0xFF; ++cp) {
    std::string text;
    AppendUtf8(cp, &text);
    const std::vector<int> ids = tok().Encode(text, false, false);
    ASSERT_FALSE(ids.empty()) << "U+" << std::hex << cp;
    EXPECT_EQ(tok().Decode(ids), text) << "U+" << std::hex << cp;
  }
}

// Bytes that are not UTF-8 go through the byte-level table like any others.
TEST_F(Llama3BpeTest, InvalidUtf8RoundTrips) {
  const std::string text = "ok \xFF\xFE bad \xC3( \xE2\x82 end\x80";
  EXPECT_EQ(tok().Decode(tok().Encode(text, false, false)), text);
}

// Chat-template special tokens are matched before pre-tokenization.
TEST_F(Llama3BpeTest, EncodesLlama3ChatHeader) {
  EXPECT_EQ(
      Join(tok().Encode("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", false, false)),
      Join({128006, 882, 128007, 271, 13347, 128009}));
}

// Not a correctness test: prints the encoding speed (no assertion, so a
// busy machine cannot fail it).
TEST_F(Llama3BpeTest, ReportsEncodeSpeed) {
  const std::string inp = Llama3Dir() + "/ggml-vocab-llama-bpe.gguf.inp";
  SASRECLLM_REQUIRE_SHARED(inp);
  std::string text;
  const std::string sample = ReadFile(inp);
  while (text.size() < (1u << 20)) text += sample;
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int> ids = tok().Encode(text, false, false);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(tok().Decode(ids), text);
  const double mb_per_s = text.size() / 1e6 / seconds;
  RecordProperty("encode_mb_per_s", std::to_string(mb_per_s));
  std::printf("[ speed    ] %zu bytes -> %zu ids in %.3f s: %.2f MB/s, %.0f tokens/s\n",
              text.size(), ids.size(), seconds, mb_per_s, ids.size() / seconds);
}

std::string MiniLlama() { return Llama3Dir() + "/mini_llama.json"; }

// mini_llama.json has only a few merges, mostly of pieces two characters or
// longer: "hello" stays five bytes as in Hugging Face tokenizers (its vocab
// holds "hello", but merges, not the vocabulary, build pieces; the file does
// not set ignore_merges). Expected ids checked with a plain Python BPE.
TEST(BpeTokenizerTest, MiniLlamaJsonLoadsAndEncodes) {
  SASRECLLM_REQUIRE_SHARED(MiniLlama());
  StatusOr<std::unique_ptr<BpeTokenizer>> loaded = BpeTokenizer::LoadTokenizerJson(MiniLlama());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const BpeTokenizer& tok = **loaded;
  EXPECT_EQ(tok.kind(), "tokenizer.json");
  EXPECT_EQ(tok.pattern(), PreTokenizerPattern::kLlama3);
  EXPECT_EQ(tok.vocab_size(), 128002);
  EXPECT_EQ(tok.bos_id(), 128000);
  EXPECT_EQ(tok.eos_id(), 128001);
  EXPECT_EQ(tok.PieceToId("hello"), 15339);
  const std::map<std::string, std::vector<int>> cases = {
      {"hello world", {71, 68, 75, 75, 78, 220, 86, 78, 81, 75, 67}},
      {"   ", {262}},
      {"000000", {931, 931}},
      {"func()", {2900, 368}},
      {"can't", {4919, 956}},
      {"caf\xC3\xA9", {936, 59958}},  // "café": "ca" "fÃ©"
      {"They're main", {51, 71, 68, 88, 2351, 220, 76, 64, 72, 77}},
      {" {}", {4792}},
      {"<|begin_of_text|>()<|end_of_text|>", {128000, 368, 128001}},
  };
  for (const auto& [text, want] : cases) {
    const std::vector<int> ids = tok.Encode(text, false, false);
    EXPECT_EQ(Join(ids), Join(want)) << text;
    EXPECT_EQ(tok.Decode(ids), text.find("<|") == 0 ? "()" : text) << text;
  }
}

// A hand-made tokenizer.json, its parts replaceable.
struct TinyJson {
  std::string model_type = "BPE";
  std::string model_extra;  // more members of "model"
  std::string vocab_extra;  // more members of "model.vocab"
  std::string merges = R"(["a b", ["b", "c"], "ab c", "\u0120 a"])";
  std::string pre_tokenizer =
      R"({"type": "ByteLevel", "add_prefix_space": false, "use_regex": true})";
  std::string top_extra;  // more top-level members

  std::string Build() const {
    return R"({"model": {"type": ")" + model_type + "\"" + model_extra + R"(,
             "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5, "\u0120": 6,
                       "\u0120a": 7, "d": 8, "abd": 9)" +
           vocab_extra + R"(},
             "merges": )" +
           merges + R"(},
           "pre_tokenizer": )" +
           pre_tokenizer + R"(,
           "decoder": {"type": "ByteLevel"},
           "added_tokens": [{"id": 10, "content": "<s>", "special": true},
                            {"id": 11, "content": "[X]", "special": false}])" +
           top_extra + "}";
  }
};

StatusOr<std::unique_ptr<BpeTokenizer>> LoadJsonText(const TempDir& dir, const TinyJson& json) {
  const std::string path = dir.path() + "/tokenizer.json";
  WriteFile(path, json.Build());
  return BpeTokenizer::LoadTokenizerJson(path);
}

TEST(BpeTokenizerTest, MergesLowestRankFirst) {
  TempDir dir;
  StatusOr<std::unique_ptr<BpeTokenizer>> tok = LoadJsonText(dir, TinyJson());
  ASSERT_TRUE(tok.ok()) << tok.status();
  // "abc": "a b" (rank 0) before "b c" (rank 1), then "ab c".
  EXPECT_EQ((*tok)->Encode("abc", false, false), std::vector<int>{5});
  // "bca": "b c", then no merge of "bc a".
  EXPECT_EQ((*tok)->Encode("bca", false, false), (std::vector<int>{4, 0}));
  // "abd": "ab" + "d"; "abd" is a piece but no merge makes it.
  EXPECT_EQ((*tok)->Encode("abd", false, false), (std::vector<int>{3, 8}));
  // GPT-2's pattern: " a" is one word -> "Ġa".
  EXPECT_EQ((*tok)->Encode("ab a", false, false), (std::vector<int>{3, 7}));
  // Added tokens: "<s>" is BOS by name; "[X]" is not special and decodes to itself.
  EXPECT_EQ((*tok)->bos_id(), 10);
  EXPECT_EQ((*tok)->eos_id(), -1);
  EXPECT_EQ((*tok)->Encode("a[X]b", true, true), (std::vector<int>{10, 0, 11, 1}));
  EXPECT_EQ((*tok)->Decode({10, 0, 11, 1}), "a[X]b");
}

TEST(BpeTokenizerTest, EqualRanksMergeLeftmostFirst) {
  BpeTokenizer::Options options;
  options.vocab = {{"a", 0}, {"aa", 1}, {"aaa", 2}};
  options.merges = {{"a", "a"}, {"aa", "a"}};
  StatusOr<std::unique_ptr<BpeTokenizer>> tok = BpeTokenizer::Create(options);
  ASSERT_TRUE(tok.ok()) << tok.status();
  // a a a a a: (a a)(a a) a, then "aa a" merges the last pair only.
  EXPECT_EQ((*tok)->Encode("aaaaa", false, false), (std::vector<int>{1, 2}));
  EXPECT_EQ((*tok)->Encode("aaa", false, false), std::vector<int>{2});
}

TEST(BpeTokenizerTest, IgnoreMergesTakesWholeWordPieces) {
  TempDir dir;
  TinyJson json;
  json.model_extra = ", \"ignore_merges\": true";
  StatusOr<std::unique_ptr<BpeTokenizer>> tok = LoadJsonText(dir, json);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->Encode("abd", false, false), std::vector<int>{9});
}

TEST(BpeTokenizerTest, PostProcessorTemplateGivesBos) {
  TempDir dir;
  TinyJson json;
  json.top_extra = R"(, "post_processor": {"type": "Sequence", "processors": [
        {"type": "ByteLevel"},
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "[X]", "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}}],
         "special_tokens": {"[X]": {"id": "[X]", "ids": [11], "tokens": ["[X]"]}}}]})";
  StatusOr<std::unique_ptr<BpeTokenizer>> tok = LoadJsonText(dir, json);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->bos_id(), 11);
  EXPECT_EQ((*tok)->Encode("a", true, false), (std::vector<int>{11, 0}));
}

TEST(BpeTokenizerTest, AddedTokenStripAndSingleWord) {
  BpeTokenizer::Options options;
  options.vocab = {{"a", 0}, {"\xC4\xA0", 1}};  // "a", "Ġ"
  options.added_tokens = {{"<m>", 2, true, /*lstrip=*/true, /*rstrip=*/true, false},
                          {"w", 3, true, false, false, /*single_word=*/true}};
  StatusOr<std::unique_ptr<BpeTokenizer>> tok = BpeTokenizer::Create(options);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->Encode("a  <m>  a", false, false), (std::vector<int>{0, 2, 0}));
  EXPECT_EQ((*tok)->Encode("w a", false, false), (std::vector<int>{3, 1, 0}));
  // Inside a word "w" is not the added token (and, not in the vocabulary, is dropped).
  EXPECT_EQ((*tok)->Encode("awa", false, false), (std::vector<int>{0, 0}));
}

// The id table is sized by the largest id: a sparse one is refused, not allocated.
TEST(BpeTokenizerTest, IdsFarBeyondTheTokenCountAreRefused) {
  BpeTokenizer::Options options;
  options.vocab = {{"a", 0}, {"b", 1 << 30}};
  StatusOr<std::unique_ptr<BpeTokenizer>> tok = BpeTokenizer::Create(options);
  EXPECT_EQ(tok.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(tok.status().message().find("ids must be dense"), std::string::npos) << tok.status();
  options.vocab = {{"a", 0}, {"b", 128001}};  // a gap, as Llama 3's added tokens have
  EXPECT_TRUE(BpeTokenizer::Create(options).ok());
}

TEST(BpeTokenizerTest, MissingFileIsNotFound) {
  StatusOr<std::unique_ptr<BpeTokenizer>> tok =
      BpeTokenizer::LoadTokenizerJson("/nonexistent/tokenizer.json");
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kNotFound);
  EXPECT_NE(tok.status().message().find("/nonexistent/tokenizer.json"), std::string::npos);
  tok = BpeTokenizer::LoadGpt2Files("/nonexistent/encoder.json", "/nonexistent/vocab.bpe");
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kNotFound);
}

TEST(BpeTokenizerTest, MalformedJsonIsDataLossNamingTheFile) {
  TempDir dir;
  const std::string path = dir.path() + "/tokenizer.json";
  WriteFile(path, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,");
  StatusOr<std::unique_ptr<BpeTokenizer>> tok = BpeTokenizer::LoadTokenizerJson(path);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(tok.status().message().find(path), std::string::npos) << tok.status();
}

TEST(BpeTokenizerTest, BadContentsAreDataLossNamingTheValue) {
  TempDir dir;
  TinyJson bad_merge;  // a merge of pieces the vocabulary lacks
  bad_merge.merges = R"(["a b", "ab q"])";
  StatusOr<std::unique_ptr<BpeTokenizer>> tok = LoadJsonText(dir, bad_merge);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(tok.status().message().find("\"ab q\""), std::string::npos) << tok.status();

  TinyJson bad_id;
  bad_id.vocab_extra = R"(, "e": "x")";
  tok = LoadJsonText(dir, bad_id);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(tok.status().message().find("\"e\""), std::string::npos) << tok.status();

  TinyJson bad_merge_shape;
  bad_merge_shape.merges = R"(["a b", "abc"])";
  tok = LoadJsonText(dir, bad_merge_shape);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(tok.status().message().find("merges[1]"), std::string::npos) << tok.status();

  const std::string path = dir.path() + "/tokenizer.json";
  WriteFile(path, "{\"version\": \"1.0\"}");
  tok = BpeTokenizer::LoadTokenizerJson(path);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(tok.status().message().find("model"), std::string::npos) << tok.status();
}

TEST(BpeTokenizerTest, UnsupportedTokenizersAreUnimplemented) {
  TempDir dir;
  TinyJson wordpiece;
  wordpiece.model_type = "WordPiece";
  StatusOr<std::unique_ptr<BpeTokenizer>> tok = LoadJsonText(dir, wordpiece);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(tok.status().message().find("WordPiece"), std::string::npos) << tok.status();

  TinyJson metaspace;  // SentencePiece-style BPE, as Llama-2's tokenizer.json
  metaspace.pre_tokenizer = R"({"type": "Metaspace", "replacement": "\u2581"})";
  tok = LoadJsonText(dir, metaspace);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(tok.status().message().find("Metaspace"), std::string::npos) << tok.status();

  TinyJson digits;  // a Split regex other than GPT-2's, Llama-3's, Qwen2's
  digits.pre_tokenizer = R"({"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "\\d+"}, "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]})";
  tok = LoadJsonText(dir, digits);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(tok.status().message().find("\\d+"), std::string::npos) << tok.status();

  TinyJson llama3;  // the same with Llama-3's regex loads
  llama3.pre_tokenizer = std::string(R"({"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": ")") +
                         JsonEscaped(PreTokenizerPatternRegex(PreTokenizerPattern::kLlama3)) +
                         R"("}, "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]})";
  tok = LoadJsonText(dir, llama3);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->pattern(), PreTokenizerPattern::kLlama3);
}

}  // namespace
}  // namespace sasrecllm::llm
