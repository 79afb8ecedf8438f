#include "cli/flags.h"

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace sasrecllm::cli {
namespace {

bool ValidInt(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

bool ValidDouble(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace

FlagSet::FlagSet(std::string usage, std::string description)
    : usage_(std::move(usage)), description_(std::move(description)) {}

void FlagSet::AddString(const std::string& name, const std::string& def, const std::string& help,
                        bool required) {
  flags_[name] = Flag{Kind::kString, def, def, help, required};
  order_.push_back(name);
}
void FlagSet::AddInt(const std::string& name, int64_t def, const std::string& help) {
  flags_[name] = Flag{Kind::kInt, std::to_string(def), std::to_string(def), help};
  order_.push_back(name);
}
void FlagSet::AddDouble(const std::string& name, double def, const std::string& help) {
  std::ostringstream ss;
  ss << def;
  flags_[name] = Flag{Kind::kDouble, ss.str(), ss.str(), help};
  order_.push_back(name);
}
void FlagSet::AddBool(const std::string& name, const std::string& help) {
  flags_[name] = Flag{Kind::kBool, "false", "false", help};
  order_.push_back(name);
}

bool FlagSet::Parse(int argc, char** argv, int first, int* exit_code) {
  auto usage_error = [&](const std::string& msg) {
    std::cerr << "error: " << msg << "\nusage: " << usage_ << "\n(run with --help for details)\n";
    *exit_code = kExitUsage;
    return false;
  };
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << Help();
      *exit_code = kExitOk;
      return false;
    }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      return usage_error("unexpected argument \"" + arg + "\"");
    }
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto it = flags_.find(name);
    if (it == flags_.end()) return usage_error("unknown flag --" + name);
    Flag& flag = it->second;
    if (flag.kind == Kind::kBool) {
      if (!has_value) value = "true";
      if (value != "true" && value != "false") {
        return usage_error("--" + name + " takes true or false, got \"" + value + "\"");
      }
    } else if (!has_value) {
      if (i + 1 >= argc) return usage_error("--" + name + " needs a value");
      value = argv[++i];
    }
    if (flag.kind == Kind::kInt && !ValidInt(value)) {
      return usage_error("--" + name + " needs an integer, got \"" + value + "\"");
    }
    if (flag.kind == Kind::kDouble && !ValidDouble(value)) {
      return usage_error("--" + name + " needs a number, got \"" + value + "\"");
    }
    flag.value = value;
    flag.set = true;
  }
  for (const std::string& name : order_) {
    const Flag& flag = flags_.at(name);
    if (flag.required && !flag.set) return usage_error("missing required flag --" + name);
  }
  return true;
}

std::string FlagSet::GetString(const std::string& name) const { return flags_.at(name).value; }
int64_t FlagSet::GetInt(const std::string& name) const {
  return std::strtoll(flags_.at(name).value.c_str(), nullptr, 10);
}
double FlagSet::GetDouble(const std::string& name) const {
  return std::strtod(flags_.at(name).value.c_str(), nullptr);
}
bool FlagSet::GetBool(const std::string& name) const { return flags_.at(name).value == "true"; }
bool FlagSet::WasSet(const std::string& name) const { return flags_.at(name).set; }

std::string FlagSet::Help() const {
  std::ostringstream out;
  out << "usage: " << usage_ << "\n\n" << description_ << "\n\nflags:\n";
  for (const std::string& name : order_) {
    const Flag& f = flags_.at(name);
    std::string head = "  --" + name;
    switch (f.kind) {
      case Kind::kString: head += " STRING"; break;
      case Kind::kInt: head += " INT"; break;
      case Kind::kDouble: head += " NUMBER"; break;
      case Kind::kBool: break;
    }
    out << head;
    if (head.size() < 28) out << std::string(28 - head.size(), ' ');
    else out << "\n" << std::string(28, ' ');
    out << f.help;
    if (f.required) {
      out << " (required)";
    } else if (f.kind != Kind::kBool && !f.def.empty()) {
      out << " (default: " << f.def << ")";
    }
    out << "\n";
  }
  out << "  --help                    print this help\n";
  return out.str();
}

}  // namespace sasrecllm::cli
