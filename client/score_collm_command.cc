// `sasrecllm-client score-collm`: AUC / UAUC of a CoLLM split scored through
// the server (one Score RPC per row).
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/auc.h"
#include "client/collm_scorer.h"
#include "client/commands.h"
#include "client/util.h"
#include "grpcpp/grpcpp.h"
#include "proto/sasrecllm.grpc.pb.h"

namespace sasrecllm::client {
namespace {

// DIR/SPLIT.tsv, or `data` itself when it is a file.
std::string CollmSplitPath(const std::string& data, const std::string& split) {
  std::ifstream probe(data + "/" + split + ".tsv");
  if (probe) return data + "/" + split + ".tsv";
  std::ifstream file(data);
  if (file && file.peek() != std::ifstream::traits_type::eof()) return data;  // not a folder
  return data + "/" + split + ".tsv";  // the reader names it in its error
}

std::string FormatDuration(double s) {
  if (!(s >= 0) || s > 1e7) return "?";
  const int64_t t = static_cast<int64_t>(s + 0.5);
  if (t < 60) return absl::StrCat(t, " s");
  if (t < 3600) return absl::StrFormat("%dm%02ds", t / 60, t % 60);
  return absl::StrFormat("%dh%02dm", t / 3600, t / 60 % 60);
}

std::string ScoreText(const RowScore& s, bool logit) {
  if (!s.known) return "nan";
  return absl::StrFormat("%.9g", logit ? s.logit : s.probability);  // float round trip
}

absl::Status WriteScores(const std::string& path, const std::vector<CollmRow>& rows,
                         const std::vector<RowScore>& scores) {
  std::ofstream out(path);
  if (!out) return absl::NotFoundError(absl::StrCat("cannot write --scores ", path));
  out << "user_id\titem_id\tlabel\twarm\tlogit\tprobability\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    out << rows[i].user_id << '\t' << rows[i].item_id << '\t' << rows[i].label << '\t'
        << (rows[i].warm ? 1 : 0) << '\t' << ScoreText(scores[i], true) << '\t'
        << ScoreText(scores[i], false) << '\n';
  }
  out.close();
  if (!out) return absl::DataLossError(absl::StrCat("cannot write --scores ", path));
  return absl::OkStatus();
}

// The offline tool's keys: {"auc", "uauc", "rows", "uauc_users"} for all,
// warm and cold rows (a non-finite AUC is null).
nlohmann::ordered_json MetricsJson(const PointwiseMetrics& m) {
  nlohmann::ordered_json j;
  j["auc"] = m.auc;
  j["uauc"] = m.uauc;
  j["rows"] = m.rows;
  j["uauc_users"] = m.uauc_users;
  return j;
}

nlohmann::ordered_json ReportJson(const PointwiseReport& report) {
  nlohmann::ordered_json j;
  j["all"] = MetricsJson(report.all);
  j["warm"] = MetricsJson(report.warm);
  j["cold"] = MetricsJson(report.cold);
  return j;
}

struct ScoreCollmFlags {
  std::string data;
  std::string split = "test";
  std::string mode = "auto";
  int64_t concurrency = 16;
  int64_t limit = 0;
  std::string scores;
  std::string json;
  double progress_s = 2;
};

int ScoreCollm(const GlobalOptions& global, const ScoreCollmFlags& f) {
  const std::string command = "score-collm";
  if (f.split.empty()) return UsageError(command, "--split must not be empty");
  absl::StatusOr<v1::RankingMode> mode = ParseMode(f.mode);
  if (!mode.ok()) return UsageError(command, std::string(mode.status().message()));

  const std::string path = CollmSplitPath(f.data, f.split);
  absl::StatusOr<std::vector<CollmRow>> rows = ReadCollmSplit(path);
  if (!rows.ok()) return IoError(command, std::string(rows.status().message()));
  if (f.limit > 0 && static_cast<size_t>(f.limit) < rows->size()) rows->resize(f.limit);
  int64_t positive = 0, warm = 0;
  for (const CollmRow& row : *rows) {
    positive += row.label;
    warm += row.warm ? 1 : 0;
  }
  std::fprintf(stderr, "%s: %zu rows (%s%lld positive, %lld warm, %lld cold)\n", path.c_str(),
               rows->size(), f.limit > 0 ? "the first, --limit; " : "",
               static_cast<long long>(positive), static_cast<long long>(warm),
               static_cast<long long>(rows->size() - warm));

  std::unique_ptr<v1::Recommender::Stub> stub;
  if (grpc::Status s = ConnectRecommender(global, &stub); !s.ok()) return RpcError(command, s);
  v1::GetModelInfoResponse info;
  {
    grpc::ClientContext context;
    SetDeadline(global, &context);
    grpc::Status status = stub->GetModelInfo(&context, v1::GetModelInfoRequest(), &info);
    if (!status.ok()) return RpcError(command, status);
  }

  ScoreCollmOptions options;
  options.concurrency = static_cast<int>(f.concurrency);
  options.mode = *mode;
  options.timeout_ms = global.timeout_ms;
  options.max_history = info.max_history();
  if (f.progress_s > 0) options.progress_interval_s = f.progress_s;
  std::function<void(const ScoreProgress&)> progress;
  if (f.progress_s > 0) {
    progress = [](const ScoreProgress& p) {
      const double rate = p.elapsed_s > 0 ? static_cast<double>(p.done) / p.elapsed_s : 0;
      const double eta = rate > 0 ? static_cast<double>(p.total - p.done) / rate : -1;
      std::fprintf(stderr, "score-collm: %zu/%zu rows (%.1f%%), %.1f rows/s, ETA %s\n", p.done,
                   p.total, p.total > 0 ? 100.0 * p.done / p.total : 100.0, rate,
                   FormatDuration(eta).c_str());
    };
  }
  absl::StatusOr<ScoreCollmResult> result = ScoreCollmRows(stub.get(), *rows, options, progress);
  if (!result.ok()) {
    return RpcError(absl::StrCat(command, ": ", path),
                    grpc::Status(static_cast<grpc::StatusCode>(result.status().code()),
                                 std::string(result.status().message())));
  }
  const double rows_per_s = result->seconds > 0 ? rows->size() / result->seconds : 0;
  std::fprintf(stderr,
               "scored %zu rows in %.2f s (%.1f rows/s, concurrency %lld), mode %s, "
               "model_version %s\n",
               rows->size(), result->seconds, rows_per_s, static_cast<long long>(f.concurrency),
               ModeName(result->mode).c_str(), result->model_version.c_str());
  if (result->truncated_histories > 0) {
    std::fprintf(stderr,
                 "note: %lld histor(ies) longer than the server's max_history %d: sent "
                 "their last %d ids\n",
                 static_cast<long long>(result->truncated_histories), info.max_history(),
                 info.max_history());
  }
  if (result->unknown_history > 0) {
    std::fprintf(stderr, "note: the server skipped %lld history id(s) unknown to its catalog\n",
                 static_cast<long long>(result->unknown_history));
  }
  if (result->unknown_items > 0) {
    std::fprintf(stderr,
                 "note: %lld row(s) whose item the server does not know (known=false) "
                 "are left out of the metrics\n",
                 static_cast<long long>(result->unknown_items));
  }

  std::vector<PointwiseRow> scored;
  scored.reserve(rows->size());
  for (size_t i = 0; i < rows->size(); ++i) {
    if (!result->scores[i].known) continue;
    const CollmRow& row = (*rows)[i];
    scored.push_back({row.user_id, row.label, row.warm, result->scores[i].probability});
  }
  const PointwiseReport report = EvaluatePointwise(scored);

  if (!f.scores.empty()) {
    if (absl::Status s = WriteScores(f.scores, *rows, result->scores); !s.ok()) {
      return IoError(command, std::string(s.message()));
    }
  }
  if (!f.json.empty()) {
    nlohmann::ordered_json j = ReportJson(report);
    j["split"] = f.split;
    j["data"] = path;
    j["target"] = global.target;
    j["mode"] = ModeName(result->mode);
    j["model_version"] = result->model_version;
    j["rows_total"] = rows->size();
    j["unknown_items"] = result->unknown_items;
    j["unknown_history"] = result->unknown_history;
    j["truncated_histories"] = result->truncated_histories;
    j["concurrency"] = f.concurrency;
    j["seconds"] = result->seconds;
    j["rows_per_s"] = rows_per_s;
    if (int rc = WriteJsonIfAsked(command, f.json, j); rc != kExitOk) return rc;
  }
  std::FILE* text = TextFile(f.json);
  std::fprintf(text, "%s (through %s, mode %s)\n%s", path.c_str(), global.target.c_str(),
               ModeName(result->mode).c_str(), report.ToString().c_str());
  if (result->unknown_items > 0) {
    std::fprintf(text, "(%lld row(s) with an unknown item not scored)\n",
                 static_cast<long long>(result->unknown_items));
  }
  return kExitOk;
}

}  // namespace

