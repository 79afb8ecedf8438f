// Batcher tests. Time is a FakeClock: nothing here sleeps; tests wait (in real
// time) only for the batcher thread to reach a known state.
#include "server/batcher.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/clock.h"

namespace sasrecllm::server {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

using StringBatcher = Batcher<std::string>;

// Records what the batcher does; lets the test wait for it.
class Recorder {
 public:
  StringBatcher::Callbacks Callbacks() {
    StringBatcher::Callbacks c;
    c.run_batch = [this](std::vector<std::string> batch) {
      if (block_ != nullptr) block_->WaitForNotification();
      absl::MutexLock lock(&mu_);
      batches_.push_back(std::move(batch));
    };
    c.reject = [this](std::string item, absl::Status status) {
      absl::MutexLock lock(&mu_);
      rejected_.emplace_back(std::move(item), status.code());
    };
    c.is_cancelled = [this](const std::string& item) {
      absl::MutexLock lock(&mu_);
      return cancelled_.contains(item);
    };
    c.on_queue_wait = [this](absl::Duration d) {
      absl::MutexLock lock(&mu_);
      waits_.push_back(d);
    };
    c.on_batch = [this](size_t n) {
      absl::MutexLock lock(&mu_);
      batch_sizes_.push_back(n);
    };
    c.on_queue_depth = [this](size_t n) {
      absl::MutexLock lock(&mu_);
      depths_.push_back(n);
    };
    return c;
  }

  void AwaitBatches(size_t n) {
    absl::MutexLock lock(&mu_);
    auto done = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return batches_.size() >= n; };
    mu_.Await(absl::Condition(&done));
  }
  void AwaitRejected(size_t n) {
    absl::MutexLock lock(&mu_);
    auto done = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return rejected_.size() >= n; };
    mu_.Await(absl::Condition(&done));
  }
  void MarkCancelled(const std::string& item) {
    absl::MutexLock lock(&mu_);
    cancelled_.insert(item);
  }
  // run_batch waits for `n` before recording (simulates a slow model).
  void BlockRunsOn(absl::Notification* n) { block_ = n; }

  std::vector<std::vector<std::string>> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }
  std::vector<std::pair<std::string, absl::StatusCode>> rejected() {
    absl::MutexLock lock(&mu_);
    return rejected_;
  }
  std::vector<absl::Duration> waits() {
    absl::MutexLock lock(&mu_);
    return waits_;
  }
  std::vector<size_t> batch_sizes() {
    absl::MutexLock lock(&mu_);
    return batch_sizes_;
  }
  std::vector<size_t> depths() {
    absl::MutexLock lock(&mu_);
    return depths_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::vector<std::string>> batches_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, absl::StatusCode>> rejected_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> cancelled_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> waits_ ABSL_GUARDED_BY(mu_);
  std::vector<size_t> batch_sizes_ ABSL_GUARDED_BY(mu_);
  std::vector<size_t> depths_ ABSL_GUARDED_BY(mu_);
  absl::Notification* block_ = nullptr;
};

BatcherOptions Options(int max_batch_size, absl::Duration delay, int max_queue_size = 1024) {
  BatcherOptions o;
  o.max_batch_size = max_batch_size;
  o.max_queue_delay = delay;
  o.max_queue_size = max_queue_size;
  return o;
}

absl::StatusCode EnqueueCode(StringBatcher& b, std::string item,
                             absl::Time deadline = absl::InfiniteFuture()) {
  return b.Enqueue(std::move(item), deadline).status().code();
}

TEST(BatcherOptionsTest, RejectsOutOfRangeValuesNamingTheField) {
  EXPECT_THAT(Options(0, absl::Milliseconds(1)).Validate().message(),
              ::testing::HasSubstr("max_batch_size"));
  EXPECT_THAT(Options(1, absl::Milliseconds(1), 0).Validate().message(),
              ::testing::HasSubstr("max_queue_size"));
  EXPECT_THAT(Options(1, absl::Milliseconds(-1)).Validate().message(),
              ::testing::HasSubstr("max_queue_delay"));
  BatcherOptions no_workers;
  no_workers.workers = 0;
  EXPECT_THAT(no_workers.Validate().message(), ::testing::HasSubstr("workers"));
  EXPECT_TRUE(BatcherOptions().Validate().ok());
}

