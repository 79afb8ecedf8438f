// A small JSON value: parse, build, dump.
//
// The model library reads config.json, manifest.json and safetensors headers
// and must build against libtorch alone, so it carries this instead of a JSON
// dependency. Numbers are kept as double plus, when integral, int64.
//
//   SASRECLLM_ASSIGN_OR_RETURN(Json j, Json::Parse(text));
//   int64_t n = j["hidden_units"].AsInt();   // "hidden_units" must exist
//   const Json* v = j.Find("maybe");         // nullptr when absent
//   Json out = Json::Object(); out.Set("a", Json(1)); out.Dump(2);
#ifndef SASRECLLM_MODEL_JSON_H_
#define SASRECLLM_MODEL_JSON_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/status.h"

namespace sasrecllm {

class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Json() = default;  // null
  Json(bool b);                // NOLINT
  Json(int v);                 // NOLINT
  Json(int64_t v);             // NOLINT
  Json(double v);              // NOLINT
  Json(const char* s);         // NOLINT
  Json(std::string s);         // NOLINT
  static Json Array();
  static Json Object();

  // Parses one JSON document (trailing whitespace allowed). The error names the
  // byte offset and what was expected.
  static StatusOr<Json> Parse(std::string_view text);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }
  // True for numbers with no fractional part that fit int64.
  bool is_integer() const;

  // Accessors; precondition: the matching type (checked by assert; in release
  // builds a wrong type returns false / 0 / "").
  bool AsBool() const;
  int64_t AsInt() const;
  double AsDouble() const;
  const std::string& AsString() const;

  // Arrays.
  size_t size() const;  // elements of an array or members of an object
  const Json& operator[](size_t i) const;
  void Push(Json v);

  // Objects (members keep insertion order when dumped).
  const Json* Find(std::string_view key) const;  // nullptr when absent / not an object
  const Json& operator[](std::string_view key) const;  // null Json when absent
  void Set(std::string key, Json v);
  // Builds an object from members in order; a repeated key keeps its first
  // position and its last value (what Set does one at a time), in O(n)
  // instead of Set's O(n) per member.
  static Json ObjectFrom(std::vector<std::pair<std::string, Json>> members);
  const std::vector<std::pair<std::string, Json>>& items() const { return object_; }
  const std::vector<Json>& elements() const { return array_; }

  // indent < 0: compact, one line. Otherwise pretty with that many spaces.
  std::string Dump(int indent = -1) const;

  // Typed look-ups with errors naming the key ("missing key \"x\"",
  // "key \"x\": expected integer, got string").
  StatusOr<int64_t> GetInt(std::string_view key) const;
  StatusOr<double> GetDouble(std::string_view key) const;
  StatusOr<std::string> GetString(std::string_view key) const;
  StatusOr<bool> GetBool(std::string_view key) const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0.0;
  int64_t int_ = 0;
  bool integral_ = false;
  std::string string_;
  std::vector<Json> array_;
  std::vector<std::pair<std::string, Json>> object_;
};

// Reads a whole file into a string; NOT_FOUND / DATA_LOSS errors name the path.
StatusOr<std::string> ReadFileToString(const std::string& path);
// Writes atomically (temp file + rename), so a crash never leaves half a file.
Status WriteStringToFile(const std::string& path, std::string_view contents);
// The same for contents written by `write_contents` into the temp file (it
// returns false on a failed write): e.g. tensors streamed without one big
// string. Errors name `path`.
Status WriteFileAtomically(const std::string& path,
                           const std::function<bool(std::FILE*)>& write_contents);

}  // namespace sasrecllm

#endif  // SASRECLLM_MODEL_JSON_H_
