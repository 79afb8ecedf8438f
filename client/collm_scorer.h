// Scores a CoLLM-format split through the running service, one Score RPC per
// row: the engine behind `sasrecllm-client score-collm`, which measures AUC
// and UAUC through the service (see base/auc.h) to compare them with the
// offline tool's `eval-sasrec --pointwise` / `eval-hybrid` on the same rows.
//
// A split file (../shared/data/collm-ml1m/SPLIT.tsv) is tab separated with the
// header `user_id item_id label timestamp warm history`; `history` is the
// user's earlier positive item ids, oldest first, space separated, possibly
// empty. Row i becomes ScoreRequest{user_id, history, candidates=[item_id],
// mode}.
//
// One dispatcher thread issues the RPCs with gRPC's callback API and keeps at
// most `concurrency` in flight; completions only store their answer. The first
// failed RPC stops the run: no new RPC is sent, the ones in flight are waited
// for, and its status is returned.
//
//   absl::StatusOr<std::vector<CollmRow>> rows = ReadCollmSplit("data/test.tsv");
//   ScoreCollmOptions options;
//   options.max_history = info.max_history();  // the server refuses longer ones
//   absl::StatusOr<ScoreCollmResult> r = ScoreCollmRows(stub.get(), *rows, options, nullptr);
//
// Thread safety: ScoreCollmRows blocks and shares nothing between calls; the
// progress callback runs on the calling thread.
#ifndef SASRECLLM_CLIENT_COLLM_SCORER_H_
#define SASRECLLM_CLIENT_COLLM_SCORER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/sasrecllm.grpc.pb.h"

namespace sasrecllm::client {

// One row of a CoLLM split as sent on the wire. Ids are strings: they are
// the catalog's external ids.
struct CollmRow {
  std::string user_id;
  std::string item_id;
  int label = 0;  // 1 = liked (rating >= 4)
  bool warm = false;
  std::vector<std::string> history;  // oldest first
  int64_t line = 0;                  // 1-based line in the file, for messages
};

// Reads a split file with base/collm_split.h's reader (same errors: NOT_FOUND
// when it does not exist; INVALID_ARGUMENT naming PATH:LINE for a missing
// header, a wrong column count, an id that is not a positive integer, or a
// label or warm flag other than 0/1) and writes its ids as strings.
absl::StatusOr<std::vector<CollmRow>> ReadCollmSplit(const std::string& path);

struct ScoreCollmOptions {
  // RPCs in flight. Default: 16.
  int concurrency = 16;
  // Sent in every request. Default: AUTO.
  v1::RankingMode mode = v1::RANKING_MODE_AUTO;
  // Deadline of each RPC. Default: 10000.
  int64_t timeout_ms = 10000;
  // Only the most recent `max_history` history ids are sent (the server's
  // GetModelInfo max_history, which it enforces; SASRec reads no more than its
  // maxlen = max_history anyway). 0: send them all. Default: 0.
  int64_t max_history = 0;
  // Seconds between two calls of the progress callback. Default: 2.
  double progress_interval_s = 2.0;

  // INVALID_ARGUMENT naming the field when out of range.
  absl::Status Validate() const;
};

// The service's answer for one row.
struct RowScore {
  bool known = false;  // false: the catalog does not know the item (not scored)
  float logit = 0;
  float probability = 0;
};

struct ScoreCollmResult {
  std::vector<RowScore> scores;                  // scores[i] answers rows[i]
  int64_t unknown_items = 0;                     // rows answered known=false
  int64_t unknown_history = 0;                   // sum of unknown_history_items
  int64_t truncated_histories = 0;               // rows whose history was cut to max_history
  v1::RankingMode mode = v1::RANKING_MODE_AUTO;  // the mode that ran (first answer)
  std::string model_version;
  double seconds = 0;  // wall time of the RPCs
};

struct ScoreProgress {
  size_t done = 0;
  size_t total = 0;
  double elapsed_s = 0;
};

// Scores every row. Returns the first failed RPC's status (same canonical
// code; message "LINE (user U, item I): <server message>"), INTERNAL when an
// answer does not hold exactly the one candidate asked for, or
// INVALID_ARGUMENT for bad options. `progress` (may be empty) is called about
// every progress_interval_s while RPCs are running.
absl::StatusOr<ScoreCollmResult> ScoreCollmRows(
    v1::Recommender::Stub* stub, const std::vector<CollmRow>& rows,
    const ScoreCollmOptions& options, const std::function<void(const ScoreProgress&)>& progress);

}  // namespace sasrecllm::client

#endif  // SASRECLLM_CLIENT_COLLM_SCORER_H_
