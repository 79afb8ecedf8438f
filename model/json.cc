#include "model/json.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <fstream>
#include <functional>
#include <sstream>

namespace sasrecllm {

// ---------------------------------------------------------------------------
// Construction
// ---------------------------------------------------------------------------

Json::Json(bool b) : type_(Type::kBool), bool_(b) {}
Json::Json(int v) : Json(static_cast<int64_t>(v)) {}
Json::Json(int64_t v)
    : type_(Type::kNumber), number_(static_cast<double>(v)), int_(v), integral_(true) {}
Json::Json(double v) : type_(Type::kNumber), number_(v) {
  // 2^63 is exactly representable; anything in [-2^63, 2^63) converts safely.
  if (std::isfinite(v) && std::floor(v) == v && v >= -9223372036854775808.0 &&
      v < 9223372036854775808.0) {
    int_ = static_cast<int64_t>(v);
    integral_ = true;
  }
}
Json::Json(const char* s) : type_(Type::kString), string_(s) {}
Json::Json(std::string s) : type_(Type::kString), string_(std::move(s)) {}

Json Json::Array() {
  Json j;
  j.type_ = Type::kArray;
  return j;
}

Json Json::Object() {
  Json j;
  j.type_ = Type::kObject;
  return j;
}

bool Json::is_integer() const { return type_ == Type::kNumber && integral_; }

bool Json::AsBool() const {
  assert(is_bool());
  return type_ == Type::kBool ? bool_ : false;
}

int64_t Json::AsInt() const {
  assert(is_number());
  if (type_ != Type::kNumber) return 0;
  return integral_ ? int_ : static_cast<int64_t>(number_);
}

double Json::AsDouble() const {
  assert(is_number());
  return type_ == Type::kNumber ? number_ : 0.0;
}

const std::string& Json::AsString() const {
  assert(is_string());
  static const std::string* const kEmpty = new std::string();
  return type_ == Type::kString ? string_ : *kEmpty;
}

size_t Json::size() const {
  if (type_ == Type::kArray) return array_.size();
  if (type_ == Type::kObject) return object_.size();
  return 0;
}

const Json& Json::operator[](size_t i) const {
  static const Json* const kNull = new Json();
  assert(is_array() && i < array_.size());
  if (type_ != Type::kArray || i >= array_.size()) return *kNull;
  return array_[i];
}

void Json::Push(Json v) {
  assert(is_array() || is_null());
  if (type_ == Type::kNull) type_ = Type::kArray;
  array_.push_back(std::move(v));
}

const Json* Json::Find(std::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (const auto& [k, v] : object_) {
    if (k == key) return &v;
  }
  return nullptr;
}

const Json& Json::operator[](std::string_view key) const {
  static const Json* const kNull = new Json();
  const Json* v = Find(key);
  return v != nullptr ? *v : *kNull;
}

Json Json::ObjectFrom(std::vector<std::pair<std::string, Json>> members) {
  Json out = Object();
  std::unordered_map<std::string, size_t> index;  // key -> position in out.object_
  index.reserve(members.size());
  for (auto& [key, value] : members) {
    auto [it, inserted] = index.emplace(key, out.object_.size());
    if (inserted) {
      out.object_.emplace_back(std::move(key), std::move(value));
    } else {
      out.object_[it->second].second = std::move(value);
    }
  }
  return out;
}

void Json::Set(std::string key, Json v) {
  assert(is_object() || is_null());
  if (type_ == Type::kNull) type_ = Type::kObject;
  for (auto& [k, old] : object_) {
    if (k == key) {
      old = std::move(v);
      return;
    }
  }
  object_.emplace_back(std::move(key), std::move(v));
}

// ---------------------------------------------------------------------------
// Typed look-ups
// ---------------------------------------------------------------------------

namespace {

const char* TypeName(Json::Type t) {
  switch (t) {
    case Json::Type::kNull: return "null";
    case Json::Type::kBool: return "bool";
    case Json::Type::kNumber: return "number";
    case Json::Type::kString: return "string";
    case Json::Type::kArray: return "array";
    case Json::Type::kObject: return "object";
  }
  return "?";
}

std::string KeyText(std::string_view key) { return "key \"" + std::string(key) + "\""; }

}  // namespace

StatusOr<int64_t> Json::GetInt(std::string_view key) const {
  const Json* v = Find(key);
  if (v == nullptr) return InvalidArgumentError("missing " + KeyText(key));
  if (!v->is_integer()) {
    std::string got = v->is_number() ? "non-integral number " + v->Dump() : TypeName(v->type());
    return InvalidArgumentError(KeyText(key) + ": expected integer, got " + got);
  }
  return v->int_;
}

StatusOr<double> Json::GetDouble(std::string_view key) const {
  const Json* v = Find(key);
  if (v == nullptr) return InvalidArgumentError("missing " + KeyText(key));
  if (!v->is_number()) {
    return InvalidArgumentError(KeyText(key) + ": expected number, got " + TypeName(v->type()));
  }
  return v->number_;
}

StatusOr<std::string> Json::GetString(std::string_view key) const {
  const Json* v = Find(key);
  if (v == nullptr) return InvalidArgumentError("missing " + KeyText(key));
  if (!v->is_string()) {
    return InvalidArgumentError(KeyText(key) + ": expected string, got " + TypeName(v->type()));
  }
  return v->string_;
}

StatusOr<bool> Json::GetBool(std::string_view key) const {
  const Json* v = Find(key);
  if (v == nullptr) return InvalidArgumentError("missing " + KeyText(key));
  if (!v->is_bool()) {
    return InvalidArgumentError(KeyText(key) + ": expected bool, got " + TypeName(v->type()));
  }
  return v->bool_;
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

namespace {

constexpr int kMaxDepth = 512;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  StatusOr<Json> ParseDocument() {
    Json value;
    SASRECLLM_RETURN_IF_ERROR(ParseValue(&value, 0));
    SkipWhitespace();
    if (pos_ != text_.size()) return Error("expected end of input");
    return value;
  }

 private:
  Status Error(const std::string& what) const {
    std::string found;
    if (pos_ >= text_.size()) {
      found = "end of input";
    } else {
      unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c >= 0x20 && c < 0x7f) {
        found = std::string("'") + static_cast<char>(c) + "'";
      } else {
        char buf[16];
        std::snprintf(buf, sizeof(buf), "byte 0x%02x", c);
        found = buf;
      }
    }
    return InvalidArgumentError("JSON parse error at offset " + std::to_string(pos_) + ": " +
                                what + ", found " + found);
  }

  void SkipWhitespace() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else {
        break;
      }
    }
  }

  bool Consume(std::string_view literal) {
    if (text_.substr(pos_, literal.size()) == literal) {
      pos_ += literal.size();
      return true;
    }
    return false;
  }

  Status ParseValue(Json* out, int depth) {
    if (depth > kMaxDepth) return Error("nesting deeper than " + std::to_string(kMaxDepth));
    SkipWhitespace();
    if (pos_ >= text_.size()) return Error("expected a value");
    char c = text_[pos_];
    switch (c) {
      case '{': return ParseObject(out, depth);
      case '[': return ParseArray(out, depth);
      case '"': {
        std::string s;
        SASRECLLM_RETURN_IF_ERROR(ParseString(&s));
        *out = Json(std::move(s));
        return OkStatus();
      }
      case 't':
        if (Consume("true")) {
          *out = Json(true);
          return OkStatus();
        }
        return Error("expected a value");
      case 'f':
        if (Consume("false")) {
          *out = Json(false);
          return OkStatus();
        }
        return Error("expected a value");
      case 'n':
        if (Consume("null")) {
          *out = Json();
          return OkStatus();
        }
        return Error("expected a value");
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
        return Error("expected a value");
    }
  }

  Status ParseObject(Json* out, int depth) {
    ++pos_;  // '{'
    std::vector<std::pair<std::string, Json>> members;
    SkipWhitespace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      *out = Json::Object();
      return OkStatus();
    }
    while (true) {
      SkipWhitespace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Error("expected '\"' (object key)");
      std::string key;
      SASRECLLM_RETURN_IF_ERROR(ParseString(&key));
      SkipWhitespace();
      if (pos_ >= text_.size() || text_[pos_] != ':') return Error("expected ':'");
      ++pos_;
      Json value;
      SASRECLLM_RETURN_IF_ERROR(ParseValue(&value, depth + 1));
      members.emplace_back(std::move(key), std::move(value));  // a repeated key: the last one wins
      SkipWhitespace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        break;
      }
      return Error("expected ',' or '}'");
    }
    *out = Json::ObjectFrom(std::move(members));
    return OkStatus();
  }

  Status ParseArray(Json* out, int depth) {
    ++pos_;  // '['
    Json arr = Json::Array();
    SkipWhitespace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      *out = std::move(arr);
      return OkStatus();
    }
    while (true) {
      Json value;
      SASRECLLM_RETURN_IF_ERROR(ParseValue(&value, depth + 1));
      arr.Push(std::move(value));
      SkipWhitespace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        break;
      }
      return Error("expected ',' or ']'");
    }
    *out = std::move(arr);
    return OkStatus();
  }

  static int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  Status ParseHex4(uint32_t* out) {
    if (pos_ + 4 > text_.size()) return Error("expected 4 hex digits after \\u");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      int h = HexValue(text_[pos_]);
      if (h < 0) return Error("expected a hex digit in \\u escape");
      v = (v << 4) | static_cast<uint32_t>(h);
      ++pos_;
    }
    *out = v;
    return OkStatus();
  }

  static void AppendUtf8(uint32_t cp, std::string* s) {
    if (cp < 0x80) {
      s->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      s->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  Status ParseString(std::string* out) {
    ++pos_;  // opening quote
    out->clear();
    while (true) {
      if (pos_ >= text_.size()) return Error("unterminated string");
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return OkStatus();
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return Error("control character in string (must be escaped)");
      }
      if (c != '\\') {
        out->push_back(c);
        ++pos_;
        continue;
      }
      ++pos_;  // backslash
      if (pos_ >= text_.size()) return Error("unterminated escape");
      char e = text_[pos_];
      switch (e) {
        case '"': out->push_back('"'); ++pos_; break;
        case '\\': out->push_back('\\'); ++pos_; break;
        case '/': out->push_back('/'); ++pos_; break;
        case 'b': out->push_back('\b'); ++pos_; break;
        case 'f': out->push_back('\f'); ++pos_; break;
        case 'n': out->push_back('\n'); ++pos_; break;
        case 'r': out->push_back('\r'); ++pos_; break;
        case 't': out->push_back('\t'); ++pos_; break;
        case 'u': {
          ++pos_;
          uint32_t cp = 0;
          SASRECLLM_RETURN_IF_ERROR(ParseHex4(&cp));
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // High surrogate: a low surrogate must follow.
            if (!Consume("\\u")) return Error("expected a low surrogate \\uDC00..\\uDFFF");
            uint32_t lo = 0;
            SASRECLLM_RETURN_IF_ERROR(ParseHex4(&lo));
            if (lo < 0xDC00 || lo > 0xDFFF) {
              pos_ -= 4;
              return Error("expected a low surrogate \\uDC00..\\uDFFF");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            pos_ -= 4;
            return Error("unpaired low surrogate");
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return Error("invalid escape");
      }
    }
  }

  Status ParseNumber(Json* out) {
    size_t start = pos_;
    bool integral = true;
    if (text_[pos_] == '-') ++pos_;
    if (pos_ >= text_.size() || !std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      return Error("expected a digit");
    }
    if (text_[pos_] == '0') {
      ++pos_;
    } else {
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      integral = false;
      ++pos_;
      if (pos_ >= text_.size() || !std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        return Error("expected a digit after '.'");
      }
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (pos_ >= text_.size() || !std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        return Error("expected a digit in exponent");
      }
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    }
    std::string token(text_.substr(start, pos_ - start));
    if (integral) {
      errno = 0;
      char* end = nullptr;
      long long v = std::strtoll(token.c_str(), &end, 10);
      if (errno == 0 && end == token.c_str() + token.size()) {
        *out = Json(static_cast<int64_t>(v));
        return OkStatus();
      }
      // Out of int64 range: fall through to double.
    }
    char* end = nullptr;
    double d = std::strtod(token.c_str(), &end);
    if (!std::isfinite(d)) {
      pos_ = start;
      return Error("number out of range");
    }
    *out = Json(d);
    return OkStatus();
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------
// Dump
// ---------------------------------------------------------------------------

void DumpString(const std::string& s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", u);
          out->append(buf);
        } else {
          out->push_back(c);  // UTF-8 passes through unchanged
        }
    }
  }
  out->push_back('"');
}

void DumpNumber(const Json& j, std::string* out) {
  if (j.is_integer()) {
    out->append(std::to_string(j.AsInt()));
    return;
  }
  double d = j.AsDouble();
  if (!std::isfinite(d)) {  // JSON has no NaN / Inf
    out->append("null");
    return;
  }
  // Shortest representation that round-trips.
  char buf[32];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s(buf);
  // Keep it recognisably non-integral for readers that care ("1e+20" is fine).
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  out->append(s);
}

void DumpValue(const Json& j, int indent, int depth, std::string* out) {
  auto newline = [&](int d) {
    if (indent < 0) return;
    out->push_back('\n');
    out->append(static_cast<size_t>(indent) * d, ' ');
  };
  switch (j.type()) {
    case Json::Type::kNull: out->append("null"); break;
    case Json::Type::kBool: out->append(j.AsBool() ? "true" : "false"); break;
    case Json::Type::kNumber: DumpNumber(j, out); break;
    case Json::Type::kString: DumpString(j.AsString(), out); break;
    case Json::Type::kArray: {
      if (j.size() == 0) {
        out->append("[]");
        break;
      }
      out->push_back('[');
      bool first = true;
      for (const Json& e : j.elements()) {
        if (!first) out->push_back(',');
        first = false;
        newline(depth + 1);
        DumpValue(e, indent, depth + 1, out);
      }
      newline(depth);
      out->push_back(']');
      break;
    }
    case Json::Type::kObject: {
      if (j.size() == 0) {
        out->append("{}");
        break;
      }
      out->push_back('{');
      bool first = true;
      for (const auto& [k, v] : j.items()) {
        if (!first) out->push_back(',');
        first = false;
        newline(depth + 1);
        DumpString(k, out);
        out->append(indent < 0 ? ":" : ": ");
        DumpValue(v, indent, depth + 1, out);
      }
      newline(depth);
      out->push_back('}');
      break;
    }
  }
}

}  // namespace

