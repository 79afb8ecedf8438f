// A clock that can be replaced in tests, so that code which waits for time to
// pass (the batcher's queue delay, request deadlines) is tested without
// sleeping.
//
//   RealClock* clock = RealClock::Get();
//   absl::MutexLock lock(&mu);
//   while (!ready) clock->WaitUntil(&mu, &cv, clock->Now() + absl::Milliseconds(2));
//
// FakeClock (for tests) only moves when told to (Advance), and wakes the
// threads waiting in WaitUntil whose deadline it reaches.
//
// Thread safety: both implementations are thread-safe.
#ifndef SASRECLLM_SERVER_CLOCK_H_
#define SASRECLLM_SERVER_CLOCK_H_

#include <list>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sasrecllm::server {

class Clock {
 public:
  virtual ~Clock() = default;

  virtual absl::Time Now() = 0;

  // Precondition: `mu` is held. Releases it and blocks until `cv` is signalled
  // or Now() >= deadline (absl::InfiniteFuture(): no time limit), then
  // re-acquires it. May return early (spurious wake-up): callers re-check
  // their condition in a loop.
  virtual void WaitUntil(absl::Mutex* mu, absl::CondVar* cv, absl::Time deadline) = 0;
};

// The system clock (absl::Now()).
class RealClock : public Clock {
 public:
  // A process-wide instance; never destroyed.
  static RealClock* Get() {
    static RealClock* const clock = new RealClock;
    return clock;
  }

  absl::Time Now() override { return absl::Now(); }

  void WaitUntil(absl::Mutex* mu, absl::CondVar* cv, absl::Time deadline) override {
    if (deadline == absl::InfiniteFuture()) {
      cv->Wait(mu);
    } else {
      cv->WaitWithDeadline(mu, deadline);
    }
  }
};

// A manual clock for tests. Starts at `start` and moves only by Advance().
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'000'000)) : now_(start) {}

  absl::Time Now() override {
    absl::MutexLock lock(&mu_);
    return now_;
  }

  void WaitUntil(absl::Mutex* mu, absl::CondVar* cv, absl::Time deadline) override {
    std::list<Waiter>::iterator it;
    {
      absl::MutexLock lock(&mu_);
      if (now_ >= deadline) return;
      it = waiters_.insert(waiters_.end(), Waiter{mu, cv, deadline});
    }
    // Advance() signals `cv` while holding `mu`, and the caller holds `mu`
    // from the registration above until cv->Wait releases it: no lost wake-up.
    cv->Wait(mu);
    absl::MutexLock lock(&mu_);
    waiters_.erase(it);
  }

  // Moves time forward and wakes every waiter (they re-check their state).
  void Advance(absl::Duration d) {
    std::list<Waiter> snapshot;
    {
      absl::MutexLock lock(&mu_);
      now_ += d;
      snapshot = waiters_;
    }
    for (const Waiter& w : snapshot) {
      absl::MutexLock lock(w.mu);
      w.cv->SignalAll();
    }
  }

  // Blocks (in real time) until some thread waits in WaitUntil with exactly
  // `deadline`. Tests use it to know that a background thread has looked at
  // its state and decided to wait until then.
  void AwaitWaiterWithDeadline(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto has_waiter = [this, deadline]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (const Waiter& w : waiters_) {
        if (w.deadline == deadline) return true;
      }
      return false;
    };
    mu_.Await(absl::Condition(&has_waiter));
  }

 private:
  struct Waiter {
    absl::Mutex* mu;
    absl::CondVar* cv;
    absl::Time deadline;
  };

  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  std::list<Waiter> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_CLOCK_H_
