#include "cli/command.h"

#include <string>
#include <vector>

#include "base/file.h"

namespace sasrecllm::cli {

int ParseErrorExit(CLI::App& app, const CLI::ParseError& error) {
  if (error.get_exit_code() == 0) return app.exit(error);
  const std::vector<std::string> extra = app.remaining(/*recurse=*/true);
  if (!extra.empty() && dynamic_cast<const CLI::ExtrasError*>(&error) == nullptr) {
    app.exit(CLI::ExtrasError(extra));
  } else {
    app.exit(error);
  }
  return kExitUsage;
}

int UsageError(const std::string& message) {
  std::cerr << "error: " << message << "\nRun with --help for more information.\n";
  return kExitUsage;
}

int Fail(const Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  return kExitError;
}

Status WriteJsonOutput(const std::string& json_target, const std::string& json_text) {
  if (json_target == "-") {
    std::cout << json_text << "\n" << std::flush;
    return OkStatus();
  }
  return WriteStringToFile(json_target, json_text + "\n");
}

}  // namespace sasrecllm::cli
