#include "client/collm_scorer.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "grpcpp/client_context.h"

namespace sasrecllm::client {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kColumns = 6;  // user_id item_id label timestamp warm history

absl::Status BadLine(const std::string& path, int64_t line, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": ", what));
}

// "0" -> 0, "1" -> 1, anything else -> nullopt.
std::optional<int> ParseFlag(absl::string_view text) {
  if (text == "0") return 0;
  if (text == "1") return 1;
  return std::nullopt;
}

// One RPC in flight; owned by itself from issue to completion.
struct Call {
  size_t row = 0;
  grpc::ClientContext context;
  v1::ScoreRequest request;
  v1::ScoreResponse response;
};

// The shared state of one run. The dispatcher (the caller's thread) and the
// completion callbacks (gRPC threads) touch it only under mu_.
class CollmRun {
 public:
  CollmRun(v1::Recommender::Stub* stub, const std::vector<CollmRow>& rows,
           const ScoreCollmOptions& options,
           const std::function<void(const ScoreProgress&)>& progress)
      : stub_(stub), rows_(rows), options_(options), progress_(progress) {
    result_.scores.resize(rows.size());
  }

  absl::StatusOr<ScoreCollmResult> Run() {
    start_ = Clock::now();
    next_progress_ = start_ + Interval();
    for (size_t i = 0; i < rows_.size(); ++i) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        Wait(lock, [&] { return outstanding_ < options_.concurrency || !error_.ok(); });
        if (!error_.ok()) break;
        ++outstanding_;
      }
      Issue(i);
    }
    std::unique_lock<std::mutex> lock(mu_);
    Wait(lock, [&] { return outstanding_ == 0; });
    if (!error_.ok()) return error_;
    result_.truncated_histories = truncated_;
    result_.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    return std::move(result_);
  }

 private:
  Clock::duration Interval() const {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(options_.progress_interval_s));
  }

  // Waits on done_ until `ready`; reports progress meanwhile, outside the lock.
  template <typename Predicate>
  void Wait(std::unique_lock<std::mutex>& lock, Predicate ready) {
    for (;;) {
      if (!progress_) {
        done_.wait(lock, ready);
        return;
      }
      if (done_.wait_until(lock, next_progress_, ready)) return;
      const Clock::time_point now = Clock::now();
      ScoreProgress p;
      p.done = completed_;
      p.total = rows_.size();
      p.elapsed_s = std::chrono::duration<double>(now - start_).count();
      next_progress_ = now + Interval();
      lock.unlock();
      progress_(p);
      lock.lock();
    }
  }

  // Sends row i; the caller has counted it in outstanding_.
  void Issue(size_t i) {
    const CollmRow& row = rows_[i];
    auto* call = new Call;
    call->row = i;
    call->request.set_user_id(row.user_id);
    size_t first = 0;
    if (options_.max_history > 0 &&
        row.history.size() > static_cast<size_t>(options_.max_history)) {
      first = row.history.size() - static_cast<size_t>(options_.max_history);
      ++truncated_;  // dispatcher thread only
    }
    for (size_t h = first; h < row.history.size(); ++h) call->request.add_history(row.history[h]);
    call->request.add_candidates(row.item_id);
    call->request.set_mode(options_.mode);
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::milliseconds(options_.timeout_ms));
    stub_->async()->Score(&call->context, &call->request, &call->response,
                          [this, call](grpc::Status status) { OnDone(call, status); });
  }

  // Runs on a gRPC thread.
  void OnDone(Call* call, const grpc::Status& status) {
    const CollmRow& row = rows_[call->row];
    auto where = [&] {
      return absl::StrCat("line ", row.line, " (user ", row.user_id, ", item ", row.item_id, ")");
    };
    absl::Status error;
    if (!status.ok()) {
      // gRPC and Abseil share the canonical code numbers.
      error = absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                           absl::StrCat(where(), ": ", status.error_message()));
    } else if (call->response.scores_size() != 1 ||
               call->response.scores(0).item_id() != row.item_id) {
      error = absl::InternalError(absl::StrCat(where(), ": the answer holds ",
                                               call->response.scores_size(),
                                               " score(s), not one for item ", row.item_id));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error.ok()) {
        if (error_.ok()) error_ = std::move(error);
      } else {
        const v1::ScoredCandidate& c = call->response.scores(0);
        RowScore& score = result_.scores[call->row];
        score.known = c.known();
        score.logit = c.logit();
        score.probability = c.probability();
        if (!c.known()) ++result_.unknown_items;
        result_.unknown_history += call->response.unknown_history_items();
        if (!answered_) {
          answered_ = true;
          result_.mode = call->response.mode();
          result_.model_version = call->response.model_version();
        }
      }
      ++completed_;
      --outstanding_;
      // Under the lock: once it is released the dispatcher may see
      // outstanding_ == 0 and destroy this run.
      done_.notify_all();
    }
    delete call;
  }

  v1::Recommender::Stub* const stub_;
  const std::vector<CollmRow>& rows_;
  const ScoreCollmOptions options_;
  const std::function<void(const ScoreProgress&)>& progress_;
  Clock::time_point start_;
  Clock::time_point next_progress_;  // dispatcher thread only
  int64_t truncated_ = 0;            // dispatcher thread only

  std::mutex mu_;
  std::condition_variable done_;
  int outstanding_ = 0;      // guarded by mu_
  size_t completed_ = 0;     // guarded by mu_
  bool answered_ = false;    // guarded by mu_: an OK answer set mode and model_version
  absl::Status error_;       // guarded by mu_: the first failure
  ScoreCollmResult result_;  // guarded by mu_
};

}  // namespace

