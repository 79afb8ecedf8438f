// A dynamic batcher (as Triton's, or LevelDB's write path): requests wait in a
// bounded queue; one batcher thread takes up to max_batch_size of them and
// runs them together, as soon as the batch is full or the oldest request has
// waited max_queue_delay. With workers > 1, that many threads take batches
// from the one queue, so that several batches run at once (run_batch must
// then be safe to call concurrently).
//
//   Batcher<Work>::Callbacks callbacks;
//   callbacks.run_batch = [&](std::vector<Work> batch) { /* model; finish each */ };
//   callbacks.reject = [](Work w, absl::Status s) { /* finish w with s */ };
//   Batcher<Work> batcher(options, std::move(callbacks));
//   absl::StatusOr<Batcher<Work>::Ticket> t = batcher.Enqueue(std::move(work), deadline);
//   if (!t.ok()) { /* RESOURCE_EXHAUSTED (queue full) or UNAVAILABLE (draining);
//                     `work` was not consumed: finish it with t.status() */ }
//   ...
//   batcher.Cancel(*t);   // e.g. from the RPC's OnCancel
//   batcher.Shutdown();   // refuse new work, run everything accepted, join
//
// Every accepted request leaves the batcher exactly once: in a run_batch call,
// or through reject (DEADLINE_EXCEEDED when its deadline passed while queued,
// CANCELLED when Cancel() or is_cancelled() said so). Requests whose deadline
// has passed or that were cancelled never reach run_batch. is_cancelled is
// polled (outside the lock) when a request is taken for a batch; Cancel()
// removes a request at once.
//
// Threading: Enqueue and Cancel hold the queue lock briefly and never block on
// the model. run_batch, reject and the metrics hooks except on_queue_depth run
// without the lock (run_batch and expiry rejections on the batcher thread,
// Cancel's rejection on the caller's thread). on_queue_depth runs under the
// lock so the values it reports are ordered; it must be cheap (a gauge set).
//
// Thread safety: all public methods are thread-safe.
#ifndef SASRECLLM_SERVER_BATCHER_H_
#define SASRECLLM_SERVER_BATCHER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/clock.h"

namespace sasrecllm::server {

struct BatcherOptions {
  // The most requests one run_batch call gets. Default: 32.
  int max_batch_size = 32;
  // How long the oldest queued request may wait for the batch to fill before
  // the batch is sent anyway. Default: 2 ms. Zero: send at once.
  absl::Duration max_queue_delay = absl::Microseconds(2000);
  // The most requests waiting (not counting the batch being run). Default: 1024.
  int max_queue_size = 1024;
  // Batcher threads: batches run at once, each on its own thread. Default: 1.
  int workers = 1;

  // INVALID_ARGUMENT naming the field when a value is out of range.
  absl::Status Validate() const {
    if (max_batch_size < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_batch_size must be >= 1, got ", max_batch_size));
    }
    if (max_queue_size < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_queue_size must be >= 1, got ", max_queue_size));
    }
    if (workers < 1) {
      return absl::InvalidArgumentError(absl::StrCat("workers must be >= 1, got ", workers));
    }
    if (max_queue_delay < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_queue_delay must be >= 0, got ", absl::FormatDuration(max_queue_delay)));
    }
    return absl::OkStatus();
  }
};

template <typename Request>
class Batcher {
 public:
  using Ticket = uint64_t;

  struct Callbacks {
    // Runs one batch (1..max_batch_size requests, oldest first) and finishes
    // each of them. Required.
    std::function<void(std::vector<Request> batch)> run_batch;
    // Finishes a request that will not run. Required.
    std::function<void(Request request, absl::Status status)> reject;
    // Optional: asked when a request is taken for a batch; true drops it as
    // CANCELLED. Called without the queue lock.
    std::function<bool(const Request& request)> is_cancelled;
    // Optional metrics hooks.
    std::function<void(absl::Duration waited)> on_queue_wait;  // per request sent to run_batch
    std::function<void(size_t size)> on_batch;                  // per run_batch call
    std::function<void(size_t depth)> on_queue_depth;           // on every change
  };

