// sasrecllm-client: command-line client and load generator for the
// SASRecLLM service (sasrecllm.v1.Recommender, grpc.health.v1.Health).
//
//   sasrecllm-client --target localhost:50051 recommend --history 1,2,3 --top-k 5
//   sasrecllm-client health --wait-s 30
//   sasrecllm-client bench --concurrency 32 --duration-s 10 --json
//   sasrecllm-client score-collm --data ../shared/data/collm-ml1m --split test --json -
//
// Exit codes: 0 ok, 1 RPC or I/O error (status code name on stderr),
// 2 usage error.
#include <cstdio>
#include <string>
#include <vector>

#include "client/commands.h"
#include "client/flag_parser.h"

namespace {

constexpr char kUsage[] =
    "usage: sasrecllm-client [--target host:port] [--timeout-ms N] COMMAND [flags]\n"
    "\n"
    "Commands:\n"
    "  recommend    rank items for a history (Recommend)\n"
    "  score        P(like) of candidates for a history, or a TSV file of requests (Score)\n"
    "  score-collm  AUC / UAUC of a CoLLM split scored through the server (Score)\n"
    "  info         model version, components and limits (GetModelInfo)\n"
    "  health       grpc.health.v1 Check or Watch; exit 0 only when SERVING\n"
    "  bench        load generator: closed loop (--concurrency) or open loop (--rate)\n"
    "\n"
    "`sasrecllm-client COMMAND --help` lists a command's flags.\n"
    "Exit codes: 0 ok, 1 RPC or I/O error, 2 usage error.";

}  // namespace

int main(int argc, char** argv) {
  using namespace sasrecllm::client;  // NOLINT(build/namespaces): main only
  GlobalOptions global;
  FlagParser flags(kUsage);
  flags.AddString("target", &global.target, "Server address host:port.");
  flags.AddInt("timeout-ms", &global.timeout_ms, "Deadline of each RPC in milliseconds.");
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> rest;
  if (absl::Status s = flags.Parse(args, /*stop_at_positional=*/true, &rest); !s.ok()) {
    std::fprintf(stderr, "sasrecllm-client: %s\n%s", std::string(s.message()).c_str(),
                 flags.Help().c_str());
    return kExitUsage;
  }
  if (flags.help_requested() && rest.empty()) {
    std::printf("%s", flags.Help().c_str());
    return kExitOk;
  }
  if (rest.empty()) {
    std::fprintf(stderr, "sasrecllm-client: missing COMMAND\n%s", flags.Help().c_str());
    return kExitUsage;
  }
  global.timeout_given = flags.IsSet("timeout-ms");
  const std::string command = rest[0];
  std::vector<std::string> command_args(rest.begin() + 1, rest.end());
  if (flags.help_requested()) command_args.push_back("--help");
  if (command == "recommend") return RunRecommend(global, command_args);
  if (command == "score") return RunScore(global, command_args);
  if (command == "score-collm") return RunScoreCollm(global, command_args);
  if (command == "info") return RunInfo(global, command_args);
  if (command == "health") return RunHealth(global, command_args);
  if (command == "bench") return RunBench(global, command_args);
  if (command == "help") {
    std::printf("%s", flags.Help().c_str());
    return kExitOk;
  }
  std::fprintf(stderr, "sasrecllm-client: unknown command '%s'\n%s", command.c_str(),
               flags.Help().c_str());
  return kExitUsage;
}
