// Data-parallel tests in separate processes: RunDataParallelWorkers starts
// this test binary world_size times on one GoogleTest filter, with torchrun's
// variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1, a free
// MASTER_PORT) plus `env`, as scripts/train-distributed.sh does. The worker
// test (suite *Worker, which ctest does not register: tests/gtest.cmake)
// reads kWorkerOutEnv and skips when it is unset.
//
// Processes, not threads: the trainers seed libtorch's process-wide
// generator, which two ranks in one process would share.
#ifndef SASRECLLM_TESTS_MODEL_DATA_PARALLEL_WORKERS_H_
#define SASRECLLM_TESTS_MODEL_DATA_PARALLEL_WORKERS_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace sasrecllm::model::testing {

// Where a worker writes its results; unset outside RunDataParallelWorkers.
inline constexpr char kWorkerOutEnv[] = "SASRECLLM_TEST_WORKER_OUT";

// A loopback port that was free a moment ago (bound to port 0, then closed):
// 0 on failure.
inline int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// "" when every worker exited 0 within `timeout`; else what went wrong
// (the workers still running are killed).
inline std::string RunDataParallelWorkers(const std::string& gtest_filter, int world_size,
                                          const std::map<std::string, std::string>& env,
                                          std::chrono::seconds timeout) {
  const int port = FreeLoopbackPort();
  if (port == 0) return "no free loopback port";
  std::vector<pid_t> pids;
  std::string error;
  for (int rank = 0; rank < world_size; ++rank) {
    std::map<std::string, std::string> vars = env;
    vars["RANK"] = std::to_string(rank);
    vars["LOCAL_RANK"] = std::to_string(rank);
    vars["WORLD_SIZE"] = std::to_string(world_size);
    vars["MASTER_ADDR"] = "127.0.0.1";
    vars["MASTER_PORT"] = std::to_string(port);
    std::vector<std::string> strings;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string kv = *e;
      if (vars.count(kv.substr(0, kv.find('='))) == 0) strings.push_back(kv);
    }
    for (const auto& [k, v] : vars) strings.push_back(k + "=" + v);
    const std::string filter = "--gtest_filter=" + gtest_filter;
    const std::string self = "/proc/self/exe";
    std::vector<char*> envp, argv = {const_cast<char*>(self.c_str()),
                                     const_cast<char*>(filter.c_str()), nullptr};
    for (std::string& s : strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), envp.data()) != 0) {
      error = "cannot start rank " + std::to_string(rank) + ": " + std::strerror(errno);
      break;
    }
    pids.push_back(pid);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<bool> done(pids.size(), false);
  size_t left = pids.size();
  while (left > 0 && error.empty()) {
    for (size_t r = 0; r < pids.size(); ++r) {
      if (done[r]) continue;
      int status = 0;
      if (waitpid(pids[r], &status, WNOHANG) != pids[r]) continue;
      done[r] = true;
      --left;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        error = "rank " + std::to_string(r) + " failed (wait status " + std::to_string(status) + ")";
      }
    }
    if (left > 0 && std::chrono::steady_clock::now() > deadline) {
      error = "workers still running after " + std::to_string(timeout.count()) + " s";
    }
    if (left > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (size_t r = 0; r < pids.size(); ++r) {
    if (done[r]) continue;
    kill(pids[r], SIGKILL);
    int status = 0;
    waitpid(pids[r], &status, 0);
  }
  return error;
}

}  // namespace sasrecllm::model::testing

#endif  // SASRECLLM_TESTS_MODEL_DATA_PARALLEL_WORKERS_H_
