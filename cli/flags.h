// A small command-line flag parser for the offline tool (the CLI must build
// against libtorch alone, so no absl/flags).
//
//   FlagSet flags("sasrecllm eval-sasrec --data FILE --model DIR [options]",
//                 "Evaluates a SASRec checkpoint with the paper's protocol.");
//   flags.AddString("data", "", "sequence file", /*required=*/true);
//   flags.AddInt("seed", 42, "random seed");
//   if (int code; !flags.Parse(argc, argv, &code)) return code;
//   int64_t seed = flags.GetInt("seed");
//
// Accepts `--name value`, `--name=value`; boolean flags take no value
// (`--name`, or `--name=true|false`). Unknown flags, missing values, values of
// the wrong type, missing required flags and positional arguments are usage
// errors (exit code 2); `--help` / `-h` prints the help (exit code 0).
#ifndef SASRECLLM_CLI_FLAGS_H_
#define SASRECLLM_CLI_FLAGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sasrecllm::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

class FlagSet {
 public:
  FlagSet(std::string usage, std::string description);

  void AddString(const std::string& name, const std::string& def, const std::string& help,
                 bool required = false);
  void AddInt(const std::string& name, int64_t def, const std::string& help);
  void AddDouble(const std::string& name, double def, const std::string& help);
  void AddBool(const std::string& name, const std::string& help);

  // Parses argv[first..argc). Returns true to go on; false with *exit_code set
  // (0 after --help, 2 after a usage error, already reported on stderr).
  bool Parse(int argc, char** argv, int first, int* exit_code);

  std::string GetString(const std::string& name) const;
  int64_t GetInt(const std::string& name) const;
  double GetDouble(const std::string& name) const;
  bool GetBool(const std::string& name) const;
  bool WasSet(const std::string& name) const;

  std::string Help() const;

 private:
  enum class Kind { kString, kInt, kDouble, kBool };
  struct Flag {
    Kind kind;
    std::string value;  // current value, as text
    std::string def;
    std::string help;
    bool required = false;
    bool set = false;
  };
  std::string usage_, description_;
  std::map<std::string, Flag> flags_;
  std::vector<std::string> order_;
};

}  // namespace sasrecllm::cli

#endif  // SASRECLLM_CLI_FLAGS_H_
