// Command-line helpers that the three binaries (sasrecllm, sasrecllm-server,
// sasrecllm-client) share: exit codes, a CLI11 bound check, CLI11 parse-error
// reporting, usage / run-time error reporting and `--json FILE|-` output.
// Target sasrecllm_command_line (CLI11 + sasrecllm_base); sasrecllm_base
// itself does not compile this file and stays free of CLI11.
//
// Exit codes, the same for every binary: 0 ok (and --help); 1 a run-time
// error; 2 a usage error.
#ifndef SASRECLLM_BASE_COMMAND_LINE_H_
#define SASRECLLM_BASE_COMMAND_LINE_H_

#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace sasrecllm::command_line {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

// One subcommand of a binary: its CLI11 app (owned by the parent app) and the
// function that runs it once the command line has parsed.
struct Command {
  CLI::App* app;
  std::function<int()> run;  // returns the exit code
};

// A subcommand being declared, with the options object its flags bind to:
//
//   Subcommand<TrainFlags> sub(app, "train", "one line for the parent's --help",
//                              R"(Text shown after the flags in `train --help`.)");
//   sub->add_option("--epochs", sub.flags().epochs, "epochs");
//   return sub.RunWith(Train);  // int Train(const TrainFlags&)
//
// The Command that RunWith returns owns the options object.
template <typename Flags>
class Subcommand {
 public:
  Subcommand(CLI::App& parent, const std::string& name, const std::string& summary,
             const std::string& description = "")
      : app_(parent.add_subcommand(name, summary)), flags_(std::make_shared<Flags>()) {
    if (!description.empty()) app_->footer(description);
  }

  CLI::App* operator->() const { return app_; }
  CLI::App* app() const { return app_; }
  Flags& flags() const { return *flags_; }

  Command RunWith(std::function<int(const Flags&)> run) const {
    return {app_, [flags = flags_, run = std::move(run)] { return run(*flags); }};
  }

 private:
  CLI::App* app_;
  std::shared_ptr<Flags> flags_;
};

// Parses the command line into `app` and runs the one command of `commands`
// that it names; returns the exit code (0 after --help, 2 for a usage error).
int ParseAndRun(CLI::App& app, const std::vector<Command>& commands, int argc,
                const char* const* argv);

// A CLI11 check that a number is >= `min`, naming the bound (CLI11 2.1's
// PositiveNumber / NonNegativeNumber print their whole double range).
CLI::Validator AtLeast(int64_t min);

// A CLI11 check that a --device value is "cpu", "cuda" or "cuda:N"
// (ParseDeviceName); whether this machine has that device is the command's
// run-time check.
CLI::Validator DeviceNameCheck();

// The exit code for a CLI11 parse error, after printing it: 0 after --help /
// -h (usage on stdout), else 2 (the error on stderr). CLI11 checks required
// flags before unknown arguments; an unknown argument is reported first.
int ParseErrorExit(CLI::App& app, const CLI::ParseError& error);

// Prints "error: MESSAGE" (which names the flag) on stderr; returns kExitUsage.
int UsageError(const std::string& message);

// Prints "error: STATUS MESSAGE" on stderr; returns kExitError.
int Fail(const Status& status);

// kExitOk for an ok `status`; else prints "COMMAND: STATUS" on stderr and
// returns kExitError.
int ExitCodeOf(const char* command, const Status& status);

// `--json FILE`: FILE receives the command's result as one JSON document; "-"
// means stdout, and then the human-readable text goes to stderr so that
// stdout is pure JSON.
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

}  // namespace sasrecllm::command_line

#endif  // SASRECLLM_BASE_COMMAND_LINE_H_
