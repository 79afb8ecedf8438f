// Reloader: runs reloads on its own thread, merges requests made meanwhile,
// and Stop waits for the reload in progress.
#include "server/reloader.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace sasrecllm::server {
namespace {

// Waits up to 10 s for `done`.
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 10000 && !done(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

TEST(ReloaderTest, RunsOneReloadPerRequestAndCountsFailures) {
  std::atomic<int> calls{0};
  Reloader reloader([&] {
    return ++calls % 2 == 0 ? absl::InternalError("bad bundle") : absl::OkStatus();
  });
  reloader.Request();
  ASSERT_TRUE(Eventually([&] { return reloader.completed() == 1; }));
  reloader.Request();
  ASSERT_TRUE(Eventually([&] { return reloader.completed() == 2; }));
  EXPECT_EQ(reloader.failed(), 1);
  EXPECT_EQ(calls.load(), 2);
}

TEST(ReloaderTest, RequestsDuringAReloadMergeIntoOneMore) {
  absl::Notification started, release;
  std::atomic<int> calls{0};
  Reloader reloader([&] {
    if (++calls == 1) {
      started.Notify();
      release.WaitForNotification();
    }
    return absl::OkStatus();
  });
  reloader.Request();
  started.WaitForNotification();
  for (int i = 0; i < 5; ++i) reloader.Request();  // while the first one runs
  release.Notify();
  ASSERT_TRUE(Eventually([&] { return reloader.completed() == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(calls.load(), 2);
}

TEST(ReloaderTest, StopWaitsForTheReloadInProgressAndIgnoresLaterRequests) {
  absl::Notification started;
  std::atomic<bool> finished{false};
  std::atomic<int> calls{0};
  Reloader reloader([&] {
    ++calls;
    started.Notify();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    finished.store(true);
    return absl::OkStatus();
  });
  reloader.Request();
  started.WaitForNotification();
  reloader.Stop();
  EXPECT_TRUE(finished.load());
  reloader.Request();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(calls.load(), 1);
}

TEST(ReloaderTest, NoRequestNoReload) {
  std::atomic<int> calls{0};
  {
    Reloader reloader([&] {
      ++calls;
      return absl::OkStatus();
    });
  }
  EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace sasrecllm::server
