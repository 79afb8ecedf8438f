#include "base/command_line.h"

#include <string>
#include <vector>

#include "base/device_names.h"
#include "base/file.h"

namespace sasrecllm::command_line {

CLI::Validator AtLeast(int64_t min) {
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

CLI::Validator DeviceNameCheck() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        StatusOr<DeviceName> device = ParseDeviceName(value);
        return device.ok() ? std::string() : device.status().message();
      },
      "DEVICE");
}

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

int ParseAndRun(CLI::App& app, const std::vector<Command>& commands, int argc,
                const char* const* argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return ParseErrorExit(app, e);  // --help / -h: 0; any other parse error: 2
  }
  for (const Command& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  return UsageError("no command given");  // require_subcommand(1) normally catches this
}

int UsageError(const std::string& message) {
  std::cerr << "error: " << message << "\nRun with --help for more information.\n";
  return kExitUsage;
}

int Fail(const Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  return kExitError;
}

int ExitCodeOf(const char* command, const Status& status) {
  if (status.ok()) return kExitOk;
  std::cerr << command << ": " << status << "\n";
  return kExitError;
}

Status WriteJsonOutput(const std::string& json_target, const std::string& json_text) {
  if (json_target == "-") {
    std::cout << json_text << "\n" << std::flush;
    return OkStatus();
  }
  return WriteStringToFile(json_target, json_text + "\n");
}

}  // namespace sasrecllm::command_line
