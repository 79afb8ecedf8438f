// A small per-command flag parser for sasrecllm-client.
//
// absl::flags are process-global and exit(1) on a bad flag; the client needs
// per-subcommand flag sets and exit code 2 for usage errors, so it parses its
// own. Accepted spellings: `--name VALUE`, `--name=VALUE`, and `--name` for
// booleans (`--name=true|false` also works). Flag names use dashes.
//
//   FlagParser flags("sasrecllm-client recommend --history IDS [options]");
//   std::string history;
//   flags.AddString("history", &history, "Comma-separated item ids.");
//   std::vector<std::string> rest;
//   absl::Status s = flags.Parse(args, /*stop_at_positional=*/false, &rest);
//
// Not thread-safe; the targets must outlive the parser.
#ifndef SASRECLLM_CLIENT_FLAG_PARSER_H_
#define SASRECLLM_CLIENT_FLAG_PARSER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace sasrecllm::client {

class FlagParser {
 public:
  explicit FlagParser(std::string usage) : usage_(std::move(usage)) {}

  void AddString(const std::string& name, std::string* target, const std::string& help);
  void AddInt(const std::string& name, int64_t* target, const std::string& help);
  void AddDouble(const std::string& name, double* target, const std::string& help);
  void AddBool(const std::string& name, bool* target, const std::string& help);

  // Parses `args` (no program name). Non-flag arguments go to `positional`;
  // with `stop_at_positional`, the first one and everything after it do.
  // `--` ends flags. Returns InvalidArgument naming the flag on an unknown
  // flag, a missing value or a malformed number. `--help`/`-h` sets
  // help_requested() and returns OK.
  absl::Status Parse(const std::vector<std::string>& args, bool stop_at_positional,
                     std::vector<std::string>* positional);

  // Whether `name` appeared on the command line.
  bool IsSet(const std::string& name) const;
  bool help_requested() const { return help_requested_; }

  // Usage line followed by one line per flag with its help and default.
  std::string Help() const;

 private:
  enum class Type { kString, kInt, kDouble, kBool };
  struct Flag {
    std::string name;
    Type type;
    void* target;
    std::string help;
    std::string default_value;
    bool set = false;
  };
  Flag* Find(const std::string& name);
  static absl::Status Assign(Flag& flag, const std::string& value);

  std::string usage_;
  std::vector<Flag> flags_;
  bool help_requested_ = false;
};

}  // namespace sasrecllm::client

#endif  // SASRECLLM_CLIENT_FLAG_PARSER_H_
