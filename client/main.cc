// sasrecllm-client: command-line client and load generator for the
// SASRecLLM service (sasrecllm.v1.Recommender, grpc.health.v1.Health).
//
//   sasrecllm-client --target localhost:50051 recommend --history 1,2,3 --top-k 5
//   sasrecllm-client health --wait-s 30
//   sasrecllm-client bench --concurrency 32 --duration-s 10 --json bench.json
//   sasrecllm-client score-collm --data ../shared/data/collm-ml1m --split test --json -
//
// Exit codes: 0 ok, 1 RPC or I/O error (status code name on stderr),
// 2 usage error.
#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "base/command_line.h"
#include "client/commands.h"
#include "client/util.h"

int main(int argc, char** argv) {
  using namespace sasrecllm::client;  // NOLINT(build/namespaces): main only
  auto global = std::make_shared<GlobalOptions>();
  CLI::App app("Command-line client and load generator for the SASRecLLM service.",
               "sasrecllm-client");
  app.option_defaults()->always_capture_default();
  app.require_subcommand(1);
  // The global flags are also accepted after the command.
  app.fallthrough();
  app.footer("--target, --timeout-ms, --lb-policy and --tls-* may also follow the command.\n"
             "Run `sasrecllm-client COMMAND --help` for a command's flags.\n"
             "Exit codes: 0 ok, 1 RPC or I/O error, 2 usage error.");
  CLI::Option* timeout = AddGlobalFlags(app, global.get());
  std::vector<Command> commands = {AddRecommend(app, global), AddScore(app, global),
                                   AddScoreCollm(app, global), AddInfo(app, global),
                                   AddHealth(app, global),     AddBench(app, global)};
  // Known only once the command line has parsed, before the command runs.
  app.parse_complete_callback([&] { global->timeout_given = timeout->count() > 0; });
  return sasrecllm::command_line::ParseAndRun(app, commands, argc, argv);
}
