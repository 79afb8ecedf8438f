#include "base/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <utility>

#include "base/file.h"

namespace sasrecllm {
namespace {

std::string KeyText(std::string_view key) { return "key \"" + std::string(key) + "\""; }

Status WrongType(std::string_view what, const char* expected, const Json& value) {
  std::string got = value.type_name();
  if (value.is_number_float()) got = "non-integral number " + DumpJson(value);
  return InvalidArgumentError(std::string(what) + ": expected " + expected + ", got " + got);
}

// Looks `key` up and converts it with `as`; `fallback` (may be null) stands
// for an absent or null member.
template <typename T, typename As>
StatusOr<T> Get(const Json& object, std::string_view key, const T* fallback, As as) {
  const Json* v = FindKey(object, key);
  if (v == nullptr || (fallback != nullptr && v->is_null())) {
    if (fallback != nullptr) return *fallback;
    return InvalidArgumentError("missing " + KeyText(key));
  }
  return as(*v, KeyText(key));
}

}  // namespace

namespace {

template <typename JsonType>
StatusOr<JsonType> Parse(std::string_view text, std::string_view what) {
  try {
    return JsonType::parse(text.begin(), text.end());
  } catch (const typename JsonType::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1,
    // column 7: syntax error while parsing value - ...".
    std::string detail = e.what();
    const size_t pos = detail.find("] ");
    if (pos != std::string::npos) detail = detail.substr(pos + 2);
    return DataLossError(std::string(what) + ": JSON parse error at byte " +
                         std::to_string(e.byte) + ": " + detail);
  } catch (const std::exception& e) {
    return DataLossError(std::string(what) + ": JSON parse error: " + e.what());
  }
}

}  // namespace

StatusOr<Json> ParseJson(std::string_view text, std::string_view what) {
  return Parse<Json>(text, what);
}

StatusOr<SortedJson> ParseSortedJson(std::string_view text, std::string_view what) {
  return Parse<SortedJson>(text, what);
}

StatusOr<Json> ReadJsonFile(const std::string& path) {
  SASRECLLM_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseJson(text, path);
}

std::string DumpJson(const Json& value, int indent) {
  return value.dump(indent, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  return DumpJson(Json(value));
}

const Json* FindKey(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(std::string(key));
  return it == object.end() ? nullptr : &*it;
}

const Json& Member(const Json& object, std::string_view key) {
  static const Json* const kNull = new Json();
  const Json* v = FindKey(object, key);
  return v == nullptr ? *kNull : *v;
}

bool IsInteger(const Json& value) {
  if (value.is_number_integer()) {
    return !value.is_number_unsigned() ||
           value.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX);
  }
  if (!value.is_number_float()) return false;
  const double d = value.get<double>();
  // 2^63 is exactly representable; anything in [-2^63, 2^63) converts safely.
  return std::isfinite(d) && std::floor(d) == d && d >= -9223372036854775808.0 &&
         d < 9223372036854775808.0;
}

StatusOr<int64_t> AsInt(const Json& value, std::string_view what) {
  if (!IsInteger(value)) {
    if (value.is_number_unsigned()) {
      return InvalidArgumentError(std::string(what) + ": " + DumpJson(value) +
                                  " does not fit int64");
    }
    return WrongType(what, "integer", value);
  }
  if (value.is_number_float()) return static_cast<int64_t>(value.get<double>());
  return value.get<int64_t>();
}

StatusOr<double> AsDouble(const Json& value, std::string_view what) {
  if (!value.is_number()) return WrongType(what, "number", value);
  return value.get<double>();
}

StatusOr<std::string> AsString(const Json& value, std::string_view what) {
  if (!value.is_string()) return WrongType(what, "string", value);
  return value.get<std::string>();
}

StatusOr<bool> AsBool(const Json& value, std::string_view what) {
  if (!value.is_boolean()) return WrongType(what, "bool", value);
  return value.get<bool>();
}

StatusOr<int64_t> GetInt(const Json& object, std::string_view key) {
  return Get<int64_t>(object, key, nullptr, AsInt);
}
StatusOr<double> GetDouble(const Json& object, std::string_view key) {
  return Get<double>(object, key, nullptr, AsDouble);
}
StatusOr<std::string> GetString(const Json& object, std::string_view key) {
  return Get<std::string>(object, key, nullptr, AsString);
}
StatusOr<bool> GetBool(const Json& object, std::string_view key) {
  return Get<bool>(object, key, nullptr, AsBool);
}

StatusOr<const Json*> GetObject(const Json& object, std::string_view key) {
  const Json* v = FindKey(object, key);
  if (v == nullptr) return InvalidArgumentError("missing " + KeyText(key));
  if (!v->is_object()) return WrongType(KeyText(key), "object", *v);
  return v;
}

StatusOr<const Json*> GetArray(const Json& object, std::string_view key) {
  const Json* v = FindKey(object, key);
  if (v == nullptr) return InvalidArgumentError("missing " + KeyText(key));
  if (!v->is_array()) return WrongType(KeyText(key), "array", *v);
  return v;
}

StatusOr<int64_t> GetIntOr(const Json& object, std::string_view key, int64_t default_value) {
  return Get<int64_t>(object, key, &default_value, AsInt);
}
StatusOr<double> GetDoubleOr(const Json& object, std::string_view key, double default_value) {
  return Get<double>(object, key, &default_value, AsDouble);
}
StatusOr<std::string> GetStringOr(const Json& object, std::string_view key,
                                  std::string default_value) {
  return Get<std::string>(object, key, &default_value, AsString);
}
StatusOr<bool> GetBoolOr(const Json& object, std::string_view key, bool default_value) {
  return Get<bool>(object, key, &default_value, AsBool);
}

}  // namespace sasrecllm
