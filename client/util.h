// Small helpers shared by the client's commands and its load generator:
// status-code names, id lists, ranking modes, JSON strings, latency summaries.
// All functions are pure and thread-safe.
#ifndef SASRECLLM_CLIENT_UTIL_H_
#define SASRECLLM_CLIENT_UTIL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"
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

// Order statistics of a set of latencies, in milliseconds. Percentiles use
// the nearest-rank method; all fields are 0 for an empty set.
struct LatencySummary {
  size_t count = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};
// Sorts `latencies_ms` in place.
LatencySummary Summarize(std::vector<double>& latencies_ms);

}  // namespace sasrecllm::client

#endif  // SASRECLLM_CLIENT_UTIL_H_
