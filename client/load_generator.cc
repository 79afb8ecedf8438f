#include "client/load_generator.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"

namespace sasrecllm::client {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

Clock::duration FromSeconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// One RPC in flight; owned by itself from issue to completion.
struct Call {
  grpc::ClientContext context;
  v1::RecommendResponse recommend_response;
  v1::ScoreResponse score_response;
  Clock::time_point start;
  bool invalid = false;  // RequestPool::invalid: INVALID_ARGUMENT expected
};

// The shared state of one run. Callbacks (gRPC threads) and the dispatcher
// touch it only under mu_.
class LoadRun {
 public:
  LoadRun(std::vector<v1::Recommender::Stub*> stubs, const RequestPool& pool,
          const LoadOptions& options)
      : stubs_(std::move(stubs)), pool_(pool), options_(options) {}

  LoadResult Run() {
    const Clock::time_point t0 = Clock::now();
    window_start_ = t0 + FromSeconds(options_.warmup_s);
    window_end_ = window_start_ + FromSeconds(options_.duration_s);
    if (options_.rate > 0) {
      RunOpenLoop(t0);
    } else {
      RunClosedLoop();
    }
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return outstanding_ == 0; });
    result_.latency = Summarize(latencies_ms_);
    result_.error_latency = Summarize(error_latencies_ms_);
    result_.send_lag = Summarize(send_lags_ms_);
    result_.sent_rps = static_cast<double>(sent_in_window_) / options_.duration_s;
    result_.measured_s = options_.duration_s;
    result_.throughput_rps = static_cast<double>(result_.ok) / options_.duration_s;
    return result_;
  }

 private:
  void RunClosedLoop() {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        done_.wait_until(lock, window_end_,
                         [&] { return outstanding_ < options_.concurrency; });
        if (Clock::now() >= window_end_) return;
        ++outstanding_;
      }
      Issue(Clock::now());
    }
  }

  void RunOpenLoop(Clock::time_point t0) {
    const Clock::duration interval = FromSeconds(1.0 / options_.rate);
    Clock::time_point next = t0;
    for (;; next += interval) {
      if (next >= window_end_) return;
      std::this_thread::sleep_until(next);
      if (next >= window_start_) {
        send_lags_ms_.push_back(Seconds(Clock::now() - next) * 1e3);
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (outstanding_ >= options_.max_outstanding) {
          if (next >= window_start_) ++result_.dropped;
          continue;
        }
        ++outstanding_;
      }
      if (next >= window_start_) ++sent_in_window_;
      Issue(next);  // latency counts from the scheduled time
    }
  }

  // Sends the next pooled request; the caller has counted it in outstanding_.
  void Issue(Clock::time_point start) {
    auto* call = new Call;
    call->start = start;
    call->context.set_deadline(std::chrono::system_clock::now() +
                               absl::ToChronoMilliseconds(options_.timeout));
    const size_t i = next_request_++;
    const size_t k = i % (pool_.method == BenchMethod::kRecommend ? pool_.recommend.size()
                                                                   : pool_.score.size());
    call->invalid = k < pool_.invalid.size() && pool_.invalid[k];
    v1::Recommender::Stub* stub = stubs_[i % stubs_.size()];
    auto on_done = [this, call](grpc::Status status) { OnDone(call, status); };
    if (pool_.method == BenchMethod::kRecommend) {
      stub->async()->Recommend(&call->context, &pool_.recommend[k],
                                &call->recommend_response, std::move(on_done));
    } else {
      stub->async()->Score(&call->context, &pool_.score[k],
                            &call->score_response, std::move(on_done));
    }
  }

  void OnDone(Call* call, const grpc::Status& status) {
    const Clock::time_point end = Clock::now();
    const double latency_ms = Seconds(end - call->start) * 1e3;
    const bool invalid = call->invalid;
    std::string version = pool_.method == BenchMethod::kRecommend
                              ? std::move(*call->recommend_response.mutable_model_version())
                              : std::move(*call->score_response.mutable_model_version());
    delete call;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (end >= window_start_ && end < window_end_) {
        ++result_.codes[StatusCodeName(status.error_code())];
        if (status.ok()) {
          ++result_.ok;
          ++result_.model_versions[version];
          latencies_ms_.push_back(latency_ms);
        } else {
          ++result_.errors;
          error_latencies_ms_.push_back(latency_ms);
        }
        if (invalid && status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
          ++result_.expected_errors;
        } else if (invalid || !status.ok()) {
          ++result_.unexpected[StatusCodeName(status.error_code())];
        }
      }
      --outstanding_;
      // Under the lock: once it is released the dispatcher may see
      // outstanding_ == 0 and destroy this run.
      done_.notify_all();
    }
  }

  const std::vector<v1::Recommender::Stub*> stubs_;  // not empty
  const RequestPool& pool_;
  const LoadOptions options_;
  Clock::time_point window_start_;
  Clock::time_point window_end_;
  size_t next_request_ = 0;  // dispatcher thread only
  std::vector<double> send_lags_ms_;  // dispatcher thread only
  int64_t sent_in_window_ = 0;        // dispatcher thread only

  std::mutex mu_;
  std::condition_variable done_;
  int outstanding_ = 0;               // guarded by mu_
  std::vector<double> latencies_ms_;  // guarded by mu_
  std::vector<double> error_latencies_ms_;  // guarded by mu_
  LoadResult result_;                 // guarded by mu_
};

}  // namespace

