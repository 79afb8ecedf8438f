// The load generator behind `sasrecllm-client bench`.
//
// One dispatcher thread issues RPCs with gRPC's callback API; completions only
// record their latency and free their slot, so the client costs one wake-up
// per request and no thread per stream. Two load models:
//   - closed loop (`rate == 0`): `concurrency` requests always in flight, a new
//     one is sent as soon as one finishes;
//   - open loop (`rate > 0`): requests are sent on a fixed schedule, `rate` per
//     second, however the server keeps up. Latency is measured from the
//     scheduled send time, so a client that falls behind is not hidden
//     (no coordinated omission).
// Requests completing in the first `warmup_s` are not counted; the run then
// measures for `duration_s` and waits for the requests still in flight.
//
//   RequestPool pool = MakeRequestPool(shape, items, /*seed=*/1, 1024);
//   absl::StatusOr<LoadResult> r = RunLoad(stub.get(), pool, options);
//
// RunLoad blocks; it is safe to call from any thread (one run at a time per
// stub is not required: runs share nothing).
#ifndef SASRECLLM_CLIENT_LOAD_GENERATOR_H_
#define SASRECLLM_CLIENT_LOAD_GENERATOR_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/util.h"
#include "proto/sasrecllm.grpc.pb.h"

namespace sasrecllm::client {

enum class BenchMethod { kRecommend, kScore };

// What each generated request looks like.
struct RequestShape {
  BenchMethod method = BenchMethod::kRecommend;
  // History ids per request. Default: 50.
  int history_len = 50;
  // Recommend's top_k. Default: 10.
  int top_k = 10;
  // Candidates per request: Recommend ranks only these when > 0; Score needs
  // at least 1. Default: 0.
  int num_candidates = 0;
  // Default: AUTO.
  v1::RankingMode mode = v1::RANKING_MODE_AUTO;
  // > 0: every N-th request of the pool carries an empty history id, which a
  // server must refuse with INVALID_ARGUMENT (a soak's invalid calls).
  // Default: 0 (none).
  int invalid_every = 0;

  absl::Status Validate() const;
};

// Pre-built requests, cycled through by the generator (building them during
// the run would cost client CPU that the server shares).
struct RequestPool {
  BenchMethod method = BenchMethod::kRecommend;
  std::vector<v1::RecommendRequest> recommend;
  std::vector<v1::ScoreRequest> score;
  // invalid[i]: request i is one of RequestShape::invalid_every's.
  std::vector<bool> invalid;
};

// `size` requests of `shape` whose ids are drawn uniformly from `items`
// (with replacement) by a generator seeded with `seed`. Same inputs, same pool.
RequestPool MakeRequestPool(const RequestShape& shape, const std::vector<std::string>& items,
                            uint64_t seed, size_t size);

struct LoadOptions {
  // Requests in flight in closed loop. Default: 1.
  int concurrency = 1;
  // Requests per second; > 0 selects the open loop. Default: 0.
  double rate = 0;
  // Measured time, after warm-up. Default: 10.
  double duration_s = 10;
  // Time whose completions are not counted. Default: 2.
  double warmup_s = 2;
  // Deadline of each request. Default: 10 s.
  absl::Duration timeout = absl::Seconds(10);
  // Open loop only: sends that would exceed this many requests in flight are
  // skipped and counted as dropped. Default: 10000.
  int max_outstanding = 10000;

  absl::Status Validate() const;
};

struct LoadResult {
  // Requests that completed inside the measured window, by status code name
  // ("OK", "RESOURCE_EXHAUSTED", ...).
  std::map<std::string, int64_t> codes;
  int64_t ok = 0;
  int64_t errors = 0;
  // Invalid requests answered INVALID_ARGUMENT, as they should be (also in
  // `errors` and `codes`).
  int64_t expected_errors = 0;
  // By code: replies other than the request called for (a valid request not
  // answered OK, an invalid one not answered INVALID_ARGUMENT).
  std::map<std::string, int64_t> unexpected;
  // OK replies by the model_version that answered them (a rollout or a hot
  // reload shows as two).
  std::map<std::string, int64_t> model_versions;
  // Open loop: sends skipped because max_outstanding requests were in flight.
  int64_t dropped = 0;
  // Latency of the OK requests.
  LatencySummary latency;
  // Latency of the failed ones: a server that sheds load answers them at once;
  // timeouts piling up show as failures at the deadline.
  LatencySummary error_latency;
  // OK requests per second of the measured window.
  double throughput_rps = 0;
  // Open loop: requests actually sent per second of the measured window, and
  // how late each send was against its schedule. A lag that grows means the
  // client, not the server, set the pace (the figures then measure it too).
  double sent_rps = 0;
  LatencySummary send_lag;
  double measured_s = 0;
};

// Runs the load against `stub` (not owned). Returns InvalidArgument for bad
// options or an empty pool; RPC failures are counted, never returned.
absl::StatusOr<LoadResult> RunLoad(v1::Recommender::Stub* stub, const RequestPool& pool,
                                   const LoadOptions& options);
// The same over several stubs (their own connections: MakeChannel's
// `connection`), the calls sent to them in turn.
absl::StatusOr<LoadResult> RunLoad(const std::vector<v1::Recommender::Stub*>& stubs,
                                   const RequestPool& pool, const LoadOptions& options);

}  // namespace sasrecllm::client

#endif  // SASRECLLM_CLIENT_LOAD_GENERATOR_H_
