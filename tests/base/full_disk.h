// A full disk, for tests of what a failed write leaves behind: while a
// ScopedFullDisk lives, no file of this process may grow past `bytes`
// (RLIMIT_FSIZE; SIGXFSZ ignored), so a write beyond it fails with EFBIG
// ("File too large") as one on a full disk fails with ENOSPC.
//
//   {
//     ScopedFullDisk full(/*bytes=*/512);
//     EXPECT_FALSE(WriteBundle(dir, ...).ok());
//   }  // the limit is lifted
#ifndef SASRECLLM_TESTS_BASE_FULL_DISK_H_
#define SASRECLLM_TESTS_BASE_FULL_DISK_H_

#include <signal.h>
#include <sys/resource.h>

namespace sasrecllm::testing {

class ScopedFullDisk {
 public:
  explicit ScopedFullDisk(rlim_t bytes) {
    previous_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &previous_);
    struct rlimit limit = previous_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~ScopedFullDisk() {
    ::setrlimit(RLIMIT_FSIZE, &previous_);
    ::signal(SIGXFSZ, previous_handler_);
  }
  ScopedFullDisk(const ScopedFullDisk&) = delete;
  ScopedFullDisk& operator=(const ScopedFullDisk&) = delete;

 private:
  struct rlimit previous_ {};
  sighandler_t previous_handler_ = SIG_DFL;
};

}  // namespace sasrecllm::testing

#endif  // SASRECLLM_TESTS_BASE_FULL_DISK_H_
