// The access log: one JSON line per finished RPC, for log pipelines (Loki,
// Elasticsearch, `jq`). A line:
//
//   {"time":"2026-12-02T01:55:00.123Z","level":"info","log":"access",
//    "method":"Recommend","code":"OK","latency_ms":3.21,"request_id":"3f9c...",
//    "user_id":"u1","model_version":"games-v1","mode":"hybrid","items":10,
//    "stages":{"sasrec":{"queue_ms":0.4,"run_ms":1.1},"llm":{...}},"peer":"ipv4:..."}
//
// Which RPCs are logged depends on the level and the sample rate
// (AccessLogOptions). The request id is the client's `x-request-id` metadata,
// or generated; the server returns it in the trailing metadata `x-request-id`.
//
// Thread safety: Write and ShouldLog are thread-safe (one line is written at a
// time, whole).
#ifndef SASRECLLM_SERVER_ACCESS_LOG_H_
#define SASRECLLM_SERVER_ACCESS_LOG_H_

#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sasrecllm::server {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// "debug" | "info" | "warning" | "error"; INVALID_ARGUMENT otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(const std::string& name);

struct AccessLogOptions {
  // info (and debug): failed RPCs always, OK ones sampled at `sample_rate`;
  // warning: failed RPCs only; error: none. Default: info.
  LogLevel level = LogLevel::kInfo;
  // The share of OK RPCs logged, in [0, 1]. Default: 1 (all).
  double sample_rate = 1.0;
  // Where the lines go (not owned). Default: stdout.
  std::FILE* out = stdout;
};

// One stage a request went through: when it entered the stage's queue, when
// its batch started and ended.
struct StageTiming {
  std::string stage;
  absl::Time queued;
  absl::Time started;
  absl::Time finished;
};

struct AccessRecord {
  absl::Time time;  // when the RPC finished
  std::string method;
  absl::StatusCode code = absl::StatusCode::kOk;
  absl::Duration latency;
  std::string request_id;
  std::string user_id;
  std::string model_version;
  std::string mode;    // "sequential" | "hybrid"; empty before the request was built
  int items = -1;      // items / scores in the reply; -1: not reported
  std::vector<StageTiming> stages;
  std::string peer;
};

class AccessLog {
 public:
  explicit AccessLog(const AccessLogOptions& options) : options_(options) {}

  // Whether an RPC that ends with `code` is logged (OK ones: sampled).
  bool ShouldLog(absl::StatusCode code) const;
  // Writes `record` as one JSON line (whether or not ShouldLog).
  void Write(const AccessRecord& record);

  // 32 random hex digits.
  static std::string NewRequestId();
  // `record` as its JSON line (no newline).
  static std::string Format(const AccessRecord& record);

 private:
  const AccessLogOptions options_;
  std::mutex mu_;  // one line at a time
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_ACCESS_LOG_H_
