// The subcommands of sasrecllm-client. Each takes the arguments after its
// name and returns the process exit code: 0 ok, 1 an RPC or I/O error (the
// gRPC status code name and message go to stderr), 2 a usage error.
#ifndef SASRECLLM_CLIENT_COMMANDS_H_
#define SASRECLLM_CLIENT_COMMANDS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace sasrecllm::client {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

// Flags accepted before the command and by every command.
struct GlobalOptions {
  // Server address. Default: localhost:50051.
  std::string target = "localhost:50051";
  // Deadline of each RPC (bench: of each request). Default: 10000.
  int64_t timeout_ms = 10000;
  // Whether --timeout-ms was given (health --watch has no deadline otherwise).
  bool timeout_given = false;
};

int RunRecommend(GlobalOptions global, const std::vector<std::string>& args);
int RunScore(GlobalOptions global, const std::vector<std::string>& args);
int RunScoreCollm(GlobalOptions global, const std::vector<std::string>& args);
int RunInfo(GlobalOptions global, const std::vector<std::string>& args);
int RunHealth(GlobalOptions global, const std::vector<std::string>& args);
int RunBench(GlobalOptions global, const std::vector<std::string>& args);

}  // namespace sasrecllm::client

#endif  // SASRECLLM_CLIENT_COMMANDS_H_
