#include "client/util.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "base/file.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace sasrecllm::client {

std::string StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return absl::StrCat("CODE_", static_cast<int>(code));
  }
}

std::vector<std::string> ParseIdList(absl::string_view text) {
  if (text.empty()) return {};
  return absl::StrSplit(text, ',');
}

absl::StatusOr<v1::RankingMode> ParseMode(absl::string_view text) {
  if (text == "auto") return v1::RANKING_MODE_AUTO;
  if (text == "sequential") return v1::RANKING_MODE_SEQUENTIAL_ONLY;
  if (text == "hybrid") return v1::RANKING_MODE_HYBRID;
  return absl::InvalidArgumentError(
      absl::StrCat("--mode=", text, ": expected auto, sequential or hybrid"));
}

std::string ModeName(v1::RankingMode mode) {
  switch (mode) {
    case v1::RANKING_MODE_AUTO: return "auto";
    case v1::RANKING_MODE_SEQUENTIAL_ONLY: return "sequential";
    case v1::RANKING_MODE_HYBRID: return "hybrid";
    default: return absl::StrCat("mode_", static_cast<int>(mode));
  }
}

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);  // UTF-8 passes through unchanged
        }
    }
  }
  out += "\"";
  return out;
}

CLI::Option* AddGlobalFlags(CLI::App& app, GlobalOptions* global) {
  app.add_option("--target", global->target,
                 "Server address host:port (any gRPC target: dns:///NAME:PORT, "
                 "ipv4:HOST:PORT,HOST:PORT, ...).");
  CLI::Option* timeout =
      app.add_option("--timeout-ms", global->timeout_ms, "Deadline of each RPC in milliseconds.")
          ->check(command_line::AtLeast(1));
  app.add_option("--lb-policy", global->lb_policy,
                 "Load balancing over the target's addresses: pick_first or round_robin.")
      ->check(CLI::IsMember({"pick_first", "round_robin"}));
  app.add_option("--tls-ca", global->tls_ca,
                 "TLS: the CA certificate (PEM) that signed the server's; unset: plaintext.")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-cert", global->tls_cert,
                 "Mutual TLS: this client's certificate (PEM); needs --tls-ca and --tls-key.")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", global->tls_key, "Mutual TLS: the private key of --tls-cert (PEM).")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-server-name", global->tls_server_name,
                 "TLS: the name to check the server's certificate against (default: the "
                 "target's host).");
  app.add_option("--request-id", global->request_id,
                 "Sent as x-request-id metadata (recommend, score, info); the server's access "
                 "log records it.");
  return timeout;
}

std::shared_ptr<grpc::Channel> MakeChannel(const GlobalOptions& global, int connection) {
  grpc::ChannelArguments arguments;
  if (connection > 0) {
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    arguments.SetInt("sasrecllm.connection", connection);
  }
  arguments.SetMaxReceiveMessageSize(64 << 20);
  if (global.lb_policy == "round_robin") {
    // With client-side health checking: a replica that reports NOT_SERVING
    // (draining) gets no new calls, well before its GOAWAY.
    arguments.SetServiceConfigJSON(
        R"({"loadBalancingConfig": [{"round_robin": {}}], "healthCheckConfig": {"serviceName": ""}})");
  } else {
    arguments.SetLoadBalancingPolicyName(global.lb_policy);
  }
  // A replica that restarts (a rolling update) is used again within a second.
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!global.tls_ca.empty() || !global.tls_cert.empty()) {
    // Missing files were refused when the flags parsed (CLI::ExistingFile).
    auto read = [](const std::string& path) {
      StatusOr<std::string> text = ReadFileToString(path);
      return text.ok() ? *text : std::string();
    };
    grpc::SslCredentialsOptions options;
    if (!global.tls_ca.empty()) options.pem_root_certs = read(global.tls_ca);
    if (!global.tls_cert.empty()) {
      options.pem_cert_chain = read(global.tls_cert);
      options.pem_private_key = read(global.tls_key);
    }
    credentials = grpc::SslCredentials(options);
    if (!global.tls_server_name.empty()) {
      arguments.SetSslTargetNameOverride(global.tls_server_name);
    }
  }
  return grpc::CreateCustomChannel(global.target, credentials, arguments);
}

grpc::Status ConnectRecommender(const GlobalOptions& global,
                                std::unique_ptr<v1::Recommender::Stub>* stub, int connection) {
  std::shared_ptr<grpc::Channel> channel = MakeChannel(global, connection);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 std::chrono::milliseconds(global.timeout_ms))) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        absl::StrCat("cannot connect to ", global.target));
  }
  *stub = v1::Recommender::NewStub(channel);
  return grpc::Status::OK;
}

void SetDeadline(const GlobalOptions& global, grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(global.timeout_ms));
}

int UsageError(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "sasrecllm-client %s: %s (see --help)\n", command.c_str(),
               message.c_str());
  return kExitUsage;
}

int RpcError(const std::string& command, const grpc::Status& status) {
  std::fprintf(stderr, "sasrecllm-client %s: %s: %s\n", command.c_str(),
               StatusCodeName(status.error_code()).c_str(), status.error_message().c_str());
  return kExitError;
}

int IoError(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "sasrecllm-client %s: %s\n", command.c_str(), message.c_str());
  return kExitError;
}

nlohmann::ordered_json MessageJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  // Cannot fail for a message of a compiled-in type.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return nlohmann::ordered_json::parse(json);
}

absl::Status WriteJsonOutput(const std::string& json_target, const nlohmann::ordered_json& json) {
  const Status s = command_line::WriteJsonOutput(
      json_target, json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  if (!s.ok()) return absl::NotFoundError(absl::StrCat("--json: ", s.message()));
  return absl::OkStatus();
}

int WriteJsonIfAsked(const std::string& command, const std::string& json_target,
                     const nlohmann::ordered_json& json) {
  if (json_target.empty()) return kExitOk;
  if (absl::Status s = WriteJsonOutput(json_target, json); !s.ok()) {
    return IoError(command, std::string(s.message()));
  }
  return kExitOk;
}

}  // namespace sasrecllm::client
