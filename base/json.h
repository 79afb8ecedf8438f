// JSON for every library: nlohmann::ordered_json (members keep insertion order
// when dumped) behind a few functions that never throw and whose errors name
// the file or the key.
//
//   SASRECLLM_ASSIGN_OR_RETURN(Json config, ReadJsonFile(dir + "/config.json"));
//   SASRECLLM_ASSIGN_OR_RETURN(int64_t hidden, GetInt(config, "hidden_size"));
//   SASRECLLM_ASSIGN_OR_RETURN(double eps, GetDoubleOr(config, "rms_norm_eps", 1e-5));
//   Json out = Json::object();
//   out["hidden_size"] = hidden;
//   SASRECLLM_RETURN_IF_ERROR(WriteStringToFile(path, DumpJson(out, 2)));
//
// Building values with nlohmann's own operators is fine; reading them is not:
// nlohmann throws (or asserts) on a missing key or a wrong type, so read
// through FindKey and the Get* getters here.
//
// Thread safety: free functions of their arguments.
#ifndef SASRECLLM_BASE_JSON_H_
#define SASRECLLM_BASE_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "nlohmann/json.hpp"

namespace sasrecllm {

using Json = nlohmann::ordered_json;
// Objects as std::maps (members sorted, not in file order). For documents with
// objects of many thousand members: Json checks every new member against the
// ones before it, which is quadratic (minutes for a 128,000-piece vocabulary).
using SortedJson = nlohmann::json;

// Parses one JSON document. DATA_LOSS "WHAT: JSON parse error at byte N: ..."
// when it is malformed (`what` names the file or the field it came from).
StatusOr<Json> ParseJson(std::string_view text, std::string_view what);
StatusOr<SortedJson> ParseSortedJson(std::string_view text, std::string_view what);
// ReadFileToString + ParseJson(text, path).
StatusOr<Json> ReadJsonFile(const std::string& path);

// indent < 0: compact, one line; otherwise pretty with that many spaces.
// Invalid UTF-8 in strings is written as U+FFFD instead of throwing.
std::string DumpJson(const Json& value, int indent = -1);

// `value` as a JSON number that round-trips, or "null" when not finite.
std::string JsonNumber(double value);

// The member `key` of an object; nullptr when absent or `object` is not an
// object.
const Json* FindKey(const Json& object, std::string_view key);

// The member `key` of an object, or a null value when it is absent or
// `object` is not an object: for optional nested members,
// Member(Member(j, "model"), "vocab"). Iterating a null value visits nothing.
const Json& Member(const Json& object, std::string_view key);

// True for integers and for floating-point numbers with no fractional part
// that fit int64 (what older writers put for integral doubles).
bool IsInteger(const Json& value);

// `value` converted, or INVALID_ARGUMENT "WHAT: expected integer, got string"
// (`what` names it: "key \"x\"", "vocab[3]").
StatusOr<int64_t> AsInt(const Json& value, std::string_view what);
StatusOr<double> AsDouble(const Json& value, std::string_view what);
StatusOr<std::string> AsString(const Json& value, std::string_view what);
StatusOr<bool> AsBool(const Json& value, std::string_view what);

// The member `key`. INVALID_ARGUMENT naming the key when it is missing
// ("missing key \"x\"") or has the wrong type ("key \"x\": expected integer,
// got string").
StatusOr<int64_t> GetInt(const Json& object, std::string_view key);
StatusOr<double> GetDouble(const Json& object, std::string_view key);
StatusOr<std::string> GetString(const Json& object, std::string_view key);
StatusOr<bool> GetBool(const Json& object, std::string_view key);
// An object or array member; the pointer lives as long as `object`.
StatusOr<const Json*> GetObject(const Json& object, std::string_view key);
StatusOr<const Json*> GetArray(const Json& object, std::string_view key);

// The same, but `default_value` when the key is absent or null; a present
// value of the wrong type is still an error.
StatusOr<int64_t> GetIntOr(const Json& object, std::string_view key, int64_t default_value);
StatusOr<double> GetDoubleOr(const Json& object, std::string_view key, double default_value);
StatusOr<std::string> GetStringOr(const Json& object, std::string_view key,
                                  std::string default_value);
StatusOr<bool> GetBoolOr(const Json& object, std::string_view key, bool default_value);

}  // namespace sasrecllm

#endif  // SASRECLLM_BASE_JSON_H_