  // Starts the batcher threads (options.workers). `clock` (not owned;
  // nullptr = RealClock) must outlive the batcher. Precondition:
  // options.Validate().ok().
  Batcher(const BatcherOptions& options, Callbacks callbacks, Clock* clock = nullptr)
      : options_(options),
        callbacks_(std::move(callbacks)),
        clock_(clock != nullptr ? clock : RealClock::Get()),
        max_batch_size_(options.max_batch_size) {
    for (int i = 0; i < options.workers; ++i) threads_.emplace_back([this] { Loop(); });
  }

  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Shuts down (see Shutdown).
  ~Batcher() { Shutdown(); }

  // Queues `request` to run before `deadline` (absl::InfiniteFuture(): none).
  // On success `request` has been moved from and the ticket names it for
  // Cancel(). On error `request` is untouched and the caller finishes it:
  // RESOURCE_EXHAUSTED when max_queue_size requests already wait,
  // UNAVAILABLE after Shutdown() began.
  absl::StatusOr<Ticket> Enqueue(Request&& request,
                                 absl::Time deadline = absl::InfiniteFuture()) {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = RefusalLocked(); !s.ok()) return s;
    const Ticket ticket = next_ticket_++;
    queue_.push_back(Entry{ticket, std::move(request), clock_->Now(), deadline});
    ReportDepthLocked();
    cv_.Signal();
    return ticket;
  }

  // Drops the request named by `ticket` if it is still queued, finishing it
  // (through reject, on this thread) with CANCELLED; returns true then. Returns
  // false when it already left the queue (its batch runs it, or it was
  // rejected).
  bool Cancel(Ticket ticket) {
    return CancelFirst([ticket](const Entry& e) { return e.ticket == ticket; });
  }

  // The same for the first queued request for which `match` is true (called
  // under the queue lock: it must be cheap and must not call the batcher).
  bool CancelIf(const std::function<bool(const Request&)>& match) {
    return CancelFirst([&match](const Entry& e) { return match(e.request); });
  }

