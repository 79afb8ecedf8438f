// Runs hot reloads on a thread of its own, one at a time: the signal thread
// asks (SIGHUP) and goes back to waiting for signals, so a SIGTERM during a
// long load is still heard. Requests made while a reload runs are merged into
// one more reload after it (the newest bundle is what it loads).
//
//   Reloader reloader([&] { return ReloadFromDisk(); });
//   reloader.Request();  // returns at once
//   ...
//   reloader.Stop();     // waits for a reload in progress; later requests are ignored
//
// Thread safety: Request and Stop are thread-safe; `reload` runs on the
// reloader's thread only.
#ifndef SASRECLLM_SERVER_RELOADER_H_
#define SASRECLLM_SERVER_RELOADER_H_

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace sasrecllm::server {

class Reloader {
 public:
  // `reload` does one reload and reports it (log, metrics); its status is
  // counted in completed()/failed() for tests.
  explicit Reloader(std::function<absl::Status()> reload);
  ~Reloader();  // Stop()

  // Schedules a reload; returns at once.
  void Request();
  // Waits for the reload in progress, if any, and ends the thread. Idempotent.
  void Stop();

  // Reloads run so far, and how many of them failed.
  int completed() const;
  int failed() const;

 private:
  void Loop();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::function<absl::Status()> reload_;
  mutable absl::Mutex mu_;
  bool pending_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int completed_ ABSL_GUARDED_BY(mu_) = 0;
  int failed_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_RELOADER_H_
