#include "model/llm/flags.h"

#include <cstdlib>

namespace sasrecllm::llm {

StatusOr<Flags> Flags::Parse(int argc, char** argv, int first,
                             const std::set<std::string>& value_flags,
                             const std::set<std::string>& bool_flags) {
  Flags flags;
  bool only_positional = false;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (only_positional || arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      if (arg == "--") {
        only_positional = true;
        continue;
      }
      flags.positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (bool_flags.count(name)) {
      flags.values_[name] = has_value ? value : "true";
    } else if (value_flags.count(name)) {
      if (!has_value) {
        if (i + 1 >= argc) return InvalidArgumentError("flag --" + name + " needs a value");
        value = argv[++i];
      }
      flags.values_[name] = value;
    } else {
      return InvalidArgumentError("unknown flag --" + name);
    }
  }
  return flags;
}

std::string Flags::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

StatusOr<int64_t> Flags::GetInt(const std::string& name, int64_t fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  char* end = nullptr;
  const long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0') {
    return InvalidArgumentError("--" + name + ": \"" + it->second + "\" is not an integer");
  }
  return static_cast<int64_t>(v);
}

StatusOr<double> Flags::GetDouble(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end != '\0') {
    return InvalidArgumentError("--" + name + ": \"" + it->second + "\" is not a number");
  }
  return v;
}

}  // namespace sasrecllm::llm
