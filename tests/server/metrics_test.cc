#include "server/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sasrecllm::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, ExposesEveryMetricNameFromTheDesign) {
  Metrics metrics({"v-test", "cpu", "float32"});
  const std::string text = metrics.SerializeText();
  for (const char* name :
       {"sasrecllm_requests_total", "sasrecllm_request_duration_seconds_bucket",
        "sasrecllm_queue_duration_seconds_bucket", "sasrecllm_batch_size_bucket",
        "sasrecllm_inference_duration_seconds_bucket", "sasrecllm_queue_depth",
        "sasrecllm_queue_capacity",
        "sasrecllm_inflight_requests", "sasrecllm_llm_tokens_total", "sasrecllm_model_info",
        "process_cpu_seconds_total", "process_resident_memory_bytes",
        "process_start_time_seconds"}) {
    EXPECT_THAT(text, HasSubstr(name)) << name;
  }
  EXPECT_THAT(text, HasSubstr("sasrecllm_batch_size_count{stage=\"sasrec\"} 0"));
  EXPECT_THAT(text, HasSubstr("sasrecllm_batch_size_count{stage=\"llm\"} 0"));
  EXPECT_THAT(text, HasSubstr("sasrecllm_llm_tokens_total{kind=\"prefill\"} 0"));
  EXPECT_THAT(text, HasSubstr("sasrecllm_llm_tokens_total{kind=\"prefix_reused\"} 0"));
  EXPECT_THAT(text, HasSubstr(
                        "sasrecllm_model_info{device=\"cpu\",dtype=\"float32\",version=\"v-test\"} 1"));
}

TEST(MetricsTest, ReloadsAreCountedByResultAndModelInfoFollowsTheNewModel) {
  Metrics metrics({"v1", "cpu", "float32"});
  EXPECT_THAT(metrics.SerializeText(),
              HasSubstr("sasrecllm_model_reloads_total{result=\"ok\"} 0"));
  EXPECT_THAT(metrics.SerializeText(),
              HasSubstr("sasrecllm_model_reloads_total{result=\"failed\"} 0"));
  metrics.RecordReload(false, {"v1", "cpu", "float32"});
  metrics.RecordReload(true, {"v2", "cpu", "float32"});
  metrics.RecordReload(true, {"v2", "cpu", "float32"});  // the same bundle again
  const std::string text = metrics.SerializeText();
  EXPECT_THAT(text, HasSubstr("sasrecllm_model_reloads_total{result=\"failed\"} 1"));
  EXPECT_THAT(text, HasSubstr("sasrecllm_model_reloads_total{result=\"ok\"} 2"));
  EXPECT_THAT(text,
              HasSubstr("sasrecllm_model_info{device=\"cpu\",dtype=\"float32\",version=\"v2\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("version=\"v1\"")));
}

TEST(MetricsTest, CountsRequestsByMethodAndGrpcCodeName) {
  Metrics metrics({"v", "cpu", "float32"});
  metrics.RecordRequest("Recommend", absl::StatusCode::kOk, absl::Milliseconds(3));
  metrics.RecordRequest("Recommend", absl::StatusCode::kInvalidArgument, absl::Milliseconds(1));
  metrics.RecordRequest("Recommend", absl::StatusCode::kInvalidArgument, absl::Milliseconds(1));
  const std::string text = metrics.SerializeText();
  EXPECT_THAT(text, HasSubstr("sasrecllm_requests_total{code=\"OK\",method=\"Recommend\"} 1"));
  EXPECT_THAT(text, HasSubstr(
                        "sasrecllm_requests_total{code=\"INVALID_ARGUMENT\",method=\"Recommend\"} 2"));
  EXPECT_THAT(text, HasSubstr("sasrecllm_request_duration_seconds_count{method=\"Recommend\"} 3"));
}

TEST(MetricsTest, GaugesAndHistogramsMove) {
  Metrics metrics({"v", "cpu", "float32"});
  metrics.SetQueueDepth(kStageLlm, 7);
  metrics.SetQueueCapacity(kStageLlm, 64);
  metrics.IncrementInflight();
  metrics.IncrementInflight();
  metrics.DecrementInflight();
  metrics.ObserveBatchSize(kStageSasrec, 5);
  metrics.ObserveQueueWait(kStageLlm, absl::Microseconds(300));
  metrics.ObserveInference(kStageSasrec, absl::Milliseconds(2));
  metrics.AddLlmTokens("prefill", 12);
  const std::string text = metrics.SerializeText();
  EXPECT_THAT(text, HasSubstr("sasrecllm_queue_depth{stage=\"llm\"} 7"));
  EXPECT_THAT(text, HasSubstr("sasrecllm_queue_capacity{stage=\"llm\"} 64"));
  EXPECT_THAT(text, HasSubstr("sasrecllm_queue_capacity{stage=\"sasrec\"} 0"));
  EXPECT_THAT(text, HasSubstr("sasrecllm_inflight_requests 1"));
  EXPECT_THAT(text, HasSubstr("sasrecllm_batch_size_sum{stage=\"sasrec\"} 5"));
  EXPECT_THAT(text, HasSubstr("sasrecllm_queue_duration_seconds_count{stage=\"llm\"} 1"));
  EXPECT_THAT(text, HasSubstr("sasrecllm_inference_duration_seconds_count{stage=\"sasrec\"} 1"));
  EXPECT_THAT(text, HasSubstr("sasrecllm_llm_tokens_total{kind=\"prefill\"} 12"));
}

TEST(MetricsTest, ProcessCollectorReadsProc) {
  ProcessCollector collector;
  auto families = collector.Collect();
  bool saw_rss = false;
  for (const auto& f : families) {
    if (f.name == "process_resident_memory_bytes") {
      saw_rss = true;
      ASSERT_EQ(f.metric.size(), 1u);
      EXPECT_GT(f.metric[0].gauge.value, 1024 * 1024);
    }
  }
  EXPECT_TRUE(saw_rss);
}

// One HTTP/1.1 GET over a plain socket; returns the whole response.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "connect failed";
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) response.append(buffer, n);
  close(fd);
  return response;
}

TEST(MetricsTest, ServesTheTextFormatOverHttpAtSlashMetrics) {
  Metrics metrics({"v", "cpu", "float32"});
  absl::StatusOr<int> port = metrics.Serve("127.0.0.1:0");
  ASSERT_TRUE(port.ok()) << port.status();
  ASSERT_GT(*port, 0);
  metrics.RecordRequest("Score", absl::StatusCode::kOk, absl::Milliseconds(1));
  const std::string ok = HttpGet(*port, "/metrics");
  EXPECT_THAT(ok, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(ok, HasSubstr("sasrecllm_requests_total{code=\"OK\",method=\"Score\"} 1"));
  EXPECT_THAT(ok, HasSubstr("process_resident_memory_bytes"));
  EXPECT_THAT(HttpGet(*port, "/other"), HasSubstr("404 Not Found"));
}

TEST(MetricsTest, ServeFailsNamingTheAddressWhenThePortIsTaken) {
  Metrics first({"v", "cpu", "float32"});
  absl::StatusOr<int> port = first.Serve("127.0.0.1:0");
  ASSERT_TRUE(port.ok());
  Metrics second({"v", "cpu", "float32"});
  absl::StatusOr<int> again = second.Serve(absl::StrCat("127.0.0.1:", *port));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(again.status().message(), HasSubstr(absl::StrCat("127.0.0.1:", *port)));
}

}  // namespace
}  // namespace sasrecllm::server