StatusOr<Json> Json::Parse(std::string_view text) { return Parser(text).ParseDocument(); }

std::string Json::Dump(int indent) const {
  std::string out;
  DumpValue(*this, indent, 0, &out);
  return out;
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    int err = errno;
    std::string msg = path + ": cannot open: " + std::strerror(err);
    if (err == ENOENT) return NotFoundError(msg);
    return DataLossError(msg);
  }
  std::string contents;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) contents.append(buf, n);
  bool failed = std::ferror(f) != 0;
  int err = errno;
  std::fclose(f);
  if (failed) return DataLossError(path + ": read error: " + std::strerror(err));
  return contents;
}

Status WriteFileAtomically(const std::string& path,
                           const std::function<bool(std::FILE*)>& write_contents) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    return FailedPreconditionError(path + ": cannot create " + tmp + ": " +
                                   std::strerror(errno));
  }
  errno = 0;
  bool ok = write_contents(f);
  ok = (std::fflush(f) == 0) && ok;
  ok = (::fsync(::fileno(f)) == 0) && ok;
  int err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    return DataLossError(path + ": write failed: " + std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    std::remove(tmp.c_str());
    return DataLossError(path + ": rename from " + tmp + " failed: " + std::strerror(err));
  }
  return OkStatus();
}

Status WriteStringToFile(const std::string& path, std::string_view contents) {
  return WriteFileAtomically(path, [&](std::FILE* f) {
    return contents.empty() || std::fwrite(contents.data(), 1, contents.size(), f) == contents.size();
  });
}

}  // namespace sasrecllm
