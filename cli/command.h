// How the offline tool's commands plug into its CLI11 app (cli/main.cc).
//
// Each Add* function adds one subcommand to `parent`, binds its flags to an
// options object that the returned Command owns, and returns the subcommand
// with the function that runs it after the command line has parsed:
//
//   CLI::App app("The SASRecLLM offline tool.", "sasrecllm");
//   std::vector<Command> commands = {AddTrainSasrec(app), ...};
//   app.parse(argc, argv);                      // CLI::ParseError: exit 0 or 2
//   for (Command& c : commands) if (c.app->parsed()) return c.run();
//
// Exit codes, the same for every command: 0 ok; 1 a run-time error (a missing
// or corrupt file, a model error: whatever Status the work itself returns);
// 2 a usage error (reported by CLI11, or by UsageError for a flag value that
// only the command can check).
#ifndef SASRECLLM_CLI_COMMAND_H_
#define SASRECLLM_CLI_COMMAND_H_

#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>

#include "base/status.h"

namespace sasrecllm::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

struct Command {
  CLI::App* app;             // owned by its parent app
  std::function<int()> run;  // returns the exit code
};

// A CLI11 check that a number is >= `min`, naming the bound (CLI11 2.1's
// PositiveNumber / NonNegativeNumber print their whole double range).
inline CLI::Validator AtLeast(int64_t min) {
  return CLI::Validator(
      [min](std::string& value) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(value, v)) return "expected a number, got " + value;
        return v >= static_cast<double>(min)
                   ? std::string()
                   : "must be >= " + std::to_string(min) + ", got " + value;
      },
      ">=" + std::to_string(min));
}

// The exit code for a CLI11 parse error, after printing it: 0 after --help /
// -h (usage on stdout), else 2 (the error on stderr). CLI11 checks required
// flags before unknown arguments; an unknown argument is reported first.
int ParseErrorExit(CLI::App& app, const CLI::ParseError& error);

// Prints "error: MESSAGE" (which names the flag) on stderr; returns kExitUsage.
int UsageError(const std::string& message);

// Prints "error: STATUS MESSAGE" on stderr; returns kExitError.
int Fail(const Status& status);

// `--json FILE`, the same for every command: FILE receives the command's
// result as one JSON document; "-" means stdout, and then the command's
// human-readable text goes to stderr so that stdout is pure JSON.
inline constexpr char kJsonHelp[] =
    "write the result as one JSON document to FILE ('-': stdout; the text then goes to "
    "stderr)";
// Where the human-readable text goes for `--json json_target`.
inline std::ostream& TextStream(const std::string& json_target) {
  return json_target == "-" ? std::cerr : std::cout;
}
inline std::FILE* TextFile(const std::string& json_target) {
  return json_target == "-" ? stderr : stdout;
}
// Writes `json_text` plus a newline to `json_target` ("-": stdout).
Status WriteJsonOutput(const std::string& json_target, const std::string& json_text);

}  // namespace sasrecllm::cli

#endif  // SASRECLLM_CLI_COMMAND_H_
