#include "server/reloader.h"

#include <utility>

namespace sasrecllm::server {

Reloader::Reloader(std::function<absl::Status()> reload)
    : reload_(std::move(reload)), thread_([this] { Loop(); }) {}

Reloader::~Reloader() { Stop(); }

void Reloader::Request() {
  absl::MutexLock lock(&mu_);
  pending_ = true;
}

void Reloader::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int Reloader::completed() const {
  absl::MutexLock lock(&mu_);
  return completed_;
}

int Reloader::failed() const {
  absl::MutexLock lock(&mu_);
  return failed_;
}

bool Reloader::HasWork() const { return pending_ || stopping_; }

void Reloader::Loop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &Reloader::HasWork));
      if (stopping_) return;
      pending_ = false;
    }
    const absl::Status status = reload_();
    absl::MutexLock lock(&mu_);
    ++completed_;
    if (!status.ok()) ++failed_;
  }
}

}  // namespace sasrecllm::server
