// Order statistics of a set of latencies (the client's load generator, the
// offline tool's benchmarks).
//
//   std::vector<double> ms = ...;
//   LatencySummary s = Summarize(ms);  // s.p99_ms
//
// Thread safety: pure functions.
#ifndef SASRECLLM_BASE_LATENCY_H_
#define SASRECLLM_BASE_LATENCY_H_

#include <cstddef>
#include <vector>

namespace sasrecllm {

// In milliseconds. Percentiles use the nearest-rank method (the smallest
// value with at least p of the set at or below it); all fields are 0 for an
// empty set.
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

}  // namespace sasrecllm

#endif  // SASRECLLM_BASE_LATENCY_H_
