// The CoLLM TSV split (../shared/data/collm-ml1m/{train,valid,test}.tsv, see
// ../shared/data/README.md): one reader for the offline tool (model/, which
// trains and evaluates on it) and the client (which scores it through the
// service).
//
// A split file is tab separated with the header
// `user_id item_id label timestamp warm history`; `history` is the user's
// earlier positive item ids, oldest first, space separated, possibly empty.
//
//   SASRECLLM_ASSIGN_OR_RETURN(std::vector<CollmRow> rows, ReadCollmSplit(dir + "/test.tsv"));
//
// Thread safety: free functions; no shared state.
#ifndef SASRECLLM_BASE_COLLM_SPLIT_H_
#define SASRECLLM_BASE_COLLM_SPLIT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sasrecllm {

struct CollmRow {
  int64_t user_id = 0;  // >= 1
  int64_t item_id = 0;  // >= 1
  int label = 0;        // 1 = liked (rating >= 4)
  int64_t timestamp = 0;
  bool warm = false;
  std::vector<int64_t> history;  // earlier positive items (>= 1), oldest first
  int64_t line = 0;              // 1-based line in the file, for messages
};

// Reads a split file. NOT_FOUND when it does not exist; INVALID_ARGUMENT
// naming "PATH:LINE: " for an empty file, a missing header, a wrong column
// count, an id that is not a positive integer, a bad timestamp, or a label or
// warm flag other than 0/1. Blank lines are skipped.
StatusOr<std::vector<CollmRow>> ReadCollmSplit(const std::string& path);
// The same for text already in memory; `name` stands for the path in errors.
StatusOr<std::vector<CollmRow>> ParseCollmSplit(std::string_view text, const std::string& name);

}  // namespace sasrecllm

#endif  // SASRECLLM_BASE_COLLM_SPLIT_H_