Command AddScoreCollm(CLI::App& app, Global global) {
  Subcommand<ScoreCollmFlags> sub(
      app, "score-collm", "AUC / UAUC of a CoLLM split scored through the server (Score)",
      R"(Scores every row of a CoLLM-format split (DIR/SPLIT.tsv, or --data FILE itself:
`user_id item_id label timestamp warm history`) through the running server, one
Score RPC per row (history -> the row's item), and prints AUC and UAUC on all,
warm and cold rows as `sasrecllm eval-sasrec --pointwise` / `eval-hybrid` do (AUC
of P(like), ties count half; UAUC = mean per-user AUC over users with both labels).
Histories are cut to the server's max_history most recent ids (SASRec reads no
more). Rows whose item the server does not know (known=false) are left out of
the metrics and counted. Progress goes to stderr; the first failed RPC stops the
run (exit 1, its status code and message).
--scores writes `user_id item_id label warm logit probability` per row (nan when
not scored); --json writes the metrics with the offline tool's keys.)");
  ScoreCollmFlags& f = sub.flags();
  sub->add_option("--data", f.data, "CoLLM split folder (SPLIT.tsv inside), or a split file.")
      ->required();
  sub->add_option("--split", f.split, "Split name: DIR/SPLIT.tsv.");
  sub->add_option("--mode", f.mode, "auto, sequential or hybrid.");
  sub->add_option("--concurrency", f.concurrency, "Score RPCs in flight.")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}));
  sub->add_option("--limit", f.limit, "Score only the first N rows (0: all).")->check(AtLeast(0));
  sub->add_option("--scores", f.scores, "Write one line per row to this TSV file.");
  sub->add_option("--json", f.json, kJsonHelp)->type_name("FILE");
  sub->add_option("--progress-s", f.progress_s,
                  "Seconds between progress lines on stderr (0: none).")
      ->check(AtLeast(0));
  return sub.RunWith([global](const ScoreCollmFlags& flags) { return ScoreCollm(*global, flags); });
}

}  // namespace sasrecllm::client
