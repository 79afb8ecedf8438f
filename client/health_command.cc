// `sasrecllm-client health`: grpc.health.v1 Check or Watch; exit 0 only
// when SERVING.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/commands.h"
#include "client/util.h"
#include "grpcpp/grpcpp.h"
#include "proto/health.grpc.pb.h"

namespace sasrecllm::client {
namespace {

using Clock = std::chrono::steady_clock;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

const char* HealthName(HealthCheckResponse::ServingStatus status) {
  switch (status) {
    case HealthCheckResponse::UNKNOWN: return "UNKNOWN";
    case HealthCheckResponse::SERVING: return "SERVING";
    case HealthCheckResponse::NOT_SERVING: return "NOT_SERVING";
    case HealthCheckResponse::SERVICE_UNKNOWN: return "SERVICE_UNKNOWN";
    default: return "UNRECOGNIZED";
  }
}

struct HealthFlags {
  std::string service;
  bool watch = false;
  double wait_s = 0;
  std::string json;
};

// {"service": ..., "status": ...} to --json, when given.
absl::Status WriteHealthJson(const HealthFlags& f, const std::string& status) {
  if (f.json.empty()) return absl::OkStatus();
  nlohmann::ordered_json j;
  j["service"] = f.service;
  j["status"] = status;
  return WriteJsonOutput(f.json, j);
}

int CheckHealth(const GlobalOptions& global, const HealthFlags& f) {
  const std::string command = "health";
  std::FILE* text = TextFile(f.json);
  auto stub = Health::NewStub(MakeChannel(global));
  HealthCheckRequest request;
  request.set_service(f.service);

  if (f.watch) {
    grpc::ClientContext context;
    const bool timed = global.timeout_given;
    if (timed) SetDeadline(global, &context);
    std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> reader =
        stub->Watch(&context, request);
    HealthCheckResponse response;
    bool serving = false;
    std::string last = "UNKNOWN";
    while (reader->Read(&response)) {
      serving = response.status() == HealthCheckResponse::SERVING;
      last = HealthName(response.status());
      std::fprintf(text, "%s\n", last.c_str());
      std::fflush(text);
    }
    grpc::Status status = reader->Finish();
    if (!status.ok() && !(timed && status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)) {
      return RpcError(command, status);
    }
    if (absl::Status s = WriteHealthJson(f, last); !s.ok()) {
      return IoError(command, std::string(s.message()));
    }
    return serving ? kExitOk : kExitError;
  }

  const Clock::time_point give_up =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(f.wait_s));
  for (;;) {
    grpc::ClientContext context;
    SetDeadline(global, &context);
    HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, request, &response);
    const bool serving = status.ok() && response.status() == HealthCheckResponse::SERVING;
    if (serving || Clock::now() >= give_up) {
      if (!status.ok()) return RpcError(command, status);
      std::fprintf(text, "%s\n", HealthName(response.status()));
      if (absl::Status s = WriteHealthJson(f, HealthName(response.status())); !s.ok()) {
        return IoError(command, std::string(s.message()));
      }
      return serving ? kExitOk : kExitError;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

Command AddHealth(CLI::App& app, Global global) {
  Subcommand<HealthFlags> sub(
      app, "health", "grpc.health.v1 Check or Watch; exit 0 only when SERVING",
      R"(Asks grpc.health.v1.Health for the status of NAME ("": the whole server;
the recommender is "sasrecllm.v1.Recommender") and prints SERVING, NOT_SERVING,
UNKNOWN or SERVICE_UNKNOWN. Exit 0 only when SERVING.
--watch streams status changes until the server ends the stream (or --timeout-ms,
when given, passes); the exit code follows the last status.
--wait-s polls Check until SERVING or S seconds have passed (connection errors
are retried meanwhile).)");
  HealthFlags& f = sub.flags();
  sub->add_option("--service", f.service, "Service name to check (\"\": the server).");
  CLI::Option* watch = sub->add_flag("--watch", f.watch, "Stream status changes (Watch).");
  sub->add_option("--wait-s", f.wait_s, "Poll until SERVING for up to this many seconds.")
      ->check(AtLeast(0))
      ->excludes(watch);
  sub->add_option("--json", f.json, kJsonHelp)->type_name("FILE");
  return sub.RunWith([global](const HealthFlags& flags) { return CheckHealth(*global, flags); });
}

}  // namespace sasrecllm::client
