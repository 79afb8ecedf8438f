// How the offline tool's commands plug into its CLI11 app (cli/main.cc).
//
// Each Add* function declares one subcommand (a command_line::Subcommand),
// binds its flags to an options object that the returned Command owns, and
// returns the subcommand with the function that runs it:
//
//   CLI::App app("The SASRecLLM offline tool.", "sasrecllm");
//   std::vector<Command> commands = {AddTrainSasrec(app), ...};
//   return ParseAndRun(app, commands, argc, argv);
//
// Exit codes, the same for every command: 0 ok; 1 a run-time error (a missing
// or corrupt file, a model error: whatever Status the work itself returns);
// 2 a usage error (reported by CLI11, or by UsageError for a flag value that
// only the command can check).
#ifndef SASRECLLM_CLI_COMMAND_H_
#define SASRECLLM_CLI_COMMAND_H_

#include <CLI/CLI.hpp>

#include "base/command_line.h"

namespace sasrecllm::cli {

// The shared command-line helpers (base/command_line.h).
using command_line::AtLeast;
using command_line::Command;
using command_line::DeviceNameCheck;
using command_line::ExitCodeOf;
using command_line::Fail;
using command_line::kExitError;
using command_line::kExitOk;
using command_line::kExitUsage;
using command_line::kJsonHelp;
using command_line::ParseAndRun;
using command_line::Subcommand;
using command_line::TextFile;
using command_line::TextStream;
using command_line::UsageError;
using command_line::WriteJsonOutput;

}  // namespace sasrecllm::cli

#endif  // SASRECLLM_CLI_COMMAND_H_
