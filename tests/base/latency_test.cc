#include "base/latency.h"

#include <gtest/gtest.h>

#include <vector>

namespace sasrecllm {
namespace {

TEST(LatencyTest, SummarizesWithNearestRankPercentiles) {
  std::vector<double> latencies;
  for (int i = 100; i >= 1; --i) latencies.push_back(i);
  LatencySummary s = Summarize(latencies);
  EXPECT_EQ(s.count, 100u);
  EXPECT_DOUBLE_EQ(s.p50_ms, 50);
  EXPECT_DOUBLE_EQ(s.p90_ms, 90);
  EXPECT_DOUBLE_EQ(s.p99_ms, 99);
  EXPECT_DOUBLE_EQ(s.max_ms, 100);
  EXPECT_DOUBLE_EQ(s.mean_ms, 50.5);
  std::vector<double> empty;
  EXPECT_EQ(Summarize(empty).count, 0u);
}

}  // namespace
}  // namespace sasrecllm