absl::Status RequestShape::Validate() const {
  if (history_len < 0) {
    return absl::InvalidArgumentError(absl::StrCat("--history-len=", history_len, ": must be >= 0"));
  }
  if (top_k < 0) {
    return absl::InvalidArgumentError(absl::StrCat("--top-k=", top_k, ": must be >= 0"));
  }
  if (num_candidates < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--num-candidates=", num_candidates, ": must be >= 0"));
  }
  if (method == BenchMethod::kScore && num_candidates < 1) {
    return absl::InvalidArgumentError("--method=score needs --num-candidates >= 1");
  }
  return absl::OkStatus();
}

absl::Status LoadOptions::Validate() const {
  if (rate < 0) return absl::InvalidArgumentError(absl::StrCat("--rate=", rate, ": must be >= 0"));
  if (rate == 0 && concurrency < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--concurrency=", concurrency, ": must be >= 1"));
  }
  if (!(duration_s > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("--duration-s=", duration_s, ": must be > 0"));
  }
  if (warmup_s < 0) {
    return absl::InvalidArgumentError(absl::StrCat("--warmup-s=", warmup_s, ": must be >= 0"));
  }
  if (timeout < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout-ms=", absl::ToInt64Milliseconds(timeout), ": must be >= 1"));
  }
  if (max_outstanding < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-outstanding=", max_outstanding, ": must be >= 1"));
  }
  return absl::OkStatus();
}

RequestPool MakeRequestPool(const RequestShape& shape, const std::vector<std::string>& items,
                            uint64_t seed, size_t size) {
  RequestPool pool;
  pool.method = shape.method;
  if (items.empty()) return pool;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, items.size() - 1);
  auto fill = [&](google::protobuf::RepeatedPtrField<std::string>* ids, int n) {
    ids->Reserve(n);
    for (int j = 0; j < n; ++j) *ids->Add() = items[pick(rng)];
  };
  for (size_t i = 0; i < size; ++i) {
    const std::string user_id = absl::StrCat("bench-", i);
    const bool invalid = shape.invalid_every > 0 && (i + 1) % shape.invalid_every == 0;
    pool.invalid.push_back(invalid);
    if (shape.method == BenchMethod::kRecommend) {
      v1::RecommendRequest& request = pool.recommend.emplace_back();
      request.set_user_id(user_id);
      fill(request.mutable_history(), shape.history_len);
      if (invalid) request.add_history("");
      request.set_top_k(shape.top_k);
      fill(request.mutable_candidates(), shape.num_candidates);
      request.set_mode(shape.mode);
    } else {
      v1::ScoreRequest& request = pool.score.emplace_back();
      request.set_user_id(user_id);
      fill(request.mutable_history(), shape.history_len);
      if (invalid) request.add_history("");
      fill(request.mutable_candidates(), shape.num_candidates);
      request.set_mode(shape.mode);
    }
  }
  return pool;
}

absl::StatusOr<LoadResult> RunLoad(v1::Recommender::Stub* stub, const RequestPool& pool,
                                   const LoadOptions& options) {
  return RunLoad(std::vector<v1::Recommender::Stub*>{stub}, pool, options);
}

absl::StatusOr<LoadResult> RunLoad(const std::vector<v1::Recommender::Stub*>& stubs,
                                   const RequestPool& pool, const LoadOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  if (stubs.empty()) return absl::InvalidArgumentError("no stub to send to");
  if ((pool.method == BenchMethod::kRecommend && pool.recommend.empty()) ||
      (pool.method == BenchMethod::kScore && pool.score.empty())) {
    return absl::InvalidArgumentError("no requests to send: the item pool is empty");
  }
  LoadRun run(stubs, pool, options);
  return run.Run();
}

}  // namespace sasrecllm::client
