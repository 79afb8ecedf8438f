// sasrecllm build-index: adds a FAISS index over a bundle's item embeddings
// to the bundle (format version 2), with search parameters tuned to a
// target recall against exact retrieval.
// sasrecllm bench-retrieval: stage 1 (SasrecRanker::Rank, as the server
// calls it) exact and through the bundle's index, side by side in one run:
// queries/s, batch latency, recall@k.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "base/json.h"
#include "base/latency.h"
#include "base/process_memory.h"
#include "cli/commands.h"
#include "model/ann/faiss_item_index.h"
#include "model/bundle.h"
#include "model/sasrec_ranker.h"

namespace sasrecllm::cli {
namespace {

using Clock = std::chrono::steady_clock;
using Results = std::vector<std::vector<model::ScoredItem>>;

constexpr char kIndexFile[] = "item_index.faiss";

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// `n` whole-catalog queries with random histories (lengths uniform in
// 1..max_len, items uniform over the catalog), each excluding its history.
std::vector<model::RankQuery> RandomQueries(int64_t n, int64_t item_num, int64_t max_len,
                                            int64_t top_k, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> item(1, item_num);
  std::uniform_int_distribution<int64_t> length(1, std::max<int64_t>(1, max_len));
  std::vector<model::RankQuery> queries(n);
  for (auto& q : queries) {
    q.history.resize(length(rng));
    for (auto& i : q.history) i = item(rng);
    q.exclude = q.history;
    q.top_k = top_k;
  }
  return queries;
}

// Ranks `queries` in batches of `batch_size`; the latency of each batch in ms.
StatusOr<Results> RankAll(model::SasrecRanker& ranker, const std::vector<model::RankQuery>& queries,
                          int64_t batch_size, std::vector<double>* batch_ms) {
  Results all;
  all.reserve(queries.size());
  for (size_t start = 0; start < queries.size(); start += batch_size) {
    const size_t end = std::min(queries.size(), start + static_cast<size_t>(batch_size));
    std::vector<model::RankQuery> batch(queries.begin() + start, queries.begin() + end);
    const Clock::time_point t0 = Clock::now();
    SASRECLLM_ASSIGN_OR_RETURN(Results part, ranker.Rank(batch));
    if (batch_ms != nullptr) batch_ms->push_back(SecondsSince(t0) * 1000.0);
    for (auto& r : part) all.push_back(std::move(r));
  }
  return all;
}

// Mean over queries of |approx ∩ exact| / |exact| (recall@k, k = the exact
// answers' length).
double MeanRecall(const Results& exact, const Results& approx) {
  double sum = 0;
  int64_t counted = 0;
  for (size_t q = 0; q < exact.size(); ++q) {
    if (exact[q].empty()) continue;
    std::unordered_set<int64_t> truth;
    for (const auto& item : exact[q]) truth.insert(item.index);
    int64_t hits = 0;
    for (const auto& item : approx[q]) hits += truth.count(item.index);
    sum += static_cast<double>(hits) / static_cast<double>(exact[q].size());
    ++counted;
  }
  return counted == 0 ? 1.0 : sum / static_cast<double>(counted);
}

StatusOr<std::unique_ptr<model::Bundle>> LoadOnCpu(const std::string& dir) {
  model::BundleLoadOptions options;
  options.dir = dir;
  return model::Bundle::Load(options);
}

// ---------------------------------------------------------------------------
// build-index

struct BuildIndexFlags {
  std::string bundle;
  std::string factory = "auto";
  std::string search_params = "auto";
  double target_recall = 0.95;
  int64_t k = 100;
  int64_t tune_queries = 500;
  int64_t train_size = 0;
  int64_t seed = 42;
  int64_t threads = std::max(1u, std::thread::hardware_concurrency());
  std::string json;
};

int BuildIndex(const BuildIndexFlags& f) {
  torch::set_num_threads(static_cast<int>(f.threads));
  auto bundle = LoadOnCpu(f.bundle);
  if (!bundle.ok()) return Fail(bundle.status());
  const model::BundleManifest& manifest = (*bundle)->manifest();
  const int64_t item_num = manifest.sasrec.item_num;
  std::FILE* text = TextFile(f.json);

  ann::FaissIndexBuildOptions options;
  options.factory = f.factory;
  options.train_size = f.train_size;
  options.seed = static_cast<uint64_t>(f.seed);
  if (Status s = options.Validate(); !s.ok()) return UsageError(s.message());
  std::fprintf(text, "build-index: %lld items of width %lld, index %s\n",
               static_cast<long long>(item_num),
               static_cast<long long>(manifest.sasrec.hidden_units),
               (f.factory == "auto" ? ann::AutoFactory(item_num) + " (auto)" : f.factory).c_str());
  std::fflush(text);
  const ProcessMemory before = ReadProcessMemory();
  const Clock::time_point t0 = Clock::now();
  StatusOr<std::unique_ptr<ann::FaissItemIndex>> built = [&] {
    c10::InferenceMode inference;
    return ann::FaissItemIndex::Build((*bundle)->sasrec()->ItemEmbeddings(), options);
  }();
  if (!built.ok()) return Fail(built.status());
  const double build_s = SecondsSince(t0);
  const double build_peak_mb =
      static_cast<double>(ReadProcessMemory().peak_rss_bytes - before.rss_bytes) / 1e6;
  std::shared_ptr<ann::FaissItemIndex> index = std::move(*built);
  std::fprintf(text, "built in %.1f s (peak RSS +%.0f MB)\n", build_s, build_peak_mb);

  // Tune: the cheapest search setting on the index's ladder whose recall@k
  // against exact retrieval reaches the target, on random-history queries.
  const int64_t k = std::min(f.k, item_num);
  const auto queries =
      RandomQueries(f.tune_queries, item_num, manifest.sasrec.maxlen, k, options.seed + 1);
  model::SasrecRanker exact_ranker((*bundle)->sasrec(), torch::kCPU);
  model::SasrecRanker ann_ranker((*bundle)->sasrec(), torch::kCPU, index);
  auto exact = RankAll(exact_ranker, queries, 32, nullptr);
  if (!exact.ok()) return Fail(exact.status());
  std::vector<std::string> ladder = f.search_params == "auto" ? index->SearchParamLadder()
                                                               : std::vector{f.search_params};
  std::string chosen;
  double chosen_recall = 0;
  Json tried = Json::array();
  std::fprintf(text, "%-16s %12s %12s\n", "search params", "recall@k", "queries/s");
  for (const std::string& params : ladder) {
    if (Status s = index->SetSearchParams(params); !s.ok()) return UsageError(s.message());
    const Clock::time_point q0 = Clock::now();
    auto approx = RankAll(ann_ranker, queries, 32, nullptr);
    if (!approx.ok()) return Fail(approx.status());
    const double qps = static_cast<double>(queries.size()) / SecondsSince(q0);
    const double recall = MeanRecall(*exact, *approx);
    std::fprintf(text, "%-16s %12.4f %12.1f\n", params.empty() ? "(none)" : params.c_str(), recall,
                 qps);
    tried.push_back(Json{{"search_params", params}, {"recall", recall}, {"queries_per_s", qps}});
    chosen = params;
    chosen_recall = recall;
    if (recall >= f.target_recall) break;
  }
  if (chosen_recall < f.target_recall) {
    std::fprintf(text, "warning: no setting reached recall %.3f; keeping %s (%.4f)\n",
                 f.target_recall, chosen.c_str(), chosen_recall);
  }
  if (Status s = index->SetSearchParams(chosen); !s.ok()) return Fail(s);

  model::BundleManifest updated = manifest;
  updated.item_index = Json{{"kind", "faiss"},
                            {"file", kIndexFile},
                            {"factory", index->factory()},
                            {"metric", "inner_product"},
                            {"items", item_num},
                            {"dim", manifest.sasrec.hidden_units},
                            {"search_params", chosen},
                            {"recall_at_k", chosen_recall},
                            {"k", k},
                            {"tune_queries", f.tune_queries},
                            {"build_seconds", build_s}};
  Status written = model::UpdateBundle(f.bundle, updated, [&](const std::string& staging) {
    return index->Save(staging + "/" + kIndexFile);
  });
  if (!written.ok()) return Fail(written);
  std::error_code ec;
  const auto index_bytes =
      std::filesystem::file_size(std::filesystem::path(f.bundle) / kIndexFile, ec);
  std::fprintf(text, "wrote %s/%s (%.1f MB): %s, recall@%lld %.4f\n", f.bundle.c_str(), kIndexFile,
               static_cast<double>(index_bytes) / 1e6, index->Describe().c_str(),
               static_cast<long long>(k), chosen_recall);
  if (!f.json.empty()) {
    Json j = updated.item_index;
    j["index_bytes"] = static_cast<int64_t>(index_bytes);
    j["build_peak_rss_growth_mb"] = build_peak_mb;
    j["tried"] = std::move(tried);
    if (Status s = WriteJsonOutput(f.json, DumpJson(j)); !s.ok()) return Fail(s);
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// bench-retrieval

struct BenchRetrievalFlags {
  std::string bundle;
  std::string search_params = "bundle";
  int64_t queries = 1000;
  std::string batch_sizes = "1,32";
  int64_t k = 100;
  int64_t seed = 7;
  int64_t threads = std::max(1u, std::thread::hardware_concurrency());
  std::string json;
};

struct ModeRow {
  std::string mode;  // "exact" or "ann"
  int64_t batch_size = 0;
  double queries_per_s = 0;
  LatencySummary batch;
  double recall = 1.0;
};

int BenchRetrieval(const BenchRetrievalFlags& f) {
  torch::set_num_threads(static_cast<int>(f.threads));
  auto bundle = LoadOnCpu(f.bundle);
  if (!bundle.ok()) return Fail(bundle.status());
  const model::BundleManifest& manifest = (*bundle)->manifest();
  if (!manifest.item_index.is_object()) {
    return Fail(FailedPreconditionError(f.bundle + ": the bundle has no item index (run "
                                        "`sasrecllm build-index --bundle " + f.bundle + "`)"));
  }
  const ProcessMemory before = ReadProcessMemory();
  const Clock::time_point t0 = Clock::now();
  auto loaded = ann::FaissItemIndex::Load((*bundle)->item_index_path());
  if (!loaded.ok()) return Fail(loaded.status());
  const double load_s = SecondsSince(t0);
  const double index_mb =
      static_cast<double>(ReadProcessMemory().rss_bytes - before.rss_bytes) / 1e6;
  std::shared_ptr<ann::FaissItemIndex> index = std::move(*loaded);
  index->set_factory(manifest.item_index.value("factory", ""));
  const std::string params = f.search_params == "bundle"
                                 ? manifest.item_index.value("search_params", "")
                                 : f.search_params;
  if (Status s = index->SetSearchParams(params); !s.ok()) return UsageError(s.message());

  const int64_t item_num = manifest.sasrec.item_num;
  const int64_t k = std::min(f.k, item_num);
  const auto queries = RandomQueries(f.queries, item_num, manifest.sasrec.maxlen, k,
                                     static_cast<uint64_t>(f.seed));
  model::SasrecRanker exact_ranker((*bundle)->sasrec(), torch::kCPU);
  model::SasrecRanker ann_ranker((*bundle)->sasrec(), torch::kCPU, index);
  std::FILE* text = TextFile(f.json);
  std::fprintf(text,
               "stage-1 retrieval: %lld items, width %lld, %s, %lld threads, %lld queries "
               "(random histories), top %lld excluding the history\n",
               static_cast<long long>(item_num),
               static_cast<long long>(manifest.sasrec.hidden_units), index->Describe().c_str(),
               static_cast<long long>(f.threads), static_cast<long long>(queries.size()),
               static_cast<long long>(k));
  std::fprintf(text, "index loaded in %.2f s, RSS +%.0f MB\n", load_s, index_mb);
  std::fprintf(text, "%-6s %6s %12s %12s %12s %10s %10s\n", "mode", "batch", "queries/s",
               "batch p50 ms", "batch p99 ms", "recall@k", "speed-up");
  std::fflush(text);

  std::vector<ModeRow> rows;
  std::vector<int64_t> batch_sizes;
  for (size_t pos = 0; pos < f.batch_sizes.size();) {
    const size_t comma = f.batch_sizes.find(',', pos);
    const std::string part = f.batch_sizes.substr(pos, comma - pos);
    if (!part.empty()) batch_sizes.push_back(std::stoll(part));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  for (int64_t batch_size : batch_sizes) {
    if (batch_size < 1) return UsageError("--batch-sizes: " + std::to_string(batch_size) + " < 1");
    Results exact_results;
    double exact_qps = 0;
    for (const char* mode : {"exact", "ann"}) {
      model::SasrecRanker& ranker = std::string(mode) == "exact" ? exact_ranker : ann_ranker;
      // Warm-up: one batch (allocator, caches).
      const std::vector<model::RankQuery> warm(
          queries.begin(), queries.begin() + std::min<size_t>(queries.size(), batch_size));
      if (auto w = ranker.Rank(warm); !w.ok()) return Fail(w.status());
      std::vector<double> batch_ms;
      const Clock::time_point start = Clock::now();
      auto results = RankAll(ranker, queries, batch_size, &batch_ms);
      if (!results.ok()) return Fail(results.status());
      ModeRow row;
      row.mode = mode;
      row.batch_size = batch_size;
      row.queries_per_s = static_cast<double>(queries.size()) / SecondsSince(start);
      row.batch = Summarize(batch_ms);
      if (row.mode == "exact") {
        exact_results = std::move(*results);
        exact_qps = row.queries_per_s;
      } else {
        row.recall = MeanRecall(exact_results, *results);
      }
      std::fprintf(text, "%-6s %6lld %12.1f %12.3f %12.3f %10.4f %9.1fx\n", row.mode.c_str(),
                   static_cast<long long>(batch_size), row.queries_per_s, row.batch.p50_ms,
                   row.batch.p99_ms, row.recall, row.queries_per_s / exact_qps);
      std::fflush(text);
      rows.push_back(row);
    }
  }
  if (!f.json.empty()) {
    Json j = {{"items", item_num},
              {"index", index->Describe()},
              {"threads", f.threads},
              {"queries", static_cast<int64_t>(queries.size())},
              {"k", k},
              {"index_load_seconds", load_s},
              {"index_rss_mb", index_mb},
              {"index_build_seconds", manifest.item_index.value("build_seconds", 0.0)}};
    Json json_rows = Json::array();
    for (const ModeRow& r : rows) {
      json_rows.push_back(Json{{"mode", r.mode},
                               {"batch_size", r.batch_size},
                               {"queries_per_s", r.queries_per_s},
                               {"batch_p50_ms", r.batch.p50_ms},
                               {"batch_p99_ms", r.batch.p99_ms},
                               {"recall", r.recall}});
    }
    j["rows"] = std::move(json_rows);
    if (Status s = WriteJsonOutput(f.json, DumpJson(j)); !s.ok()) return Fail(s);
  }
  return kExitOk;
}

}  // namespace

Command AddBuildIndex(CLI::App& app) {
  Subcommand<BuildIndexFlags> sub(
      app, "build-index", "add a FAISS ANN index over the item embeddings to a bundle",
      R"(Builds a FAISS inner-product index over the bundle's SASRec item
embeddings and writes it into the bundle (item_index.faiss, manifest format
version 2; the rest of the bundle is kept as it is, the folder replaced as a
whole). With --search-params auto it tries the index's settings from the
cheapest up (nprobe for IVF, efSearch for HNSW) and keeps the first whose
recall@k against exact retrieval reaches --target-recall on random-history
queries; the server uses it unless --ann-search-params says otherwise.)");
  BuildIndexFlags& f = sub.flags();
  sub->add_option("--bundle", f.bundle, "bundle folder (rewritten with the index)")->required();
  sub->add_option("--factory", f.factory,
                  "faiss::index_factory string, e.g. IVF1024,Flat or HNSW32; auto: Flat below "
                  "20,000 items, else IVF<~sqrt(N)>,Flat");
  sub->add_option("--search-params", f.search_params,
                  "default search parameters, e.g. nprobe=32; auto: tuned to --target-recall");
  sub->add_option("--target-recall", f.target_recall, "recall@k the tuning aims at")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--k", f.k, "k of recall@k")->check(AtLeast(1));
  sub->add_option("--tune-queries", f.tune_queries, "random-history queries for tuning")
      ->check(AtLeast(1));
  sub->add_option("--train-size", f.train_size,
                  "items sampled to train the quantiser (0: 64 per IVF list)")
      ->check(AtLeast(0));
  sub->add_option("--seed", f.seed, "training sample, k-means and tuning queries");
  sub->add_option("--threads", f.threads, "torch and FAISS threads")->check(AtLeast(1));
  sub->add_option("--json", f.json, kJsonHelp)->type_name("FILE");
  return sub.RunWith(BuildIndex);
}

Command AddBenchRetrieval(CLI::App& app) {
  Subcommand<BenchRetrievalFlags> sub(
      app, "bench-retrieval", "stage-1 retrieval exact vs the bundle's ANN index, side by side",
      R"(Runs the same random-history queries through stage 1 (SasrecRanker::Rank,
the server's call: SASRec forward + top-k excluding the history) exactly and
through the bundle's FAISS index, for each batch size, and prints queries/s,
batch latency, recall@k of the index against exact, and the speed-up.)");
  BenchRetrievalFlags& f = sub.flags();
  sub->add_option("--bundle", f.bundle, "bundle folder with an item index")->required();
  sub->add_option("--search-params", f.search_params,
                  "index search parameters, e.g. nprobe=64 (bundle: the bundle's)");
  sub->add_option("--queries", f.queries, "queries per mode and batch size")->check(AtLeast(1));
  sub->add_option("--batch-sizes", f.batch_sizes, "comma-separated batch sizes");
  sub->add_option("--k", f.k, "items per query (recall@k)")->check(AtLeast(1));
  sub->add_option("--seed", f.seed, "random seed for the histories");
  sub->add_option("--threads", f.threads, "torch and FAISS threads")->check(AtLeast(1));
  sub->add_option("--json", f.json, kJsonHelp)->type_name("FILE");
  return sub.RunWith(BenchRetrieval);
}

}  // namespace sasrecllm::cli
