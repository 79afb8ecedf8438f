#include "client/flag_parser.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sasrecllm::client {

void FlagParser::AddString(const std::string& name, std::string* target,
                           const std::string& help) {
  flags_.push_back({name, Type::kString, target, help, *target});
}

void FlagParser::AddInt(const std::string& name, int64_t* target, const std::string& help) {
  flags_.push_back({name, Type::kInt, target, help, absl::StrCat(*target)});
}

void FlagParser::AddDouble(const std::string& name, double* target, const std::string& help) {
  flags_.push_back({name, Type::kDouble, target, help, absl::StrCat(*target)});
}

void FlagParser::AddBool(const std::string& name, bool* target, const std::string& help) {
  flags_.push_back({name, Type::kBool, target, help, *target ? "true" : "false"});
}

FlagParser::Flag* FlagParser::Find(const std::string& name) {
  for (Flag& flag : flags_) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

bool FlagParser::IsSet(const std::string& name) const {
  for (const Flag& flag : flags_) {
    if (flag.name == name) return flag.set;
  }
  return false;
}

absl::Status FlagParser::Assign(Flag& flag, const std::string& value) {
  flag.set = true;
  switch (flag.type) {
    case Type::kString:
      *static_cast<std::string*>(flag.target) = value;
      return absl::OkStatus();
    case Type::kInt:
      if (!absl::SimpleAtoi(value, static_cast<int64_t*>(flag.target))) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", flag.name, "=", value, ": not an integer"));
      }
      return absl::OkStatus();
    case Type::kDouble:
      if (!absl::SimpleAtod(value, static_cast<double*>(flag.target))) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", flag.name, "=", value, ": not a number"));
      }
      return absl::OkStatus();
    case Type::kBool:
      if (!absl::SimpleAtob(value, static_cast<bool*>(flag.target))) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", flag.name, "=", value, ": expected true or false"));
      }
      return absl::OkStatus();
  }
  return absl::InternalError("unknown flag type");
}

absl::Status FlagParser::Parse(const std::vector<std::string>& args, bool stop_at_positional,
                               std::vector<std::string>* positional) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional->insert(positional->end(), args.begin() + i + 1, args.end());
      return absl::OkStatus();
    }
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      continue;
    }
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      if (stop_at_positional) {
        positional->insert(positional->end(), args.begin() + i, args.end());
        return absl::OkStatus();
      }
      positional->push_back(arg);
      continue;
    }
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    Flag* flag = Find(name);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (eq != std::string::npos) {
      if (absl::Status s = Assign(*flag, arg.substr(eq + 1)); !s.ok()) return s;
    } else if (flag->type == Type::kBool) {
      if (absl::Status s = Assign(*flag, "true"); !s.ok()) return s;
    } else {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
      if (absl::Status s = Assign(*flag, args[++i]); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

std::string FlagParser::Help() const {
  std::string out = absl::StrCat(usage_, "\n");
  if (!flags_.empty()) absl::StrAppend(&out, "\nFlags:\n");
  for (const Flag& flag : flags_) {
    std::string spelled = absl::StrCat("  --", flag.name);
    if (flag.type != Type::kBool) absl::StrAppend(&spelled, " VALUE");
    if (spelled.size() < 26) spelled.resize(26, ' ');
    absl::StrAppend(&out, spelled, " ", flag.help);
    if (!flag.default_value.empty()) {
      absl::StrAppend(&out, " Default: ", flag.default_value, ".");
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace sasrecllm::client
