// A tiny command-line flag parser for the LLM subcommands: "--name value",
// "--name=value", boolean "--name", positional arguments, "--" ends flags.
//
//   SASRECLLM_ASSIGN_OR_RETURN(Flags flags, Flags::Parse(argc, argv, first,
//                              {"model", "steps"}, {"bos"}));
//   SASRECLLM_ASSIGN_OR_RETURN(int64_t steps, flags.GetInt("steps", 256));
//
// Thread safety: a plain value type.
#ifndef SASRECLLM_MODEL_LLM_FLAGS_H_
#define SASRECLLM_MODEL_LLM_FLAGS_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"

namespace sasrecllm::llm {

class Flags {
 public:
  // Parses argv[first..argc). INVALID_ARGUMENT for an unknown flag or a
  // value flag without a value.
  static StatusOr<Flags> Parse(int argc, char** argv, int first,
                               const std::set<std::string>& value_flags,
                               const std::set<std::string>& bool_flags);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  // INVALID_ARGUMENT naming the flag and value when it is not a number.
  StatusOr<int64_t> GetInt(const std::string& name, int64_t fallback) const;
  StatusOr<double> GetDouble(const std::string& name, double fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_FLAGS_H_
