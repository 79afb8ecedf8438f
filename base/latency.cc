#include "base/latency.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sasrecllm {

LatencySummary Summarize(std::vector<double>& latencies_ms) {
  LatencySummary summary;
  summary.count = latencies_ms.size();
  if (latencies_ms.empty()) return summary;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const size_t n = latencies_ms.size();
  auto percentile = [&](double p) {
    // Nearest rank: the smallest value with at least p of the set at or below it.
    size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(n)));
    rank = std::clamp<size_t>(rank, 1, n);
    return latencies_ms[rank - 1];
  };
  summary.mean_ms = std::accumulate(latencies_ms.begin(), latencies_ms.end(), 0.0) / n;
  summary.p50_ms = percentile(0.50);
  summary.p90_ms = percentile(0.90);
  summary.p99_ms = percentile(0.99);
  summary.max_ms = latencies_ms.back();
  return summary;
}

}  // namespace sasrecllm
