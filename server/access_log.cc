#include "server/access_log.h"

#include <cinttypes>
#include <cstdint>
#include <random>

#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace sasrecllm::server {
namespace {

std::mt19937_64& ThreadRng() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng;
}

double Milliseconds(absl::Duration d) {
  // Three decimals: microseconds, enough for a log.
  return static_cast<double>(absl::ToInt64Microseconds(d)) / 1000.0;
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(const std::string& name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warning") return LogLevel::kWarning;
  if (name == "error") return LogLevel::kError;
  return absl::InvalidArgumentError("log level \"" + name +
                                    "\" is not one of debug, info, warning, error");
}

bool AccessLog::ShouldLog(absl::StatusCode code) const {
  if (options_.level == LogLevel::kError) return false;
  if (code != absl::StatusCode::kOk) return true;
  if (options_.level == LogLevel::kWarning || options_.sample_rate <= 0.0) return false;
  if (options_.sample_rate >= 1.0) return true;
  return std::uniform_real_distribution<double>(0.0, 1.0)(ThreadRng()) < options_.sample_rate;
}

std::string AccessLog::NewRequestId() {
  std::mt19937_64& rng = ThreadRng();
  return absl::StrFormat("%016" PRIx64 "%016" PRIx64, rng(), rng());
}

std::string AccessLog::Format(const AccessRecord& r) {
  nlohmann::ordered_json j;
  j["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", r.time, absl::UTCTimeZone());
  j["level"] = r.code == absl::StatusCode::kOk ? "info" : "warning";
  j["log"] = "access";
  j["method"] = r.method;
  j["code"] = absl::StatusCodeToString(r.code);
  j["latency_ms"] = Milliseconds(r.latency);
  j["request_id"] = r.request_id;
  if (!r.user_id.empty()) j["user_id"] = r.user_id;
  j["model_version"] = r.model_version;
  if (!r.mode.empty()) j["mode"] = r.mode;
  if (r.items >= 0) j["items"] = r.items;
  if (!r.stages.empty()) {
    nlohmann::ordered_json stages = nlohmann::ordered_json::object();
    for (const StageTiming& s : r.stages) {
      stages[s.stage] = {{"queue_ms", Milliseconds(s.started - s.queued)},
                         {"run_ms", Milliseconds(s.finished - s.started)}};
    }
    j["stages"] = std::move(stages);
  }
  if (!r.peer.empty()) j["peer"] = r.peer;
  // Ids and user ids come from clients: never let bad UTF-8 break the line.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void AccessLog::Write(const AccessRecord& record) {
  const std::string line = Format(record) + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  std::fwrite(line.data(), 1, line.size(), options_.out);
  std::fflush(options_.out);
}

}  // namespace sasrecllm::server