TEST(BatcherTest, FlushesAtOnceWhenTheBatchIsFull) {
  FakeClock clock;
  Recorder rec;
  StringBatcher batcher(Options(3, absl::Seconds(1)), rec.Callbacks(), &clock);
  ASSERT_EQ(EnqueueCode(batcher, "a"), absl::StatusCode::kOk);
  ASSERT_EQ(EnqueueCode(batcher, "b"), absl::StatusCode::kOk);
  ASSERT_EQ(EnqueueCode(batcher, "c"), absl::StatusCode::kOk);
  rec.AwaitBatches(1);  // no clock movement needed
  EXPECT_THAT(rec.batches(), ElementsAre(ElementsAre("a", "b", "c")));
  EXPECT_THAT(rec.batch_sizes(), ElementsAre(3u));
  EXPECT_THAT(rec.waits(), ElementsAre(absl::ZeroDuration(), absl::ZeroDuration(),
                                       absl::ZeroDuration()));
}

TEST(BatcherTest, ALimitedBatchSizeFlushesSmallerBatchesAndIsClamped) {
  FakeClock clock;
  Recorder rec;
  StringBatcher batcher(Options(4, absl::Seconds(1)), rec.Callbacks(), &clock);
  batcher.LimitBatchSize(2);
  for (const char* item : {"a", "b", "c", "d"}) {
    ASSERT_EQ(EnqueueCode(batcher, item), absl::StatusCode::kOk);
  }
  rec.AwaitBatches(2);  // full at 2: no clock movement needed
  EXPECT_THAT(rec.batches(), ElementsAre(ElementsAre("a", "b"), ElementsAre("c", "d")));
  batcher.LimitBatchSize(100);  // never above max_batch_size
  for (const char* item : {"e", "f", "g", "h", "i"}) {
    ASSERT_EQ(EnqueueCode(batcher, item), absl::StatusCode::kOk);
  }
  rec.AwaitBatches(3);
  EXPECT_THAT(rec.batches()[2], ElementsAre("e", "f", "g", "h"));
}

TEST(BatcherTest, FlushesWhenOldestRequestReachesMaxDelay) {
  FakeClock clock;
  Recorder rec;
  const absl::Time t0 = clock.Now();
  StringBatcher batcher(Options(8, absl::Milliseconds(2)), rec.Callbacks(), &clock);
  ASSERT_EQ(EnqueueCode(batcher, "a"), absl::StatusCode::kOk);
  // The batcher looked at the queue and chose to wait for the delay.
  clock.AwaitWaiterWithDeadline(t0 + absl::Milliseconds(2));
  EXPECT_THAT(rec.batches(), IsEmpty());

  clock.Advance(absl::Milliseconds(1));
  ASSERT_EQ(EnqueueCode(batcher, "b"), absl::StatusCode::kOk);
  clock.AwaitWaiterWithDeadline(t0 + absl::Milliseconds(2));  // still the oldest's deadline
  EXPECT_THAT(rec.batches(), IsEmpty());

  clock.Advance(absl::Milliseconds(1));
  rec.AwaitBatches(1);
  EXPECT_THAT(rec.batches(), ElementsAre(ElementsAre("a", "b")));
  EXPECT_THAT(rec.waits(), ElementsAre(absl::Milliseconds(2), absl::Milliseconds(1)));
}

TEST(BatcherTest, ZeroDelaySendsEachRequestAtOnce) {
  FakeClock clock;
  Recorder rec;
  StringBatcher batcher(Options(8, absl::ZeroDuration()), rec.Callbacks(), &clock);
  ASSERT_EQ(EnqueueCode(batcher, "a"), absl::StatusCode::kOk);
  rec.AwaitBatches(1);
  EXPECT_THAT(rec.batches(), ElementsAre(ElementsAre("a")));
}