absl::StatusOr<std::vector<CollmRow>> ReadCollmSplit(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<CollmRow> rows;
  std::string text;
  int64_t line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (line == 1) {
      if (text.rfind("user_id", 0) != 0) {
        return BadLine(path, line,
                       "expected the header `user_id\titem_id\tlabel\ttimestamp\twarm\thistory`");
      }
      continue;
    }
    if (text.empty()) continue;
    std::vector<absl::string_view> f = absl::StrSplit(text, '\t');
    if (f.size() != kColumns) {
      return BadLine(path, line,
                     absl::StrCat("expected 6 tab-separated fields (user_id item_id label "
                                  "timestamp warm history), got ",
                                  f.size()));
    }
    CollmRow row;
    row.line = line;
    row.user_id = std::string(f[0]);
    row.item_id = std::string(f[1]);
    if (row.user_id.empty() || row.item_id.empty()) {
      return BadLine(path, line, "empty user or item id");
    }
    const std::optional<int> label = ParseFlag(f[2]);
    if (!label) {
      return BadLine(path, line, absl::StrCat("label must be 0 or 1, got \"", f[2], "\""));
    }
    const std::optional<int> warm = ParseFlag(f[4]);
    if (!warm) {
      return BadLine(path, line, absl::StrCat("warm must be 0 or 1, got \"", f[4], "\""));
    }
    row.label = *label;
    row.warm = *warm == 1;
    for (absl::string_view id : absl::StrSplit(f[5], ' ', absl::SkipWhitespace())) {
      row.history.emplace_back(id);
    }
    rows.push_back(std::move(row));
  }
  if (line == 0) return BadLine(path, 1, "empty file: expected the header line");
  return rows;
}

absl::Status ScoreCollmOptions::Validate() const {
  if (concurrency < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--concurrency=", concurrency, ": must be >= 1"));
  }
  if (timeout_ms < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--timeout-ms=", timeout_ms, ": must be >= 1"));
  }
  if (max_history < 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_history=", max_history, ": must be >= 0"));
  }
  if (!(progress_interval_s > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("progress_interval_s=", progress_interval_s, ": must be > 0"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ScoreCollmResult> ScoreCollmRows(
    v1::Recommender::Stub* stub, const std::vector<CollmRow>& rows,
    const ScoreCollmOptions& options, const std::function<void(const ScoreProgress&)>& progress) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  CollmRun run(stub, rows, options, progress);
  return run.Run();
}

}  // namespace sasrecllm::client
