// The byte-level BPE pre-tokenizer patterns. Expected splits are ollama's
// (tokenizer/bytepairencoding_test.go, MIT; a copy is in
// ../shared/tokenizers/llama3-bpe): TestLlama "split" and TestSplit. While
// it was written, the scanner was also compared with Python's `regex` module
// (the real regexes) on 25,000 random strings per pattern, with no
// difference.
#include "model/llm/tokenizers/bpe_pretokenizer.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace sasrecllm::llm {
namespace {

std::vector<std::string> Split(std::string_view text, PreTokenizerPattern pattern) {
  std::vector<std::string> words;
  for (std::string_view w : PreTokenize(text, pattern)) words.emplace_back(w);
  return words;
}

using Words = std::vector<std::string>;

TEST(BpePreTokenizerTest, Llama3MatchesOllamaSplits) {
  const std::map<std::string, Words> cases = {
      {"Hello World!", {"Hello", " World", "!"}},
      {"I'm don't won't", {"I", "'m", " don", "'t", " won", "'t"}},
      {"In 2024 there are 366 days",
       {"In", " ", "202", "4", " there", " are", " ", "366", " days"}},
      {"Hello!! ...world", {"Hello", "!!", " ...", "world"}},
      {"Hello    World", {"Hello", "   ", " World"}},
      {"Hello\nWorld", {"Hello", "\n", "World"}},
      {"Hello, WORLD!! How's it going?",
       {"Hello", ",", " WORLD", "!!", " How", "'s", " it", " going", "?"}},
  };
  for (const auto& [text, want] : cases) {
    EXPECT_EQ(Split(text, PreTokenizerPattern::kLlama3), want) << text;
  }
}

TEST(BpePreTokenizerTest, EachPatternMatchesOllamaTestSplit) {
  const std::string text =
      "Hello, WORLD!! How's it going? 123 \xE4\xB8\x80\xE4\xBA\x8C\xE4\xB8\x89";
  const std::string cjk = "\xE4\xB8\x80\xE4\xBA\x8C\xE4\xB8\x89";  // 一二三
  EXPECT_EQ(
      Split(text, PreTokenizerPattern::kGpt2),
      (Words{"Hello", ",", " WORLD", "!!", " How", "'s", " it", " going", "?", " 123", " " + cjk}));
  EXPECT_EQ(Split(text, PreTokenizerPattern::kQwen2),
            (Words{"Hello", ",", " WORLD", "!!", " How", "'s", " it", " going", "?", " ", "1", "2",
                   "3", " " + cjk}));
}

TEST(BpePreTokenizerTest, WhitespaceRulesOfLlama3) {
  const auto llama3 = [](std::string_view s) { return Split(s, PreTokenizerPattern::kLlama3); };
  // \s*[\r\n]+ takes spaces up to the last newline of the run.
  EXPECT_EQ(llama3("a \n \n  b"), (Words{"a", " \n \n", " ", " b"}));
  // \s+(?!\S) leaves the last space for the word; at the end it takes all.
  EXPECT_EQ(llama3("a   "), (Words{"a", "   "}));
  EXPECT_EQ(llama3("\t\tb"), (Words{"\t", "\tb"}));
  // Contractions ignore case; GPT-2's do not.
  EXPECT_EQ(llama3("WE'RE"), (Words{"WE", "'RE"}));
  EXPECT_EQ(Split("WE'RE", PreTokenizerPattern::kGpt2), (Words{"WE", "'", "RE"}));
  // Punctuation takes one leading space and trailing newlines.
  EXPECT_EQ(llama3("x  ...\n\ny"), (Words{"x", " ", " ...\n\n", "y"}));
}

TEST(BpePreTokenizerTest, RecognizesTokenizerJsonRegexes) {
  for (PreTokenizerPattern p :
       {PreTokenizerPattern::kGpt2, PreTokenizerPattern::kLlama3, PreTokenizerPattern::kQwen2}) {
    StatusOr<PreTokenizerPattern> got = PreTokenizerPatternFromRegex(PreTokenizerPatternRegex(p));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, p);
  }
  // Literal CR/LF characters where the JSON had \r \n escapes.
  std::string literal = PreTokenizerPatternRegex(PreTokenizerPattern::kLlama3);
  for (size_t pos; (pos = literal.find("\\r")) != std::string::npos;) literal.replace(pos, 2, "\r");
  for (size_t pos; (pos = literal.find("\\n")) != std::string::npos;) literal.replace(pos, 2, "\n");
  StatusOr<PreTokenizerPattern> got = PreTokenizerPatternFromRegex(literal);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, PreTokenizerPattern::kLlama3);

  got = PreTokenizerPatternFromRegex("\\p{N}{1,3}");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(got.status().message().find("\\p{N}{1,3}"), std::string::npos);
}

// The words cover the input exactly, whatever the bytes (invalid UTF-8 too).
TEST(BpePreTokenizerTest, WordsCoverAnyBytes) {
  std::mt19937 rng(20240611);
  const std::string alphabet[] = {" ",
                                  "\n",
                                  "\r",
                                  "\t",
                                  "a",
                                  "Z",
                                  "7",
                                  "'s",
                                  "!",
                                  ".",
                                  "\xC3\xA9",
                                  "\xE4\xB8\x80",
                                  "\xF0\x9F\x98\x80",
                                  "\xFF",
                                  "\xC3",
                                  "\xE2\x80\x83"};
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text;
    const int n = static_cast<int>(rng() % 20);
    for (int i = 0; i < n; ++i) text += alphabet[rng() % std::size(alphabet)];
    for (PreTokenizerPattern p :
         {PreTokenizerPattern::kGpt2, PreTokenizerPattern::kLlama3, PreTokenizerPattern::kQwen2}) {
      std::string joined;
      for (std::string_view w : PreTokenize(text, p)) {
        ASSERT_FALSE(w.empty());
        joined += w;
      }
      ASSERT_EQ(joined, text);
    }
  }
}

}  // namespace
}  // namespace sasrecllm::llm