TEST(BatcherTest, ExpiredRequestLeavesTheQueueWithDeadlineExceededWithoutRunning) {
  FakeClock clock;
  Recorder rec;
  const absl::Time t0 = clock.Now();
  StringBatcher batcher(Options(8, absl::Milliseconds(10)), rec.Callbacks(), &clock);
  ASSERT_EQ(EnqueueCode(batcher, "short", t0 + absl::Milliseconds(1)), absl::StatusCode::kOk);
  ASSERT_EQ(EnqueueCode(batcher, "long"), absl::StatusCode::kOk);
  // It wakes for the earliest deadline, before the queue delay.
  clock.AwaitWaiterWithDeadline(t0 + absl::Milliseconds(1));
  clock.Advance(absl::Milliseconds(1));
  rec.AwaitRejected(1);
  EXPECT_THAT(rec.rejected(), ElementsAre(Pair("short", absl::StatusCode::kDeadlineExceeded)));
  EXPECT_THAT(rec.batches(), IsEmpty());

  clock.Advance(absl::Milliseconds(9));
  rec.AwaitBatches(1);
  EXPECT_THAT(rec.batches(), ElementsAre(ElementsAre("long")));
}

TEST(BatcherTest, RequestWhoseDeadlineAlreadyPassedNeverRuns) {
  FakeClock clock;
  Recorder rec;
  StringBatcher batcher(Options(1, absl::ZeroDuration()), rec.Callbacks(), &clock);
  ASSERT_EQ(EnqueueCode(batcher, "late", clock.Now()), absl::StatusCode::kOk);
  rec.AwaitRejected(1);
  EXPECT_THAT(rec.rejected(), ElementsAre(Pair("late", absl::StatusCode::kDeadlineExceeded)));
  EXPECT_THAT(rec.batches(), IsEmpty());
}

TEST(BatcherTest, CancelDropsAQueuedRequestWithCancelled) {
  FakeClock clock;
  Recorder rec;
  const absl::Time t0 = clock.Now();
  StringBatcher batcher(Options(8, absl::Milliseconds(2)), rec.Callbacks(), &clock);
  absl::StatusOr<StringBatcher::Ticket> a = batcher.Enqueue("a");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(EnqueueCode(batcher, "b"), absl::StatusCode::kOk);
  EXPECT_TRUE(batcher.Cancel(*a));
  // Finished at once, on this thread.
  EXPECT_THAT(rec.rejected(), ElementsAre(Pair("a", absl::StatusCode::kCancelled)));
  EXPECT_FALSE(batcher.Cancel(*a));  // already gone
  EXPECT_EQ(batcher.QueueDepth(), 1u);

  clock.Advance(absl::Milliseconds(2));
  rec.AwaitBatches(1);
  EXPECT_THAT(rec.batches(), ElementsAre(ElementsAre("b")));
  (void)t0;
}

TEST(BatcherTest, CancelReturnsFalseOnceTheRequestIsInABatch) {
  FakeClock clock;
  Recorder rec;
  StringBatcher batcher(Options(1, absl::ZeroDuration()), rec.Callbacks(), &clock);
  absl::StatusOr<StringBatcher::Ticket> a = batcher.Enqueue("a");
  ASSERT_TRUE(a.ok());
  rec.AwaitBatches(1);
  EXPECT_FALSE(batcher.Cancel(*a));
  EXPECT_THAT(rec.rejected(), IsEmpty());
}

TEST(BatcherTest, RequestThatReportsCancellationLeavesTheQueueWithoutRunning) {
  FakeClock clock;
  Recorder rec;
  StringBatcher batcher(Options(8, absl::Milliseconds(2)), rec.Callbacks(), &clock);
  ASSERT_EQ(EnqueueCode(batcher, "gone"), absl::StatusCode::kOk);
  ASSERT_EQ(EnqueueCode(batcher, "kept"), absl::StatusCode::kOk);
  rec.MarkCancelled("gone");  // e.g. the client hung up (ServerContext::IsCancelled)
  clock.Advance(absl::Milliseconds(2));
  rec.AwaitBatches(1);
  EXPECT_THAT(rec.rejected(), ElementsAre(Pair("gone", absl::StatusCode::kCancelled)));
  EXPECT_THAT(rec.batches(), ElementsAre(ElementsAre("kept")));
}

