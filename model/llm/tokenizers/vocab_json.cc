#include "model/llm/tokenizers/vocab_json.h"

#include "base/json.h"

namespace sasrecllm::llm {
namespace {

constexpr size_t kNpos = std::string_view::npos;

size_t SkipWhitespace(std::string_view text, size_t pos) {
  while (pos < text.size() &&
         (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r')) {
    ++pos;
  }
  return pos;
}

// The end (just past the closing quote) of the string at text[pos] == '"',
// or npos when it is not closed.
size_t SkipString(std::string_view text, size_t pos) {
  for (++pos; pos < text.size(); ++pos) {
    if (text[pos] == '\\') {
      ++pos;
    } else if (text[pos] == '"') {
      return pos + 1;
    }
  }
  return kNpos;
}

// The end of the value at text[pos], or npos when it is not closed.
size_t SkipValue(std::string_view text, size_t pos) {
  if (pos >= text.size()) return kNpos;
  if (text[pos] == '"') return SkipString(text, pos);
  if (text[pos] == '{' || text[pos] == '[') {
    int depth = 0;
    while (pos < text.size()) {
      const char c = text[pos];
      if (c == '"') {
        pos = SkipString(text, pos);
        if (pos == kNpos) return kNpos;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return pos + 1;
      }
      ++pos;
    }
    return kNpos;
  }
  while (pos < text.size() && text[pos] != ',' && text[pos] != '}' && text[pos] != ']' &&
         text[pos] != ' ' && text[pos] != '\t' && text[pos] != '\n' && text[pos] != '\r') {
    ++pos;
  }
  return pos;
}

Status ErrorAt(size_t pos, const std::string& what) {
  return InvalidArgumentError("byte " + std::to_string(pos) + ": " + what);
}

// The text of the JSON string text[begin, end) (quotes included).
StatusOr<std::string> StringValue(std::string_view text, size_t begin, size_t end) {
  const std::string_view literal = text.substr(begin, end - begin);
  if (literal.find('\\') == std::string_view::npos) {
    return std::string(literal.substr(1, literal.size() - 2));
  }
  StatusOr<Json> parsed = ParseJson(literal, "string");  // only escapes need the full parser
  if (!parsed.ok()) return ErrorAt(begin, parsed.status().message());
  return AsString(*parsed, "string");
}

}  // namespace

StatusOr<std::vector<std::pair<std::string, int>>> ParseVocabObject(std::string_view text,
                                                                    size_t* pos) {
  size_t p = SkipWhitespace(text, *pos);
  if (p >= text.size() || text[p] != '{') return ErrorAt(p, "expected '{'");
  std::vector<std::pair<std::string, int>> vocab;
  p = SkipWhitespace(text, p + 1);
  if (p < text.size() && text[p] == '}') {
    *pos = p + 1;
    return vocab;
  }
  while (true) {
    if (p >= text.size() || text[p] != '"') return ErrorAt(p, "expected '\"' (a piece)");
    const size_t end = SkipString(text, p);
    if (end == kNpos) return ErrorAt(p, "unterminated string");
    SASRECLLM_ASSIGN_OR_RETURN(std::string piece, StringValue(text, p, end));
    p = SkipWhitespace(text, end);
    if (p >= text.size() || text[p] != ':') return ErrorAt(p, "expected ':'");
    p = SkipWhitespace(text, p + 1);
    const size_t number = p;
    long long id = 0;
    while (p < text.size() && text[p] >= '0' && text[p] <= '9' && id <= (1 << 30)) {
      id = id * 10 + (text[p++] - '0');
    }
    if (p == number || id > (1 << 30) ||
        (p < text.size() && (text[p] == '.' || text[p] == 'e' || text[p] == 'E' ||
                             (text[p] >= '0' && text[p] <= '9')))) {
      const size_t value_end = SkipValue(text, number);
      return ErrorAt(number, "\"" + piece + "\": " +
                                 std::string(text.substr(
                                     number, value_end == kNpos ? 20 : value_end - number)) +
                                 " is not a token id");
    }
    vocab.emplace_back(std::move(piece), static_cast<int>(id));
    p = SkipWhitespace(text, p);
    if (p < text.size() && text[p] == ',') {
      p = SkipWhitespace(text, p + 1);
      continue;
    }
    if (p < text.size() && text[p] == '}') {
      *pos = p + 1;
      return vocab;
    }
    return ErrorAt(p, "expected ',' or '}'");
  }
}

size_t FindJsonMember(std::string_view text, size_t pos, std::string_view key) {
  size_t p = SkipWhitespace(text, pos);
  if (p >= text.size() || text[p] != '{') return kNpos;
  p = SkipWhitespace(text, p + 1);
  while (p < text.size() && text[p] == '"') {
    const size_t end = SkipString(text, p);
    if (end == kNpos) return kNpos;
    const bool match = text.substr(p + 1, end - p - 2) == key;
    p = SkipWhitespace(text, end);
    if (p >= text.size() || text[p] != ':') return kNpos;
    p = SkipWhitespace(text, p + 1);
    if (match) return p;
    p = SkipValue(text, p);
    if (p == kNpos) return kNpos;
    p = SkipWhitespace(text, p);
    if (p >= text.size() || text[p] != ',') return kNpos;
    p = SkipWhitespace(text, p + 1);
  }
  return kNpos;
}

}  // namespace sasrecllm::llm