  // Refuses new requests (UNAVAILABLE), sends everything already accepted
  // without waiting for the queue delay, and returns when the last batch has
  // run and the threads have exited. Idempotent.
  void Shutdown() {
    {
      absl::MutexLock lock(&mu_);
      draining_ = true;
      cv_.SignalAll();
    }
    absl::MutexLock join_lock(&join_mu_);
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  // What Enqueue would answer now without taking the request: OK, or its
  // RESOURCE_EXHAUSTED / UNAVAILABLE. For refusing a request before the work
  // of building it (the answer may change at once: Enqueue decides).
  absl::Status Refusal() {
    absl::MutexLock lock(&mu_);
    return RefusalLocked();
  }

  // From now on, batches hold at most `n` requests (clamped to
  // 1..options.max_batch_size): for a stage that measured, after start, that
  // smaller batches serve better.
  void LimitBatchSize(int n) {
    absl::MutexLock lock(&mu_);
    max_batch_size_ = std::clamp(n, 1, options_.max_batch_size);
    cv_.SignalAll();
  }

  size_t QueueDepth() {
    absl::MutexLock lock(&mu_);
    return queue_.size();
  }

  // About how long a request queued now would take to leave its batch: the
  // batches queued ahead of it, those running, and its own, shared among the
  // workers, each at the recent batch time (an exponential average of
  // run_batch's wall time; zero before the first batch). For deadline-aware
  // admission (pipeline.h).
  absl::Duration ExpectedWait() {
    absl::MutexLock lock(&mu_);
    const int64_t batches_ahead = static_cast<int64_t>(queue_.size()) / max_batch_size_ + running_;
    const int64_t workers = options_.workers;
    return ((batches_ahead + workers) / workers) * batch_time_;  // ceil((ahead + 1) / workers)
  }

 private:
  struct Entry {
    Ticket ticket;
    Request request;
    absl::Time enqueued;
    absl::Time deadline;
  };

  template <typename Match>
  bool CancelFirst(const Match& match) {
    std::optional<Request> request;
    {
      absl::MutexLock lock(&mu_);
      auto it = std::find_if(queue_.begin(), queue_.end(), match);
      if (it == queue_.end()) return false;
      request.emplace(std::move(it->request));
      queue_.erase(it);
      ReportDepthLocked();
      cv_.Signal();  // the front may have changed
    }
    callbacks_.reject(std::move(*request), absl::CancelledError("request cancelled by the client"));
    return true;
  }

  absl::Status RefusalLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (draining_) return absl::UnavailableError("the server is shutting down");
    if (queue_.size() >= static_cast<size_t>(options_.max_queue_size)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "request queue full (max_queue_size=", options_.max_queue_size, ")"));
    }
    return absl::OkStatus();
  }

  void ReportDepthLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (callbacks_.on_queue_depth) callbacks_.on_queue_depth(queue_.size());
  }

  // Moves requests whose deadline passed from the queue into `dropped`.
  // Returns the earliest deadline among the requests that stay.
  absl::Time DropExpiredLocked(absl::Time now,
                               std::vector<std::pair<Request, absl::Status>>* dropped)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::Time earliest = absl::InfiniteFuture();
    const size_t before = queue_.size();
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->deadline <= now) {
        dropped->emplace_back(std::move(it->request),
                              absl::DeadlineExceededError(absl::StrCat(
                                  "deadline exceeded after ",
                                  absl::FormatDuration(now - it->enqueued), " in the queue")));
        it = queue_.erase(it);
      } else {
        earliest = std::min(earliest, it->deadline);
        ++it;
      }
    }
    if (queue_.size() != before) ReportDepthLocked();
    return earliest;
  }

  void SetRunning() {
    absl::MutexLock lock(&mu_);
    ++running_;
  }

  void Loop() {
    std::vector<std::pair<Request, absl::Status>> dropped;
    std::vector<Entry> taken;
    std::vector<Request> batch;
    mu_.Lock();
    while (true) {
      const absl::Time now = clock_->Now();
      const absl::Time earliest_deadline = DropExpiredLocked(now, &dropped);
      if (!dropped.empty()) {
        mu_.Unlock();
        for (auto& [request, status] : dropped) callbacks_.reject(std::move(request), status);
        dropped.clear();
        mu_.Lock();
        continue;  // time moved on while rejecting
      }
      if (queue_.empty()) {
        if (draining_) break;
        clock_->WaitUntil(&mu_, &cv_, absl::InfiniteFuture());
        continue;
      }
      const absl::Time send_at = queue_.front().enqueued + options_.max_queue_delay;
      const bool full = queue_.size() >= static_cast<size_t>(max_batch_size_);
      if (!full && !draining_ && now < send_at) {
        clock_->WaitUntil(&mu_, &cv_, std::min(send_at, earliest_deadline));
        continue;
      }
      const size_t n = std::min(queue_.size(), static_cast<size_t>(max_batch_size_));
      for (size_t i = 0; i < n; ++i) {
        taken.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      ReportDepthLocked();
      mu_.Unlock();
      // Outside the lock: is_cancelled may take the RPC library's own locks.
      for (Entry& entry : taken) {
        if (callbacks_.is_cancelled && callbacks_.is_cancelled(entry.request)) {
          callbacks_.reject(std::move(entry.request),
                            absl::CancelledError("request cancelled by the client"));
          continue;
        }
        if (callbacks_.on_queue_wait) callbacks_.on_queue_wait(now - entry.enqueued);
        batch.push_back(std::move(entry.request));
      }
      taken.clear();
      absl::Duration ran = absl::ZeroDuration();
      const bool running = !batch.empty();
      if (running) {
        if (callbacks_.on_batch) callbacks_.on_batch(batch.size());
        SetRunning();
        const absl::Time start = clock_->Now();
        callbacks_.run_batch(std::move(batch));
        ran = clock_->Now() - start;
        batch.clear();
      }
      mu_.Lock();
      if (running) --running_;
      if (ran > absl::ZeroDuration()) {
        // Weight 1/4 for the newest batch: follows a change of load within a
        // few batches without jumping at one slow batch.
        batch_time_ = batch_time_ == absl::ZeroDuration() ? ran : (3 * batch_time_ + ran) / 4;
      }
    }
    mu_.Unlock();
  }

  const BatcherOptions options_;
  const Callbacks callbacks_;
  Clock* const clock_;

  absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  int max_batch_size_ ABSL_GUARDED_BY(mu_);  // options_.max_batch_size, or less (LimitBatchSize)
  Ticket next_ticket_ ABSL_GUARDED_BY(mu_) = 1;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  int running_ ABSL_GUARDED_BY(mu_) = 0;  // run_batch calls in progress
  absl::Duration batch_time_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();  // see ExpectedWait

  absl::Mutex join_mu_;  // serialises concurrent Shutdown() calls
  std::vector<std::thread> threads_;
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_BATCHER_H_
