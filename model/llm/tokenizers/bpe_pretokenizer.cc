#include "model/llm/tokenizers/bpe_pretokenizer.h"

#include <cstdint>

#include "model/llm/tokenizers/unicode.h"

namespace sasrecllm::llm {
namespace {

constexpr char kGpt2Regex[] =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr char kLlama3Regex[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr char kQwen2Regex[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Character classes, as bits.
constexpr uint8_t kLetter = 1;
constexpr uint8_t kNumber = 2;
constexpr uint8_t kSpace = 4;   // \s
constexpr uint8_t kCrLf = 8;    // \r or \n (also kSpace)
constexpr uint8_t kBlank = 16;  // ' ' (also kSpace)

struct Char {
  char32_t cp;
  uint32_t offset;  // of its first byte in the text
  uint8_t cls;
};

std::vector<Char> Decode(std::string_view text) {
  std::vector<Char> chars;
  chars.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const Utf8CodePoint c = DecodeUtf8(text, pos);
    uint8_t cls = 0;
    if (IsLetter(c.code_point)) cls |= kLetter;
    if (IsNumber(c.code_point)) cls |= kNumber;
    if (IsWhiteSpace(c.code_point)) cls |= kSpace;
    if (c.code_point == '\r' || c.code_point == '\n') cls |= kCrLf;
    if (c.code_point == ' ') cls |= kBlank;
    chars.push_back({c.code_point, static_cast<uint32_t>(pos), cls});
    pos += static_cast<size_t>(c.length);
  }
  return chars;
}

// Unicode simple case folding, as far as the contractions need it: ASCII
// letters, and U+017F LATIN SMALL LETTER LONG S, which folds to "s" (the
// only non-ASCII code point folding to one of "stremvld").
char32_t FoldCase(char32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + ('a' - 'A');
  return cp == 0x017F ? 's' : cp;
}

// Scans one pattern over decoded characters; each Match* returns the end
// (exclusive character index) of the match starting at `i`, 0 for none.
class Scanner {
 public:
  explicit Scanner(const std::vector<Char>& chars) : c_(chars), n_(chars.size()) {}

  bool Is(size_t i, uint8_t cls) const { return i < n_ && (c_[i].cls & cls) != 0; }
  // [^\s\p{L}\p{N}]
  bool IsOther(size_t i) const { return i < n_ && (c_[i].cls & (kSpace | kLetter | kNumber)) == 0; }
  size_t RunOf(size_t i, uint8_t cls) const {
    while (Is(i, cls)) ++i;
    return i;
  }

  // 's|'t|'re|'ve|'m|'ll|'d, case-insensitive when `fold`.
  size_t MatchContraction(size_t i, bool fold) const {
    if (c_[i].cp != '\'' || i + 1 >= n_) return 0;
    const auto at = [&](size_t k) { return fold ? FoldCase(c_[k].cp) : c_[k].cp; };
    const char32_t a = at(i + 1);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if (i + 2 >= n_) return 0;
    const char32_t b = at(i + 2);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    return 0;
  }

  // \s+(?!\S)|\s+ at a space: the run, less its last space when a
  // non-space follows and that leaves at least one.
  size_t MatchSpaces(size_t i) const {
    const size_t end = RunOf(i, kSpace);
    if (end == n_ || end - 1 == i) return end;
    return end - 1;
  }

  // GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  size_t Gpt2(size_t i) const {
    if (size_t end = MatchContraction(i, /*fold=*/false)) return end;
    const size_t j = Is(i, kBlank) ? i + 1 : i;  // " ?"; backs off when nothing follows
    if (Is(j, kLetter)) return RunOf(j, kLetter);
    if (Is(j, kNumber)) return RunOf(j, kNumber);
    if (IsOther(j)) {
      size_t k = j;
      while (IsOther(k)) ++k;
      return k;
    }
    // Here c_[i] is a space (all other characters matched above).
    return MatchSpaces(i);
  }

  // Llama-3 (max_digits = 3) and Qwen2 (max_digits = 1).
  size_t Llama3(size_t i, size_t max_digits) const {
    if (size_t end = MatchContraction(i, /*fold=*/true)) return end;
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!Is(i, kCrLf | kLetter | kNumber) && Is(i + 1, kLetter)) return RunOf(i + 1, kLetter);
    if (Is(i, kLetter)) return RunOf(i, kLetter);
    // \p{N}{1,max_digits}
    if (Is(i, kNumber)) {
      size_t k = i;
      while (k - i < max_digits && Is(k, kNumber)) ++k;
      return k;
    }
    // " ?[^\s\p{L}\p{N}]+[\r\n]*"
    const size_t j = Is(i, kBlank) && IsOther(i + 1) ? i + 1 : i;
    if (IsOther(j)) {
      size_t k = j;
      while (IsOther(k)) ++k;
      return RunOf(k, kCrLf);
    }
    // Here c_[i] is a space. \s*[\r\n]+: up to the last CR/LF of the run
    // (\s* gives back spaces until [\r\n]+ can match; that stops at the first
    // non-CR/LF, which is the run's end or a space after the last CR/LF).
    const size_t end = RunOf(i, kSpace);
    for (size_t k = end; k > i; --k) {
      if (Is(k - 1, kCrLf)) return k;
    }
    return MatchSpaces(i);
  }

 private:
  const std::vector<Char>& c_;
  const size_t n_;
};

}  // namespace

StatusOr<PreTokenizerPattern> PreTokenizerPatternFromRegex(std::string_view regex) {
  std::string spelled;
  for (char c : regex) {
    if (c == '\r') {
      spelled += "\\r";
    } else if (c == '\n') {
      spelled += "\\n";
    } else {
      spelled += c;
    }
  }
  if (spelled == kGpt2Regex) return PreTokenizerPattern::kGpt2;
  if (spelled == kLlama3Regex) return PreTokenizerPattern::kLlama3;
  if (spelled == kQwen2Regex) return PreTokenizerPattern::kQwen2;
  return UnimplementedError("unsupported pre-tokenizer regex \"" + std::string(regex) +
                            "\" (supported: the GPT-2, Llama-3 and Qwen2 patterns)");
}

const char* PreTokenizerPatternRegex(PreTokenizerPattern pattern) {
  switch (pattern) {
    case PreTokenizerPattern::kGpt2:
      return kGpt2Regex;
    case PreTokenizerPattern::kLlama3:
      return kLlama3Regex;
    case PreTokenizerPattern::kQwen2:
      return kQwen2Regex;
  }
  return "";
}

std::vector<std::string_view> PreTokenize(std::string_view text, PreTokenizerPattern pattern) {
  const std::vector<Char> chars = Decode(text);
  const Scanner scanner(chars);
  std::vector<std::string_view> words;
  for (size_t i = 0; i < chars.size();) {
    size_t end = 0;
    switch (pattern) {
      case PreTokenizerPattern::kGpt2:
        end = scanner.Gpt2(i);
        break;
      case PreTokenizerPattern::kLlama3:
        end = scanner.Llama3(i, 3);
        break;
      case PreTokenizerPattern::kQwen2:
        end = scanner.Llama3(i, 1);
        break;
    }
    if (end <= i) end = i + 1;  // cannot happen: every character matches
    const size_t from = chars[i].offset;
    const size_t to = end < chars.size() ? chars[end].offset : text.size();
    words.push_back(text.substr(from, to - from));
    i = end;
  }
  return words;
}

}  // namespace sasrecllm::llm
