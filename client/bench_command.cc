// `sasrecllm-client bench`: the load generator. Closed loop (--concurrency)
// or open loop (--rate); prints throughput, latency percentiles and errors by
// status code.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/commands.h"
#include "client/load_generator.h"
#include "client/util.h"
#include "grpcpp/grpcpp.h"
#include "proto/sasrecllm.grpc.pb.h"

namespace sasrecllm::client {
namespace {

absl::StatusOr<std::vector<std::string>> ReadItemIds(const std::string& path, int64_t column) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read --item-ids ", path));
  std::vector<std::string> ids;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> columns = absl::StrSplit(line, '\t');
    if (static_cast<int64_t>(columns.size()) < column) continue;
    std::string id(absl::StripAsciiWhitespace(columns[column - 1]));
    if (!id.empty()) ids.push_back(std::move(id));
  }
  if (ids.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--item-ids ", path, ": no ids in column ", column));
  }
  return ids;
}

// An open-loop send later than this (p99) means the client could not keep
// its schedule.
constexpr double kSendLagWarningMs = 10;

// `value` rounded to 3 decimals (the figures' resolution: ms, req/s).
double Round3(double value) { return std::round(value * 1000) / 1000; }

nlohmann::ordered_json BenchJson(const std::string& method, const LoadOptions& load,
                                 const RequestShape& shape, const LoadResult& r) {
  nlohmann::ordered_json codes = nlohmann::ordered_json::object();
  for (const auto& [name, count] : r.codes) {
    if (name != "OK") codes[name] = count;
  }
  const LatencySummary& l = r.latency;
  nlohmann::ordered_json j;
  j["method"] = method;
  j["load"] = load.rate > 0 ? "open" : "closed";
  j["concurrency"] = load.rate > 0 ? 0 : load.concurrency;
  j["rate"] = load.rate;
  j["duration_s"] = load.duration_s;
  j["warmup_s"] = load.warmup_s;
  j["history_len"] = shape.history_len;
  j["top_k"] = shape.top_k;
  j["num_candidates"] = shape.num_candidates;
  j["requests"] = r.ok + r.errors;
  j["ok"] = r.ok;
  j["errors"] = r.errors;
  j["dropped"] = r.dropped;
  j["errors_by_code"] = std::move(codes);
  j["invalid_every"] = shape.invalid_every;
  j["expected_errors"] = r.expected_errors;
  j["unexpected_errors_by_code"] = r.unexpected;
  j["model_versions"] = r.model_versions;
  j["throughput_rps"] = Round3(r.throughput_rps);
  if (load.rate > 0) {
    j["sent_rps"] = Round3(r.sent_rps);
    j["send_lag_ms"] = {{"p50", Round3(r.send_lag.p50_ms)}, {"p99", Round3(r.send_lag.p99_ms)},
                        {"max", Round3(r.send_lag.max_ms)}};
  }
  const LatencySummary& e = r.error_latency;
  j["error_latency_ms"] = {{"p50", Round3(e.p50_ms)}, {"p99", Round3(e.p99_ms)},
                           {"max", Round3(e.max_ms)}};
  j["latency_ms"] = {{"mean", Round3(l.mean_ms)}, {"p50", Round3(l.p50_ms)},
                     {"p90", Round3(l.p90_ms)},   {"p99", Round3(l.p99_ms)},
                     {"max", Round3(l.max_ms)}};
  return j;
}

