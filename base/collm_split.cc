#include "base/collm_split.h"

#include <utility>

#include "base/file.h"
#include "base/text.h"

namespace sasrecllm {
namespace {

constexpr size_t kColumns = 6;  // user_id item_id label timestamp warm history

// "0" or "1", else an error naming the field and value.
Status ParseFlag(std::string_view token, const char* field, const std::string& name,
                 int64_t line, int* out) {
  if (token != "0" && token != "1") {
    return LineError(name, line,
                   std::string(field) + " must be 0 or 1, got \"" + std::string(token) + "\"");
  }
  *out = token == "1" ? 1 : 0;
  return OkStatus();
}

Status ParseRow(std::string_view line, const std::string& name, int64_t line_no, CollmRow* row) {
  const std::vector<std::string_view> f = SplitOn(line, "\t");
  if (f.size() != kColumns) {
    return LineError(name, line_no,
                   "expected 6 tab-separated fields (user_id item_id label timestamp "
                   "warm history), got " +
                       std::to_string(f.size()));
  }
  row->line = line_no;
  SASRECLLM_RETURN_IF_ERROR(ParsePositiveId(f[0], "user_id", name, line_no, &row->user_id));
  SASRECLLM_RETURN_IF_ERROR(ParsePositiveId(f[1], "item_id", name, line_no, &row->item_id));
  SASRECLLM_RETURN_IF_ERROR(ParseFlag(f[2], "label", name, line_no, &row->label));
  if (!ParseInt64(f[3], &row->timestamp)) {
    return LineError(name, line_no, "bad timestamp \"" + std::string(f[3]) + "\"");
  }
  int warm = 0;
  SASRECLLM_RETURN_IF_ERROR(ParseFlag(f[4], "warm", name, line_no, &warm));
  row->warm = warm == 1;
  for (std::string_view token : SplitWhitespace(f[5])) {
    int64_t item = 0;
    SASRECLLM_RETURN_IF_ERROR(ParsePositiveId(token, "history item", name, line_no, &item));
    row->history.push_back(item);
  }
  return OkStatus();
}

}  // namespace

StatusOr<std::vector<CollmRow>> ParseCollmSplit(std::string_view text, const std::string& name) {
  std::vector<CollmRow> rows;
  int64_t lines = 0;
  SASRECLLM_RETURN_IF_ERROR(ForEachLine(text, [&](int64_t line_no, std::string_view line) {
    lines = line_no;
    if (line_no == 1) {
      if (line.rfind("user_id", 0) == 0) return OkStatus();
      return LineError(name, line_no,
                       "expected the header `user_id\titem_id\tlabel\ttimestamp\twarm\thistory`");
    }
    if (line.empty()) return OkStatus();
    CollmRow row;
    SASRECLLM_RETURN_IF_ERROR(ParseRow(line, name, line_no, &row));
    rows.push_back(std::move(row));
    return OkStatus();
  }));
  if (lines == 0) return LineError(name, 1, "empty file: expected the header line");
  return rows;
}

StatusOr<std::vector<CollmRow>> ReadCollmSplit(const std::string& path) {
  SASRECLLM_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseCollmSplit(text, path);
}

}  // namespace sasrecllm