TEST(BatcherTest, FullQueueAnswersResourceExhaustedAtOnceAndLeavesTheRequest) {
  FakeClock clock;
  Recorder rec;
  StringBatcher batcher(Options(8, absl::Seconds(1), /*max_queue_size=*/2), rec.Callbacks(),
                        &clock);
  ASSERT_EQ(EnqueueCode(batcher, "a"), absl::StatusCode::kOk);
  ASSERT_EQ(EnqueueCode(batcher, "b"), absl::StatusCode::kOk);
  std::string c = "c";
  absl::StatusOr<StringBatcher::Ticket> t = batcher.Enqueue(std::move(c));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(t.status().message(), ::testing::HasSubstr("max_queue_size=2"));
  EXPECT_EQ(c, "c");  // not consumed: the caller finishes it
  EXPECT_THAT(rec.rejected(), IsEmpty());
}

TEST(BatcherTest, ShutdownRunsEveryAcceptedRequestAndRefusesNewOnesWithUnavailable) {
  FakeClock clock;
  Recorder rec;
  StringBatcher batcher(Options(2, absl::Seconds(1)), rec.Callbacks(), &clock);
  absl::Notification release;
  rec.BlockRunsOn(&release);
  for (const char* item : {"a", "b", "c", "d", "e"}) {
    ASSERT_EQ(EnqueueCode(batcher, item), absl::StatusCode::kOk);
  }
  release.Notify();
  batcher.Shutdown();  // without the clock moving: draining skips the delay
  EXPECT_THAT(rec.batches(),
              ElementsAre(ElementsAre("a", "b"), ElementsAre("c", "d"), ElementsAre("e")));
  EXPECT_EQ(EnqueueCode(batcher, "late"), absl::StatusCode::kUnavailable);
  EXPECT_THAT(rec.rejected(), IsEmpty());
  batcher.Shutdown();  // idempotent
}

TEST(BatcherTest, EnqueueDoesNotWaitForARunningBatch) {
  FakeClock clock;
  Recorder rec;
  absl::Notification release;
  rec.BlockRunsOn(&release);
  StringBatcher batcher(Options(1, absl::ZeroDuration()), rec.Callbacks(), &clock);
  ASSERT_EQ(EnqueueCode(batcher, "a"), absl::StatusCode::kOk);
  // "a" is (or soon is) stuck in run_batch; the queue stays usable.
  ASSERT_EQ(EnqueueCode(batcher, "b"), absl::StatusCode::kOk);
  ASSERT_EQ(EnqueueCode(batcher, "c"), absl::StatusCode::kOk);
  release.Notify();
  rec.AwaitBatches(3);
  EXPECT_THAT(rec.batches(), ElementsAre(ElementsAre("a"), ElementsAre("b"), ElementsAre("c")));
}

TEST(BatcherTest, ReportsQueueDepthOnEveryChange) {
  FakeClock clock;
  Recorder rec;
  StringBatcher batcher(Options(2, absl::Seconds(1)), rec.Callbacks(), &clock);
  ASSERT_EQ(EnqueueCode(batcher, "a"), absl::StatusCode::kOk);
  ASSERT_EQ(EnqueueCode(batcher, "b"), absl::StatusCode::kOk);
  rec.AwaitBatches(1);
  batcher.Shutdown();
  EXPECT_THAT(rec.depths(), ElementsAre(1u, 2u, 0u));
}

