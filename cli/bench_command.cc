// sasrecllm bench-sasrec: the raw batched throughput of SASRec serving
// inference (SasrecRanker::Rank, the exact call the server's batcher makes),
// without gRPC, for several batch sizes. The serving benchmark prints the
// server's throughput next to this figure to show the server's overhead.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
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
  double p50_ms = 0.0;
  double p99_ms = 0.0;
  double queries_per_s() const { return batches * batch_size / seconds; }
};

}  // namespace

int RunBenchSasrec(int argc, char** argv, int first) {
  FlagSet flags("sasrecllm bench-sasrec --bundle DIR [options]",
                "Measures raw batched SASRec ranking throughput (no gRPC): for each batch\n"
                "size, random histories of --history-len items, top --top-k over the whole\n"
                "catalog, repeated for --seconds after one second of warm-up.");
  flags.AddString("bundle", "", "bundle folder (sasrecllm export)", /*required=*/true);
  flags.AddString("device", "cpu", "cpu, cuda or cuda:N");
  flags.AddString("dtype", "float32", "float32, bfloat16 or float16");
  flags.AddString("batch-sizes", "1,8,32,128", "comma-separated batch sizes");
  flags.AddInt("history-len", 50, "items per history");
  flags.AddInt("top-k", 10, "items returned per query");
  flags.AddDouble("seconds", 3.0, "measured seconds per batch size");
  flags.AddInt("threads", std::max(1u, std::thread::hardware_concurrency()),
               "torch intra-op threads");
  flags.AddInt("seed", 1, "random seed for the histories");
  flags.AddBool("json", "print one JSON object instead of a table");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, first, &exit_code)) return exit_code;

  torch::set_num_threads(static_cast<int>(flags.GetInt("threads")));
  auto dtype = model::TorchDtype(flags.GetString("dtype"));
  if (!dtype.ok()) {
    std::cerr << "error: --dtype: " << dtype.status().message() << "\n";
    return kExitUsage;
  }
  model::BundleLoadOptions options;
  options.dir = flags.GetString("bundle");
  auto device = model::TorchDevice(flags.GetString("device"));
  if (!device.ok()) {
    std::cerr << "error: --device: " << device.status().message() << "\n";
    return kExitUsage;
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

  std::mt19937_64 rng(static_cast<uint64_t>(flags.GetInt("seed")));
  std::uniform_int_distribution<int64_t> item(1, item_num);
  auto make_queries = [&](int64_t batch_size) {
    std::vector<model::RankQuery> queries(batch_size);
    for (auto& q : queries) {
      q.history.resize(flags.GetInt("history-len"));
      for (auto& i : q.history) i = item(rng);
      q.exclude = q.history;
      q.top_k = flags.GetInt("top-k");
    }
    return queries;
  };

  using Clock = std::chrono::steady_clock;
  std::vector<BenchRow> rows;
  for (int64_t batch_size : ParseIntList(flags.GetString("batch-sizes"))) {
    if (batch_size < 1) {
      std::cerr << "error: --batch-sizes: batch size " << batch_size << " < 1\n";
      return kExitUsage;
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
    const auto end = start + std::chrono::duration<double>(flags.GetDouble("seconds"));
    while (Clock::now() < end) {
      const auto t0 = Clock::now();
      auto r = ranker.Rank(queries);  // results come back on the CPU: synchronous
      latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      ++row.batches;
    }
    row.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::sort(latencies_ms.begin(), latencies_ms.end());
    row.p50_ms = latencies_ms[latencies_ms.size() / 2];
    row.p99_ms = latencies_ms[std::min(latencies_ms.size() - 1, latencies_ms.size() * 99 / 100)];
    rows.push_back(row);
  }

  if (flags.GetBool("json")) {
    std::cout << "{\"device\":\"" << flags.GetString("device") << "\",\"dtype\":\""
              << flags.GetString("dtype") << "\",\"threads\":" << flags.GetInt("threads")
              << ",\"catalog\":" << item_num << ",\"history_len\":" << flags.GetInt("history-len")
              << ",\"rows\":[";
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      std::printf("%s{\"batch_size\":%lld,\"queries_per_s\":%.1f,\"batch_p50_ms\":%.3f,"
                  "\"batch_p99_ms\":%.3f}",
                  i ? "," : "", static_cast<long long>(r.batch_size), r.queries_per_s(), r.p50_ms,
                  r.p99_ms);
      std::fflush(stdout);
    }
    std::cout << "]}\n";
    return kExitOk;
  }
  std::printf("SASRec raw ranking throughput: device %s, dtype %s, %lld threads, catalog %lld, "
              "history %lld, top %lld\n",
              flags.GetString("device").c_str(), flags.GetString("dtype").c_str(),
              static_cast<long long>(flags.GetInt("threads")), static_cast<long long>(item_num),
              static_cast<long long>(flags.GetInt("history-len")),
              static_cast<long long>(flags.GetInt("top-k")));
  std::printf("%10s %14s %14s %14s\n", "batch", "queries/s", "batch p50 ms", "batch p99 ms");
  for (const auto& r : rows) {
    std::printf("%10lld %14.1f %14.3f %14.3f\n", static_cast<long long>(r.batch_size),
                r.queries_per_s(), r.p50_ms, r.p99_ms);
  }
  return kExitOk;
}

}  // namespace sasrecllm::cli
