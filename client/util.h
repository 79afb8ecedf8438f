// Small helpers shared by the client's commands and its load generator:
// status-code names, id lists, ranking modes, JSON strings, latency summaries,
// and the commands' plumbing (channels, deadlines, errors, --json output).
// All functions are thread-safe; those that print say so.
#ifndef SASRECLLM_CLIENT_UTIL_H_
#define SASRECLLM_CLIENT_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/command_line.h"
#include "base/latency.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"
#include "proto/sasrecllm.grpc.pb.h"
#include "proto/sasrecllm.pb.h"

namespace sasrecllm::client {

// The canonical name of a gRPC status code ("OK", "RESOURCE_EXHAUSTED", ...);
// "CODE_<n>" for a number outside the canonical set.
std::string StatusCodeName(grpc::StatusCode code);

// Splits "a,b,c" into {"a","b","c"}. An empty string gives an empty list;
// empty elements are kept ("1,,2" -> {"1","","2"}) so that the server, not the
// client, decides whether they are valid.
std::vector<std::string> ParseIdList(absl::string_view text);

// "auto" | "sequential" | "hybrid" -> the wire enum; InvalidArgument otherwise.
absl::StatusOr<v1::RankingMode> ParseMode(absl::string_view text);
// RANKING_MODE_SEQUENTIAL_ONLY -> "sequential", etc.
std::string ModeName(v1::RankingMode mode);

// `text` as a quoted JSON string.
std::string JsonString(absl::string_view text);

// LatencySummary and Summarize: base/latency.h.

// ---------------------------------------------------------------------------
// The commands' plumbing.

// Exit codes, --json's help and TextFile: the ones all three binaries share.
using command_line::kExitError;
using command_line::kExitOk;
using command_line::kExitUsage;
using command_line::kJsonHelp;
using command_line::TextFile;

// Flags accepted before the command and by every command.
struct GlobalOptions {
  // Server address. Default: localhost:50051.
  std::string target = "localhost:50051";
  // Deadline of each RPC (bench: of each request). Default: 10000.
  int64_t timeout_ms = 10000;
  // Whether --timeout-ms was given (health --watch has no deadline otherwise).
  bool timeout_given = false;
  // gRPC load-balancing policy over the target's addresses: "pick_first" (one
  // connection) or "round_robin" (every address, e.g. a headless Service's
  // pods or "ipv4:127.0.0.1:50051,127.0.0.1:50052"; with client-side health
  // checking, so that a draining replica gets no new calls). Default: pick_first.
  std::string lb_policy = "pick_first";
  // TLS: the CA that signed the server's certificate (PEM file); empty =
  // plaintext. With tls_cert and tls_key (PEM files), the client's own
  // certificate for mutual TLS. tls_server_name overrides the name checked
  // against the server's certificate. Default: all empty.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
  // Sent as the `x-request-id` metadata of recommend / score / info (the
  // server's access log records it). Default: none (the server makes one).
  std::string request_id;
};

// Registers --target, --timeout-ms, --lb-policy, the --tls-* flags and --request-id on `app`;
// returns --timeout-ms (whether it was given is known once the line parsed).
CLI::Option* AddGlobalFlags(CLI::App& app, GlobalOptions* global);

// A channel to global.target with its load-balancing policy and credentials
// (plaintext, TLS or mutual TLS). Reconnects to a restarted replica within
// about a second (gRPC's default backoff grows to two minutes). Channels of
// different `connection` numbers never share a connection (each has its own
// subchannel pool): a load generator spreads its calls over several.
std::shared_ptr<grpc::Channel> MakeChannel(const GlobalOptions& global, int connection = 0);
void SetDeadline(const GlobalOptions& global, grpc::ClientContext* context);

// A stub on a fresh channel to global.target, once the channel has connected
// (within global.timeout_ms); UNAVAILABLE "cannot connect to TARGET" else.
grpc::Status ConnectRecommender(const GlobalOptions& global,
                                std::unique_ptr<v1::Recommender::Stub>* stub, int connection = 0);

// One unary Recommender RPC on a fresh channel to global.target with the
// global deadline:
//   grpc::Status s = CallRecommender(global, &v1::Recommender::Stub::Score, request, &response);
template <typename Request, typename Response>
grpc::Status CallRecommender(const GlobalOptions& global,
                             grpc::Status (v1::Recommender::Stub::*method)(
                                 grpc::ClientContext*, const Request&, Response*),
                             const Request& request, Response* response) {
  auto stub = v1::Recommender::NewStub(MakeChannel(global));
  grpc::ClientContext context;
  SetDeadline(global, &context);
  if (!global.request_id.empty()) context.AddMetadata("x-request-id", global.request_id);
  return ((*stub).*method)(&context, request, response);
}

// Print "sasrecllm-client COMMAND: ..." on stderr and return the exit code:
// kExitUsage for a flag value only the command can check (UsageError), else
// kExitError (an RPC's code name and message, or an I/O problem).
int UsageError(const std::string& command, const std::string& message);
int RpcError(const std::string& command, const grpc::Status& status);
int IoError(const std::string& command, const std::string& message);

// A response as JSON (proto field names, every field printed).
nlohmann::ordered_json MessageJson(const google::protobuf::Message& message);

// `--json FILE` (command_line::kJsonHelp): FILE receives the command's result
// as one JSON document; "-" means stdout, and then the command's
// human-readable text goes to stderr (TextFile) so that stdout is pure JSON.
// Writes `json` (one line) to `json_target` ("-": stdout); an error names the file.
absl::Status WriteJsonOutput(const std::string& json_target, const nlohmann::ordered_json& json);
// For a command's `--json json_target`: nothing when json_target is empty, else
// WriteJsonOutput; kExitOk, or IoError(command, ...) when the write fails.
int WriteJsonIfAsked(const std::string& command, const std::string& json_target,
                     const nlohmann::ordered_json& json);

// Fills the fields that RecommendRequest and ScoreRequest share.
template <typename Request>
void FillRankingRequest(const std::string& user_id, absl::string_view history,
                        absl::string_view candidates, v1::RankingMode mode, Request* request) {
  request->set_user_id(user_id);
  for (std::string& id : ParseIdList(history)) request->add_history(std::move(id));
  for (std::string& id : ParseIdList(candidates)) request->add_candidates(std::move(id));
  request->set_mode(mode);
}

// Prints the first line of a Recommend or Score answer on `text`:
// "model_version: V  mode: M  unknown_history_items: N".
template <typename Response>
void PrintResponseHeader(std::FILE* text, const Response& response) {
  std::fprintf(text, "model_version: %s  mode: %s  unknown_history_items: %d\n",
               response.model_version().c_str(), ModeName(response.mode()).c_str(),
               response.unknown_history_items());
}

// The width of the item_id column: the longest id, at least 7 ("item_id").
template <typename Items>
size_t ItemIdWidth(const Items& items) {
  size_t width = 7;
  for (const auto& item : items) width = std::max(width, item.item_id().size());
  return width;
}

// The one RPC of `recommend` and `score`: calls `method` (CallRecommender),
// writes the response to --json `json_target` when asked and prints its
// header line (PrintResponseHeader) on the text stream. kExitOk, or the exit
// code of what failed.
template <typename Request, typename Response>
int CallAndReport(const GlobalOptions& global, const std::string& command,
                  grpc::Status (v1::Recommender::Stub::*method)(grpc::ClientContext*,
                                                                const Request&, Response*),
                  const Request& request, Response* response, const std::string& json_target) {
  grpc::Status status = CallRecommender(global, method, request, response);
  if (!status.ok()) return RpcError(command, status);
  if (int rc = WriteJsonIfAsked(command, json_target, MessageJson(*response)); rc != kExitOk) {
    return rc;
  }
  PrintResponseHeader(TextFile(json_target), *response);
  return kExitOk;
}

}  // namespace sasrecllm::client

#endif  // SASRECLLM_CLIENT_UTIL_H_