// ExpectedWait: the batches ahead, the running one and the request's own,
// each at the recent batch time (here 10 ms of fake time per batch).
TEST(BatcherTest, ExpectedWaitCountsTheBatchesAheadAtTheRecentBatchTime) {
  FakeClock clock;
  absl::Notification release;
  absl::Mutex mu;
  int batches = 0;
  StringBatcher::Callbacks c;
  c.run_batch = [&](std::vector<std::string> batch) {
    {
      absl::MutexLock lock(&mu);
      ++batches;
      if (batches == 2) {
        mu.Unlock();
        release.WaitForNotification();
        mu.Lock();
      }
    }
    clock.Advance(absl::Milliseconds(10));
  };
  c.reject = [](std::string, absl::Status) {};
  StringBatcher batcher({.max_batch_size = 2, .max_queue_delay = absl::ZeroDuration()},
                        std::move(c), &clock);
  auto batches_done = [&](int n) {
    absl::MutexLock lock(&mu);
    return batches >= n;
  };
  EXPECT_EQ(batcher.ExpectedWait(), absl::ZeroDuration());  // nothing measured yet
  ASSERT_TRUE(batcher.Enqueue("a").ok());
  while (!batches_done(1) || batcher.ExpectedWait() == absl::ZeroDuration()) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(batcher.ExpectedWait(), absl::Milliseconds(10));  // its own batch only
  ASSERT_TRUE(batcher.Enqueue("b").ok());  // runs, held by `release`
  while (batcher.ExpectedWait() != absl::Milliseconds(20)) absl::SleepFor(absl::Milliseconds(1));
  for (const char* item : {"c", "d", "e", "f"}) ASSERT_TRUE(batcher.Enqueue(item).ok());
  // Two full batches queued + the running one + its own.
  EXPECT_EQ(batcher.ExpectedWait(), absl::Milliseconds(40));
  release.Notify();
  batcher.Shutdown();
}

// Two workers run two batches at once: each run_batch below returns only
// once the other one has started (one worker would wait forever; the 60 s
// bound turns that into a failure).
TEST(BatcherTest, WorkersRunBatchesAtOnce) {
  absl::Mutex mu;
  int running = 0, most_at_once = 0;
  StringBatcher::Callbacks c;
  c.run_batch = [&](std::vector<std::string>) {
    absl::MutexLock lock(&mu);
    ++running;
    most_at_once = std::max(most_at_once, running);
    auto both = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return most_at_once >= 2; };
    mu.AwaitWithTimeout(absl::Condition(&both), absl::Seconds(60));
    --running;
  };
  c.reject = [](std::string, absl::Status) {};
  StringBatcher batcher(
      {.max_batch_size = 1, .max_queue_delay = absl::ZeroDuration(), .workers = 2}, std::move(c));
  ASSERT_TRUE(batcher.Enqueue("a").ok());
  ASSERT_TRUE(batcher.Enqueue("b").ok());
  batcher.Shutdown();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(most_at_once, 2);
}

// With workers, the batches ahead (queued and running) are shared among them.
TEST(BatcherTest, ExpectedWaitSharesTheBatchesAheadAmongTheWorkers) {
  FakeClock clock;
  absl::Notification release;
  absl::Mutex mu;
  int batches = 0;
  StringBatcher::Callbacks c;
  c.run_batch = [&](std::vector<std::string> batch) {
    int n;
    {
      absl::MutexLock lock(&mu);
      n = ++batches;
    }
    if (n == 1) {
      clock.Advance(absl::Milliseconds(10));  // the one measured batch
    } else {
      release.WaitForNotification();
    }
  };
  c.reject = [](std::string, absl::Status) {};
  StringBatcher batcher(
      {.max_batch_size = 1, .max_queue_delay = absl::ZeroDuration(), .workers = 2},
      std::move(c), &clock);
  ASSERT_TRUE(batcher.Enqueue("x").ok());
  while (batcher.ExpectedWait() != absl::Milliseconds(10)) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_TRUE(batcher.Enqueue("a").ok());  // both workers busy, held by `release`
  ASSERT_TRUE(batcher.Enqueue("b").ok());
  auto running_both = [&] {
    absl::MutexLock lock(&mu);
    return batches >= 3;
  };
  while (!running_both() || batcher.QueueDepth() > 0) absl::SleepFor(absl::Milliseconds(1));
  for (const char* item : {"c", "d", "e", "f"}) ASSERT_TRUE(batcher.Enqueue(item).ok());
  // 4 queued + 2 running + its own = 7 batches on 2 workers: 4 rounds.
  EXPECT_EQ(batcher.ExpectedWait(), absl::Milliseconds(40));
  release.Notify();
  batcher.Shutdown();
}

}  // namespace
}  // namespace sasrecllm::server
