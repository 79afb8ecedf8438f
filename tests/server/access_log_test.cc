#include "server/access_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/time/time.h"

namespace sasrecllm::server {
namespace {

using ::testing::HasSubstr;

AccessRecord Sample() {
  AccessRecord r;
  r.time = absl::FromUnixMillis(1764640500123);  // 2025-12-02T01:55:00.123Z
  r.method = "Recommend";
  r.code = absl::StatusCode::kOk;
  r.latency = absl::Microseconds(3210);
  r.request_id = "req-1";
  r.user_id = "u\xff" "1";  // bad UTF-8 from a client must not break the line
  r.model_version = "games-v1";
  r.mode = "hybrid";
  r.items = 10;
  const absl::Time t0 = absl::FromUnixMillis(1764640500000);
  r.stages = {{"sasrec", t0, t0 + absl::Microseconds(400), t0 + absl::Microseconds(1500)},
              {"llm", t0 + absl::Microseconds(1500), t0 + absl::Milliseconds(2),
               t0 + absl::Milliseconds(3)}};
  r.peer = "ipv4:127.0.0.1:5555";
  return r;
}

TEST(AccessLogTest, FormatsOneJsonLineWithEveryField) {
  const std::string line = AccessLog::Format(Sample());
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["time"], "2025-12-02T01:55:00.123Z");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["log"], "access");
  EXPECT_EQ(j["method"], "Recommend");
  EXPECT_EQ(j["code"], "OK");
  EXPECT_DOUBLE_EQ(j["latency_ms"].get<double>(), 3.21);
  EXPECT_EQ(j["request_id"], "req-1");
  EXPECT_EQ(j["model_version"], "games-v1");
  EXPECT_EQ(j["mode"], "hybrid");
  EXPECT_EQ(j["items"], 10);
  EXPECT_DOUBLE_EQ(j["stages"]["sasrec"]["queue_ms"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(j["stages"]["sasrec"]["run_ms"].get<double>(), 1.1);
  EXPECT_DOUBLE_EQ(j["stages"]["llm"]["queue_ms"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["stages"]["llm"]["run_ms"].get<double>(), 1.0);
  EXPECT_EQ(j["peer"], "ipv4:127.0.0.1:5555");
  EXPECT_THAT(j["user_id"].get<std::string>(), HasSubstr("1"));
}

TEST(AccessLogTest, AFailedCallIsAWarningWithoutReplyFields) {
  AccessRecord r = Sample();
  r.code = absl::StatusCode::kInvalidArgument;
  r.items = -1;
  r.stages.clear();
  r.mode.clear();
  const nlohmann::json j = nlohmann::json::parse(AccessLog::Format(r));
  EXPECT_EQ(j["level"], "warning");
  EXPECT_EQ(j["code"], "INVALID_ARGUMENT");
  EXPECT_FALSE(j.contains("items"));
  EXPECT_FALSE(j.contains("stages"));
  EXPECT_FALSE(j.contains("mode"));
}

TEST(AccessLogTest, LevelsAndSampling) {
  AccessLog info({LogLevel::kInfo, 1.0, stdout});
  EXPECT_TRUE(info.ShouldLog(absl::StatusCode::kOk));
  EXPECT_TRUE(info.ShouldLog(absl::StatusCode::kInternal));
  AccessLog none_ok({LogLevel::kInfo, 0.0, stdout});
  EXPECT_FALSE(none_ok.ShouldLog(absl::StatusCode::kOk));
  EXPECT_TRUE(none_ok.ShouldLog(absl::StatusCode::kUnavailable));  // failures always
  AccessLog warning({LogLevel::kWarning, 1.0, stdout});
  EXPECT_FALSE(warning.ShouldLog(absl::StatusCode::kOk));
  EXPECT_TRUE(warning.ShouldLog(absl::StatusCode::kInternal));
  AccessLog error({LogLevel::kError, 1.0, stdout});
  EXPECT_FALSE(error.ShouldLog(absl::StatusCode::kInternal));
  // A quarter of 20,000: the count is 5,000 +- 61 (one standard deviation).
  AccessLog quarter({LogLevel::kInfo, 0.25, stdout});
  int logged = 0;
  for (int i = 0; i < 20000; ++i) logged += quarter.ShouldLog(absl::StatusCode::kOk) ? 1 : 0;
  EXPECT_GT(logged, 4000);
  EXPECT_LT(logged, 6000);
}

TEST(AccessLogTest, WritesWholeLinesAndMakesDistinctIds) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  AccessLog log({LogLevel::kInfo, 1.0, file});
  log.Write(Sample());
  log.Write(Sample());
  std::rewind(file);
  char buffer[4096];
  int lines = 0;
  while (std::fgets(buffer, sizeof(buffer), file) != nullptr) {
    EXPECT_NO_THROW(nlohmann::json::parse(buffer)) << buffer;
    ++lines;
  }
  std::fclose(file);
  EXPECT_EQ(lines, 2);
  const std::string a = AccessLog::NewRequestId(), b = AccessLog::NewRequestId();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

TEST(AccessLogTest, ParsesLevels) {
  EXPECT_EQ(*ParseLogLevel("warning"), LogLevel::kWarning);
  EXPECT_FALSE(ParseLogLevel("loud").ok());
}

}  // namespace
}  // namespace sasrecllm::server
