// Small helpers for the line-oriented text formats the readers share
// (sequence files, items.tsv, the CoLLM split, catalog.tsv, merges.txt): one
// line loop, field splitting and integer parsing whose errors name
// "FILE:LINE: ".
//
//   SASRECLLM_RETURN_IF_ERROR(ForEachLine(text, [&](int64_t line, std::string_view s) {
//     std::vector<std::string_view> f = SplitOn(s, "\t");
//     ...
//     return OkStatus();
//   }));
//
// Thread safety: pure functions.
#ifndef SASRECLLM_BASE_TEXT_H_
#define SASRECLLM_BASE_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sasrecllm {

// Calls fn(line_number, line) for each line of `text` (1-based numbers, the
// line without '\n' or a trailing '\r'; a final line without '\n' counts);
// returns the first error fn returns.
template <typename Fn>
Status ForEachLine(std::string_view text, Fn fn) {
  size_t start = 0;
  int64_t line_no = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++line_no;
    SASRECLLM_RETURN_IF_ERROR(fn(line_no, line));
    start = end + 1;
  }
  return OkStatus();
}

// Splits on runs of spaces and tabs (no empty fields).
std::vector<std::string_view> SplitWhitespace(std::string_view line);
// Splits on every occurrence of `sep` (empty fields kept).
std::vector<std::string_view> SplitOn(std::string_view line, std::string_view sep);

// The whole of `s` as a decimal int64; false for anything else.
bool ParseInt64(std::string_view s, int64_t* out);

// INVALID_ARGUMENT "NAME:LINE: WHAT".
Status LineError(const std::string& name, int64_t line, const std::string& what);
// A positive id, or LineError `FIELD must be a positive integer, got "TOKEN"`.
Status ParsePositiveId(std::string_view token, const char* field, const std::string& name,
                       int64_t line, int64_t* out);

// A duration for progress lines, "H:MM:SS" (e.g. "0:04:05"); "?" for a
// negative, NaN or absurdly long (> 10^7 s) estimate.
std::string FormatDuration(double seconds);

}  // namespace sasrecllm

#endif  // SASRECLLM_BASE_TEXT_H_
