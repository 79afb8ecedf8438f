// sasrecllm bench-sasrec: the raw batched throughput of SASRec serving
// inference (SasrecRanker::Rank, the exact call the server's batcher makes),
// without gRPC, for several batch sizes. The serving benchmark prints the
// server's throughput next to this figure to show the server's overhead.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "base/file.h"
#include "base/latency.h"
#include "base/json.h"
#include "model/bundle.h"
#include "model/sasrec_ranker.h"
#include "model/torch_device.h"

namespace sasrecllm::cli {
namespace {

std::vector<int64_t> ParseIntList(const std::string& text) {
  std::vector<int64_t> values;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) values.push_back(std::stoll(part));
  }
  return values;
}

struct BenchRow {
  int64_t batch_size = 0;
  int64_t batches = 0;
  double seconds = 0.0;
  LatencySummary batch_latency;  // of one Rank call (a whole batch)
  double queries_per_s() const { return batches * batch_size / seconds; }
};

struct BenchSasrecFlags {
  std::string bundle;
  std::string device = "cpu";
  std::string dtype = "float32";
  std::string batch_sizes = "1,8,32,128";
  int64_t history_len = 50;
  int64_t top_k = 10;
  double seconds = 3.0;
  int64_t threads = std::max(1u, std::thread::hardware_concurrency());
  int64_t seed = 1;
  std::string json;
};

int BenchSasrec(const BenchSasrecFlags& f) {
  torch::set_num_threads(static_cast<int>(f.threads));
  auto dtype = model::TorchDtype(f.dtype);
  if (!dtype.ok()) return UsageError("--dtype: " + dtype.status().message());
  model::BundleLoadOptions options;
  options.dir = f.bundle;
  auto device = model::TorchDevice(f.device);
  if (!device.ok()) {
    return UsageError("--device: " + device.status().message());
  }
  options.device = *device;
  options.dtype = *dtype;
  auto bundle = model::Bundle::Load(options);
  if (!bundle.ok()) {
    std::cerr << "error: " << bundle.status().ToString() << "\n";
    return kExitError;
  }
  const int64_t item_num = (*bundle)->manifest().sasrec.item_num;
  model::SasrecRanker ranker((*bundle)->sasrec(), options.device);

  std::mt19937_64 rng(static_cast<uint64_t>(f.seed));
  std::uniform_int_distribution<int64_t> item(1, item_num);
  auto make_queries = [&](int64_t batch_size) {
    std::vector<model::RankQuery> queries(batch_size);
    for (auto& q : queries) {
      q.history.resize(f.history_len);
      for (auto& i : q.history) i = item(rng);
      q.exclude = q.history;
      q.top_k = f.top_k;
    }
    return queries;
  };

  using Clock = std::chrono::steady_clock;
  std::vector<BenchRow> rows;
  for (int64_t batch_size : ParseIntList(f.batch_sizes)) {
    if (batch_size < 1) {
      return UsageError("--batch-sizes: batch size " + std::to_string(batch_size) + " < 1");
    }
    auto queries = make_queries(batch_size);
    // Warm-up: allocator, kernels, caches.
    for (auto end = Clock::now() + std::chrono::seconds(1); Clock::now() < end;) {
      auto r = ranker.Rank(queries);
      if (!r.ok()) {
        std::cerr << "error: " << r.status().ToString() << "\n";
        return kExitError;
      }
    }
    BenchRow row;
    row.batch_size = batch_size;
    std::vector<double> latencies_ms;
    const auto start = Clock::now();
    const auto end = start + std::chrono::duration<double>(f.seconds);
    while (Clock::now() < end) {
      const auto t0 = Clock::now();
      auto r = ranker.Rank(queries);  // results come back on the CPU: synchronous
      latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      ++row.batches;
    }
    row.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    row.batch_latency = Summarize(latencies_ms);
    rows.push_back(row);
  }

  if (!f.json.empty()) {
    Json j = Json::object();
    j["device"] = Json(f.device);
    j["dtype"] = Json(f.dtype);
    j["threads"] = Json(f.threads);
    j["catalog"] = Json(item_num);
    j["history_len"] = Json(f.history_len);
    Json json_rows = Json::array();
    for (const BenchRow& r : rows) {
      Json row = Json::object();
      row["batch_size"] = Json(r.batch_size);
      row["queries_per_s"] = Json(r.queries_per_s());
      row["batch_p50_ms"] = Json(r.batch_latency.p50_ms);
      row["batch_p99_ms"] = Json(r.batch_latency.p99_ms);
      json_rows.push_back(std::move(row));
    }
    j["rows"] = std::move(json_rows);
    if (Status s = WriteJsonOutput(f.json, DumpJson(j)); !s.ok()) return Fail(s);
  }
  std::FILE* text = TextFile(f.json);
  std::fprintf(text, "SASRec raw ranking throughput: device %s, dtype %s, %lld threads, catalog %lld, "
              "history %lld, top %lld\n",
              f.device.c_str(), f.dtype.c_str(),
              static_cast<long long>(f.threads), static_cast<long long>(item_num),
              static_cast<long long>(f.history_len),
              static_cast<long long>(f.top_k));
  std::fprintf(text, "%10s %14s %14s %14s\n", "batch", "queries/s", "batch p50 ms", "batch p99 ms");
  for (const auto& r : rows) {
    std::fprintf(text, "%10lld %14.1f %14.3f %14.3f\n", static_cast<long long>(r.batch_size),
                r.queries_per_s(), r.batch_latency.p50_ms, r.batch_latency.p99_ms);
  }
  return kExitOk;
}

}  // namespace

Command AddBenchSasrec(CLI::App& app) {
  Subcommand<BenchSasrecFlags> sub(
      app, "bench-sasrec", "raw batched SASRec ranking throughput of a bundle (no gRPC)",
      R"(Measures raw batched SASRec ranking throughput (no gRPC): for each batch
size, random histories of --history-len items, top --top-k over the whole
catalog, repeated for --seconds after one second of warm-up.)");
  BenchSasrecFlags& f = sub.flags();
  sub->add_option("--bundle", f.bundle, "bundle folder (sasrecllm export)")->required();
  sub->add_option("--device", f.device, "cpu, cuda or cuda:N")->check(DeviceNameCheck());
  sub->add_option("--dtype", f.dtype, "float32, bfloat16 or float16");
  sub->add_option("--batch-sizes", f.batch_sizes, "comma-separated batch sizes");
  sub->add_option("--history-len", f.history_len, "items per history")->check(AtLeast(0));
  sub->add_option("--top-k", f.top_k, "items returned per query");
  sub->add_option("--seconds", f.seconds, "measured seconds per batch size");
  sub->add_option("--threads", f.threads, "torch intra-op threads")->check(AtLeast(1));
  sub->add_option("--seed", f.seed, "random seed for the histories");
  sub->add_option("--json", f.json, kJsonHelp)->type_name("FILE");
  return sub.RunWith(BenchSasrec);
}

}  // namespace sasrecllm::cli