void PrintBenchText(std::FILE* text, const std::string& method, const LoadOptions& load, const RequestShape& shape,
                    const LoadResult& r) {
  std::fprintf(text, "method=%s load=%s %s duration_s=%g warmup_s=%g history_len=%d top_k=%d "
              "num_candidates=%d\n",
              method.c_str(), load.rate > 0 ? "open" : "closed",
              load.rate > 0 ? absl::StrFormat("rate=%g", load.rate).c_str()
                            : absl::StrFormat("concurrency=%d", load.concurrency).c_str(),
              load.duration_s, load.warmup_s, shape.history_len, shape.top_k,
              shape.num_candidates);
  std::fprintf(text, "requests:   %lld (ok %lld, errors %lld", static_cast<long long>(r.ok + r.errors),
              static_cast<long long>(r.ok), static_cast<long long>(r.errors));
  if (r.dropped > 0) std::fprintf(text, ", dropped by client %lld", static_cast<long long>(r.dropped));
  std::fprintf(text, ")\n");
  std::fprintf(text, "throughput: %.1f req/s\n", r.throughput_rps);
  if (load.rate > 0) {
    std::fprintf(text, "sent:       %.1f req/s (send lag p50 %.2f  p99 %.2f  max %.2f ms)\n",
                 r.sent_rps, r.send_lag.p50_ms, r.send_lag.p99_ms, r.send_lag.max_ms);
    if (r.send_lag.p99_ms > kSendLagWarningMs) {
      std::fprintf(text, "warning:    the client fell behind its schedule (send lag p99 %.0f ms): "
                         "it set the pace, and the latencies include its lag\n",
                   r.send_lag.p99_ms);
    }
  }
  const LatencySummary& l = r.latency;
  std::fprintf(text, "latency ms: mean %.2f  p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", l.mean_ms,
              l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms);
  if (shape.invalid_every > 0 || !r.unexpected.empty()) {
    std::fprintf(text, "expected:   %lld INVALID_ARGUMENT for the invalid requests; unexpected:",
                 static_cast<long long>(r.expected_errors));
    if (r.unexpected.empty()) std::fprintf(text, " none");
    for (const auto& [name, count] : r.unexpected) {
      std::fprintf(text, " %s=%lld", name.c_str(), static_cast<long long>(count));
    }
    std::fprintf(text, "\n");
  }
  if (r.model_versions.size() > 1) {  // one is the usual case: say nothing
    std::fprintf(text, "versions:  ");
    for (const auto& [version, count] : r.model_versions) {
      std::fprintf(text, " %s=%lld", version.c_str(), static_cast<long long>(count));
    }
    std::fprintf(text, "\n");
  }
  if (r.errors > 0) {
    std::fprintf(text, "errors:    ");
    for (const auto& [name, count] : r.codes) {
      if (name != "OK") std::fprintf(text, " %s=%lld", name.c_str(), static_cast<long long>(count));
    }
    std::fprintf(text, "  (answered in p50 %.2f  p99 %.2f ms)\n", r.error_latency.p50_ms,
                 r.error_latency.p99_ms);
  }
}

struct BenchFlags {
  LoadOptions load;    // the load's flags bind to its fields (timeout: --timeout-ms)
  RequestShape shape;  // the requests' (method and mode: below)
  std::string method = "recommend";
  std::string mode = "auto";
  std::string item_ids;
  int64_t item_ids_column = 1;
  int64_t max_item = 0;
  int64_t seed = 1;
  int64_t pool_size = 1024;
  std::string json;
  bool fail_on_error = false;
  int connections = 1;
};

int Bench(const GlobalOptions& global, const BenchFlags& f) {
  const std::string command = "bench";
  RequestShape shape = f.shape;
  if (f.method == "recommend") {
    shape.method = BenchMethod::kRecommend;
  } else if (f.method == "score") {
    shape.method = BenchMethod::kScore;
    if (shape.num_candidates == 0) shape.num_candidates = 20;  // Score's default
  } else {
    return UsageError(command, absl::StrCat("--method=", f.method, ": expected recommend or score"));
  }
  absl::StatusOr<v1::RankingMode> mode = ParseMode(f.mode);
  if (!mode.ok()) return UsageError(command, std::string(mode.status().message()));
  shape.mode = *mode;
  LoadOptions load = f.load;
  load.timeout = absl::Milliseconds(global.timeout_ms);
  if (absl::Status s = shape.Validate(); !s.ok()) return UsageError(command, std::string(s.message()));
  if (absl::Status s = load.Validate(); !s.ok()) return UsageError(command, std::string(s.message()));

  // One stub per connection (--connections): a server takes at most
  // --max-concurrent-streams calls per connection, and the rest would wait in
  // this client, not reach the server's admission.
  std::vector<std::unique_ptr<v1::Recommender::Stub>> stubs(static_cast<size_t>(f.connections));
  for (int c = 0; c < f.connections; ++c) {
    if (grpc::Status s = ConnectRecommender(global, &stubs[c], f.connections > 1 ? c + 1 : 0);
        !s.ok()) {
      return RpcError(command, s);
    }
  }
  v1::Recommender::Stub* stub = stubs[0].get();

  std::vector<std::string> items;
  if (!f.item_ids.empty()) {
    absl::StatusOr<std::vector<std::string>> read = ReadItemIds(f.item_ids, f.item_ids_column);
    if (!read.ok()) return IoError(command, std::string(read.status().message()));
    items = *std::move(read);
  } else {
    int64_t n = f.max_item;
    if (n == 0) {
      grpc::ClientContext context;
      SetDeadline(global, &context);
      v1::GetModelInfoResponse info;
      grpc::Status status = stub->GetModelInfo(&context, v1::GetModelInfoRequest(), &info);
      if (!status.ok()) return RpcError(command, status);
      n = info.catalog_size();
      if (n < 1) return IoError(command, "GetModelInfo reports an empty catalog; pass --max-item");
    }
    items.reserve(n);
    for (int64_t i = 1; i <= n; ++i) items.push_back(absl::StrCat(i));
  }

  RequestPool pool = MakeRequestPool(shape, items, static_cast<uint64_t>(f.seed),
                                     static_cast<size_t>(f.pool_size));
  std::vector<v1::Recommender::Stub*> stub_ptrs;
  for (const auto& s : stubs) stub_ptrs.push_back(s.get());
  absl::StatusOr<LoadResult> result = RunLoad(stub_ptrs, pool, load);
  if (!result.ok()) return IoError(command, std::string(result.status().message()));
  nlohmann::ordered_json json = BenchJson(f.method, load, shape, *result);
  json["connections"] = f.connections;
  if (int rc = WriteJsonIfAsked(command, f.json, json); rc != kExitOk) {
    return rc;
  }
  PrintBenchText(TextFile(f.json), f.method, load, shape, *result);
  return f.fail_on_error && result->errors > 0 ? kExitError : kExitOk;
}

}  // namespace

