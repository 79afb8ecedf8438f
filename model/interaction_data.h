// Interaction data for SASRec: readers, writers, converters and a synthetic
// generator, all producing per-user, time-ordered item sequences.
//
// Formats read:
//   - SASRec sequence files: `user item` per line (the SASRec authors' and
//     pmixer's format, lines in time order per user) or `user item1 item2 ...`
//     per line. User and item ids are positive integers; item 0 is padding.
//   - The CoLLM TSV split's items.tsv (its train/valid/test.tsv rows are read
//     by base/collm_split.h; see ../shared/data/README.md).
//   - Raw MovieLens ratings.dat / movies.dat (`::`-separated, latin-1 titles).
// Every reader's error names the file and the line ("path:12: ...").
//
//   SASRECLLM_ASSIGN_OR_RETURN(SequenceData data,
//                              ReadSequenceFile(path, SequenceFormat::kAuto));
//   SplitData split = SplitLeaveLastTwo(data);
//
// Thread safety: plain values and free functions; no shared state.
#ifndef SASRECLLM_MODEL_INTERACTION_DATA_H_
#define SASRECLLM_MODEL_INTERACTION_DATA_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/collm_split.h"
#include "base/status.h"

namespace sasrecllm::model {

// ---------------------------------------------------------------------------
// Sequences

enum class SequenceFormat {
  kAuto,   // lists when any line has more than 2 tokens, else pairs
  kPairs,  // `user item` per line
  kLists,  // `user item1 item2 ...` per line (a user may have no items)
};

// "auto" | "pairs" | "lists"; INVALID_ARGUMENT otherwise.
StatusOr<SequenceFormat> ParseSequenceFormat(std::string_view name);

struct SequenceData {
  // sequences[u] = user u's items, oldest first; u in 1..user_num, index 0
  // unused (pmixer's numbering). size() == user_num + 1.
  std::vector<std::vector<int64_t>> sequences;
  int64_t user_num = 0;  // the largest user id
  int64_t item_num = 0;  // the largest item id (items are 1..item_num)

  int64_t NumInteractions() const;
};

// User and item ids are dense table indices: ParseSequences refuses
// (INVALID_ARGUMENT naming the line) an id above kMaxSequenceId, or above
// kSequenceIdSlack + 64 x the number of ids in the file (a few large ids
// would otherwise allocate tables for every id below them).
inline constexpr int64_t kMaxSequenceId = 100'000'000;
inline constexpr int64_t kSequenceIdSlack = 1 << 20;

// Reads a sequence file. Blank lines are skipped. In the lists layout a user
// that appears on several lines has the lines concatenated in file order.
// Errors (INVALID_ARGUMENT / NOT_FOUND) name "path:line".
StatusOr<SequenceData> ReadSequenceFile(const std::string& path, SequenceFormat format);
// Parses text already in memory; `name` stands for the path in errors.
StatusOr<SequenceData> ParseSequences(std::string_view text, SequenceFormat format,
                                      const std::string& name);
// Writes the lists layout, one line per user 1..user_num with >= 1 item.
Status WriteSequenceFile(const std::string& path, const SequenceData& data);

// ---------------------------------------------------------------------------
// Items tables (items.tsv): a header line, then `item_id<TAB>title[<TAB>...]`.

struct ItemTitle {
  int64_t item_id = 0;
  std::string title;
  std::string source_id;  // optional third column (e.g. MovieLens MovieID)
};

StatusOr<std::vector<ItemTitle>> ReadItemsTsv(const std::string& path);
// Writes `item_id<TAB>title` (and `source_id` when any item has one). Tabs and
// newlines in titles are replaced by spaces.
Status WriteItemsTsv(const std::string& path, const std::vector<ItemTitle>& items);

// ---------------------------------------------------------------------------
// CoLLM split rows (read by base/collm_split.h).

// Sequences of each user's positive rows (label 1) ordered by timestamp (file
// order on ties); item_num = max(largest item id in `items`, in rows).
SequenceData SequencesFromCollmRows(const std::vector<CollmRow>& rows,
                                    const std::vector<ItemTitle>& items);

// ---------------------------------------------------------------------------
// Raw MovieLens (ratings.dat `UserID::MovieID::Rating::Timestamp`, movies.dat
// `MovieID::Title::Genres`).

struct MovieLensOptions {
  int min_rating = 0;  // keep ratings >= this; Default: 0 (all)
};

struct MovieLensData {
  // Users and items renumbered 1..N in order of first appearance among the
  // kept ratings; each user's items ordered by timestamp (file order on ties).
  SequenceData sequences;
  // items[i - 1] describes item i: title converted from latin-1 to UTF-8,
  // source_id = the MovieLens MovieID.
  std::vector<ItemTitle> items;
};

StatusOr<MovieLensData> ReadMovieLens(const std::string& ratings_path,
                                      const std::string& movies_path,
                                      const MovieLensOptions& options);

// Each byte >= 0x80 becomes its two-byte UTF-8 encoding.
std::string Latin1ToUtf8(std::string_view latin1);

// ---------------------------------------------------------------------------
// Synthetic data with planted sequential structure.
//
// Items 1..num_items are split into num_clusters clusters, each with a random
// cyclic order. A user picks a cluster and a start item, then at each step
// moves to the successor of the current item with probability `p_next`, else
// to a uniformly random item of the same cluster. A sequential model learns the
// successor relation, so HR@10 ends far above random (~10/101).

struct SyntheticOptions {
  int64_t num_users = 2000;     // Default: 2000
  int64_t num_items = 500;      // Default: 500
  int64_t num_clusters = 10;    // Default: 10
  int64_t min_length = 5;       // Default: 5
  int64_t max_length = 30;      // Default: 30
  double p_next = 0.8;          // Default: 0.8
  uint64_t seed = 42;           // Default: 42

  Status Validate() const;
};

struct SyntheticData {
  SequenceData sequences;
  std::vector<ItemTitle> items;  // "Item 17 (cluster 3)"
};

// Deterministic in `options` (seed included).
StatusOr<SyntheticData> GenerateSynthetic(const SyntheticOptions& options);

// ---------------------------------------------------------------------------
// The SASRec paper's split: per user with >= 3 interactions the last item is
// test, the second last valid, the rest train; users with fewer: all train.

struct SplitData {
  int64_t user_num = 0;
  int64_t item_num = 0;
  // Indexed by user id 1..user_num (index 0 unused).
  std::vector<std::vector<int64_t>> train;
  std::vector<int64_t> valid;  // 0 = none
  std::vector<int64_t> test;   // 0 = none
};

SplitData SplitLeaveLastTwo(const SequenceData& data);

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_INTERACTION_DATA_H_
