#include "client/collm_scorer.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/collm_split.h"
#include "grpcpp/client_context.h"

namespace sasrecllm::client {
namespace {

using Clock = std::chrono::steady_clock;

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
  StatusOr<std::vector<sasrecllm::CollmRow>> read = sasrecllm::ReadCollmSplit(path);
  if (!read.ok()) {
    // base/ and Abseil share the canonical code numbers.
    return absl::Status(static_cast<absl::StatusCode>(read.status().code()),
                        read.status().message());
  }
  std::vector<CollmRow> rows;
  rows.reserve(read->size());
  for (const sasrecllm::CollmRow& r : *read) {
    CollmRow row;
    row.user_id = std::to_string(r.user_id);
    row.item_id = std::to_string(r.item_id);
    row.label = r.label;
    row.warm = r.warm;
    row.line = r.line;
    row.history.reserve(r.history.size());
    for (int64_t id : r.history) row.history.push_back(std::to_string(id));
    rows.push_back(std::move(row));
  }
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
