// The subcommands of sasrecllm-client, one file each (recommend_command.cc,
// score_command.cc, score_collm_command.cc, info_command.cc,
// health_command.cc, bench_command.cc). Each Add* function adds its
// subcommand to the app, binding its flags to an options object that the
// returned Command owns; `global` holds --target and --timeout-ms (accepted
// before the command and after it), filled in when the command line parses.
//
// Exit codes: 0 ok, 1 an RPC or I/O error (the gRPC status code name and
// message go to stderr), 2 a usage error.
#ifndef SASRECLLM_CLIENT_COMMANDS_H_
#define SASRECLLM_CLIENT_COMMANDS_H_

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/command_line.h"
#include "client/util.h"

namespace sasrecllm::client {

using Global = std::shared_ptr<const GlobalOptions>;

// The shared command-line helpers (base/command_line.h).
using command_line::AtLeast;
using command_line::Command;
using command_line::Subcommand;

Command AddRecommend(CLI::App& app, Global global);
Command AddScore(CLI::App& app, Global global);
Command AddScoreCollm(CLI::App& app, Global global);
Command AddInfo(CLI::App& app, Global global);
Command AddHealth(CLI::App& app, Global global);
Command AddBench(CLI::App& app, Global global);

}  // namespace sasrecllm::client

#endif  // SASRECLLM_CLIENT_COMMANDS_H_