Command AddBench(CLI::App& app, Global global) {
  Subcommand<BenchFlags> sub(
      app, "bench", "load generator: closed loop (--concurrency) or open loop (--rate)",
      R"(Load generator. Closed loop: N requests always in flight. Open loop (--rate > 0):
R requests per second on a fixed schedule, latency measured from the scheduled
send time. Items are drawn uniformly (seeded) from --item-ids (one id per line,
column --item-ids-column of a TSV), else from 1..--max-item, else from
1..catalog_size reported by GetModelInfo. Prints throughput, latency
(mean/p50/p90/p99/max of OK requests, ms) and requests by status code. Exit 0
when the run completed, even with RPC errors (they are reported);
--fail-on-error makes any error exit 1.)");
  BenchFlags& f = sub.flags();
  const auto in_range = CLI::Range(0, 1000000);
  CLI::Option* concurrency =
      sub->add_option("--concurrency", f.load.concurrency, "Closed loop: requests in flight.")
          ->check(in_range);
  sub->add_option("--rate", f.load.rate, "Open loop: requests per second (0: closed loop).")
      ->check(AtLeast(0))
      ->excludes(concurrency);
  sub->add_option("--duration-s", f.load.duration_s, "Measured seconds, after warm-up.");
  sub->add_option("--warmup-s", f.load.warmup_s, "Seconds of load not counted.");
  sub->add_option("--method", f.method, "recommend or score.")
      ->check(CLI::IsMember({"recommend", "score"}));
  sub->add_option("--mode", f.mode, "auto, sequential or hybrid.");
  sub->add_option("--history-len", f.shape.history_len, "History ids per request.")
      ->check(in_range);
  sub->add_option("--top-k", f.shape.top_k, "Recommend's top_k.")->check(in_range);
  sub->add_option("--num-candidates", f.shape.num_candidates,
                  "Candidates per request (Recommend: 0 = whole catalog; Score: 0 means 20).")
      ->check(in_range);
  sub->add_option("--item-ids", f.item_ids, "File of item ids to draw from.");
  sub->add_option("--item-ids-column", f.item_ids_column, "1-based TSV column of --item-ids.")
      ->check(AtLeast(1));
  sub->add_option("--max-item", f.max_item,
                  "Draw ids from 1..N (0: use --item-ids or the catalog).")
      ->check(AtLeast(0));
  sub->add_option("--seed", f.seed, "Seed of the request generator.");
  sub->add_option("--invalid-every", f.shape.invalid_every,
                  "Every N-th request carries an empty history id, to be refused "
                  "INVALID_ARGUMENT (0: none); other replies to it count as unexpected.")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--connections", f.connections,
                  "HTTP/2 connections to send over, in turn. A server takes at most its "
                  "--max-concurrent-streams calls per connection; more wait in this client.")
      ->check(CLI::Range(1, 1024));
  sub->add_option("--pool-size", f.pool_size, "Distinct requests generated, then cycled.")
      ->check(AtLeast(1));
  sub->add_option("--max-outstanding", f.load.max_outstanding,
                  "Open loop: most requests in flight.")
      ->check(in_range);
  sub->add_option("--json", f.json, kJsonHelp)->type_name("FILE");
  sub->add_flag("--fail-on-error", f.fail_on_error, "Exit 1 when any request failed.");
  return sub.RunWith([global](const BenchFlags& flags) { return Bench(*global, flags); });
}

}  // namespace sasrecllm::client
