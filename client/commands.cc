#include "client/commands.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/auc.h"
#include "base/json.h"
#include "client/collm_scorer.h"
#include "client/flag_parser.h"
#include "client/load_generator.h"
#include "client/util.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "proto/health.grpc.pb.h"
#include "proto/sasrecllm.grpc.pb.h"

namespace sasrecllm::client {
namespace {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// Shared plumbing: flags, channels, errors, output.

// A command's flag set, with the global flags also accepted after the command.
FlagParser MakeFlags(const std::string& usage, GlobalOptions* global) {
  FlagParser flags(usage);
  flags.AddString("target", &global->target, "Server address host:port.");
  flags.AddInt("timeout-ms", &global->timeout_ms, "Deadline of each RPC in milliseconds.");
  return flags;
}

// Parses `args`; returns an exit code when the command should stop here
// (help printed: 0, usage error: 2), nullopt to go on.
std::optional<int> ParseOrExit(FlagParser& flags, const std::vector<std::string>& args,
                               const std::string& command) {
  std::vector<std::string> positional;
  absl::Status s = flags.Parse(args, /*stop_at_positional=*/false, &positional);
  if (s.ok() && !positional.empty()) {
    s = absl::InvalidArgumentError(absl::StrCat("unexpected argument '", positional[0], "'"));
  }
  if (!s.ok()) {
    std::fprintf(stderr, "sasrecllm-client %s: %s\n%s", command.c_str(),
                 std::string(s.message()).c_str(), flags.Help().c_str());
    return kExitUsage;
  }
  if (flags.help_requested()) {
    std::printf("%s", flags.Help().c_str());
    return kExitOk;
  }
  return std::nullopt;
}

int UsageError(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "sasrecllm-client %s: %s (see --help)\n", command.c_str(),
               message.c_str());
  return kExitUsage;
}

int RpcError(const std::string& command, const grpc::Status& status) {
  std::fprintf(stderr, "sasrecllm-client %s: %s: %s\n", command.c_str(),
               StatusCodeName(status.error_code()).c_str(), status.error_message().c_str());
  return kExitError;
}

int IoError(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "sasrecllm-client %s: %s\n", command.c_str(), message.c_str());
  return kExitError;
}

std::shared_ptr<grpc::Channel> MakeChannel(const GlobalOptions& global) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(global.target, grpc::InsecureChannelCredentials(), arguments);
}

void SetDeadline(const GlobalOptions& global, grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(global.timeout_ms));
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  // Cannot fail for a message of a compiled-in type.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

absl::Status CheckTimeout(const GlobalOptions& global) {
  if (global.timeout_ms < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout-ms=", global.timeout_ms, ": must be >= 1"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// recommend

constexpr char kRecommendUsage[] =
    "usage: sasrecllm-client recommend --history IDS [--top-k 10] [--candidates IDS]\n"
    "           [--no-exclude-history] [--mode auto|sequential|hybrid] [--user-id U] [--json]\n"
    "Ranks items for a history (external item ids, oldest first, comma separated) and\n"
    "prints rank, item_id, score, retrieval_score, llm_score (when the LLM ran), title.";

}  // namespace

int RunRecommend(GlobalOptions global, const std::vector<std::string>& args) {
  const std::string command = "recommend";
  std::string history, candidates, mode_name = "auto", user_id;
  int64_t top_k = 10;
  bool no_exclude_history = false, json = false;
  FlagParser flags = MakeFlags(kRecommendUsage, &global);
  flags.AddString("history", &history, "Comma-separated item ids, oldest first.");
  flags.AddInt("top-k", &top_k, "Items to return (0: the server's default).");
  flags.AddString("candidates", &candidates, "Comma-separated ids: rank only these.");
  flags.AddBool("no-exclude-history", &no_exclude_history,
                "Allow the history's items in the result.");
  flags.AddString("mode", &mode_name, "auto, sequential or hybrid.");
  flags.AddString("user-id", &user_id, "User id, for the server's logs.");
  flags.AddBool("json", &json, "Print the response as JSON.");
  if (auto code = ParseOrExit(flags, args, command)) return *code;
  absl::StatusOr<v1::RankingMode> mode = ParseMode(mode_name);
  if (!mode.ok()) return UsageError(command, std::string(mode.status().message()));
  if (absl::Status s = CheckTimeout(global); !s.ok()) return UsageError(command, s.ToString());
  if (top_k < INT32_MIN || top_k > INT32_MAX) {
    return UsageError(command, absl::StrCat("--top-k=", top_k, ": out of the int32 range"));
  }

  v1::RecommendRequest request;
  request.set_user_id(user_id);
  for (std::string& id : ParseIdList(history)) request.add_history(std::move(id));
  for (std::string& id : ParseIdList(candidates)) request.add_candidates(std::move(id));
  request.set_top_k(static_cast<int32_t>(top_k));
  request.set_exclude_history(!no_exclude_history);
  request.set_mode(*mode);

  auto stub = v1::Recommender::NewStub(MakeChannel(global));
  grpc::ClientContext context;
  SetDeadline(global, &context);
  v1::RecommendResponse response;
  grpc::Status status = stub->Recommend(&context, request, &response);
  if (!status.ok()) return RpcError(command, status);

  if (json) {
    std::printf("%s\n", ToJson(response).c_str());
    return kExitOk;
  }
  std::printf("model_version: %s  mode: %s  unknown_history_items: %d\n",
              response.model_version().c_str(), ModeName(response.mode()).c_str(),
              response.unknown_history_items());
  const bool any_llm = std::any_of(response.items().begin(), response.items().end(),
                                   [](const v1::RankedItem& item) { return item.has_llm_score(); });
  size_t id_width = 7;
  for (const v1::RankedItem& item : response.items()) {
    id_width = std::max(id_width, item.item_id().size());
  }
  std::string header = absl::StrFormat("%4s  %-*s  %10s  %15s", "rank", id_width, "item_id",
                                       "score", "retrieval_score");
  if (any_llm) absl::StrAppend(&header, absl::StrFormat("  %10s", "llm_score"));
  std::printf("%s  title\n", header.c_str());
  int rank = 0;
  for (const v1::RankedItem& item : response.items()) {
    std::string line = absl::StrFormat("%4d  %-*s  %10.4f  %15.4f", ++rank, id_width,
                                       item.item_id(), item.score(), item.retrieval_score());
    if (any_llm) {
      absl::StrAppend(&line, item.has_llm_score() ? absl::StrFormat("  %10.4f", item.llm_score())
                                                  : absl::StrFormat("  %10s", "-"));
    }
    std::printf("%s  %s\n", line.c_str(), item.title().c_str());
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// score

namespace {

constexpr char kScoreUsage[] =
    "usage: sasrecllm-client score --history IDS --candidates IDS [--mode M] [--json]\n"
    "       sasrecllm-client score --input FILE.tsv --output FILE.tsv [--concurrency 4]\n"
    "Prints P(like) of each candidate for the history (Score).\n"
    "Batch form: one request per input line, `history<TAB>candidates[<TAB>user_id]`\n"
    "(ids comma separated; empty lines and lines starting with # are copied as they\n"
    "are). Output line i answers input line i:\n"
    "`candidates<TAB>probabilities<TAB>logits<TAB>unknown_history_items` (comma\n"
    "separated, in candidate order; an unknown candidate has probability 0).\n"
    "Any failed request fails the command (exit 1, naming the line).";

struct ScoreLine {
  bool passthrough = false;  // comment or empty line, copied to the output
  std::string text;
  v1::ScoreRequest request;
  v1::ScoreResponse response;
  grpc::Status status;
};

std::string FormatFloats(const v1::ScoreResponse& response, bool logits) {
  std::vector<std::string> parts;
  for (const v1::ScoredCandidate& c : response.scores()) {
    parts.push_back(absl::StrFormat("%.9g", logits ? c.logit() : c.probability()));  // float round trip
  }
  return absl::StrJoin(parts, ",");
}

int RunScoreBatch(const GlobalOptions& global, const std::string& input,
                  const std::string& output, int64_t concurrency, v1::RankingMode mode) {
  const std::string command = "score";
  std::ifstream in(input);
  if (!in) return IoError(command, absl::StrCat("cannot read --input ", input));
  std::vector<ScoreLine> lines;
  std::string text;
  int line_number = 0;
  while (std::getline(in, text)) {
    ++line_number;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    ScoreLine& line = lines.emplace_back();
    line.text = text;
    if (text.empty() || text[0] == '#') {
      line.passthrough = true;
      continue;
    }
    std::vector<std::string> columns = absl::StrSplit(text, '\t');
    if (columns.size() < 2 || columns.size() > 3) {
      return IoError(command, absl::StrCat(input, ":", line_number,
                                           ": expected history<TAB>candidates[<TAB>user_id], got ",
                                           columns.size(), " column(s)"));
    }
    for (std::string& id : ParseIdList(columns[0])) line.request.add_history(std::move(id));
    for (std::string& id : ParseIdList(columns[1])) line.request.add_candidates(std::move(id));
    if (columns.size() == 3) line.request.set_user_id(columns[2]);
    line.request.set_mode(mode);
  }

  // Worker t sends lines t, t + n, ...; the output is written in input order.
  auto stub = v1::Recommender::NewStub(MakeChannel(global));
  const int workers = static_cast<int>(std::min<int64_t>(concurrency, std::max<size_t>(1, lines.size())));
  std::vector<std::thread> threads;
  for (int t = 0; t < workers; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < lines.size(); i += workers) {
        ScoreLine& line = lines[i];
        if (line.passthrough) continue;
        grpc::ClientContext context;
        SetDeadline(global, &context);
        line.status = stub->Score(&context, line.request, &line.response);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  for (size_t i = 0; i < lines.size(); ++i) {
    if (!lines[i].passthrough && !lines[i].status.ok()) {
      return RpcError(absl::StrCat(command, ": ", input, ":", i + 1), lines[i].status);
    }
  }
  std::ofstream out(output);
  if (!out) return IoError(command, absl::StrCat("cannot write --output ", output));
  int64_t requests = 0;
  for (const ScoreLine& line : lines) {
    if (line.passthrough) {
      out << line.text << '\n';
      continue;
    }
    ++requests;
    out << absl::StrJoin(line.request.candidates(), ",") << '\t' << FormatFloats(line.response, false)
        << '\t' << FormatFloats(line.response, true) << '\t'
        << line.response.unknown_history_items() << '\n';
  }
  out.close();
  if (!out) return IoError(command, absl::StrCat("cannot write --output ", output));
  std::fprintf(stderr, "scored %lld request(s) from %s into %s\n",
               static_cast<long long>(requests), input.c_str(), output.c_str());
  return kExitOk;
}

}  // namespace

int RunScore(GlobalOptions global, const std::vector<std::string>& args) {
  const std::string command = "score";
  std::string history, candidates, mode_name = "auto", user_id, input, output;
  int64_t concurrency = 4;
  bool json = false;
  FlagParser flags = MakeFlags(kScoreUsage, &global);
  flags.AddString("history", &history, "Comma-separated item ids, oldest first.");
  flags.AddString("candidates", &candidates, "Comma-separated ids to score.");
  flags.AddString("mode", &mode_name, "auto, sequential or hybrid.");
  flags.AddString("user-id", &user_id, "User id, for the server's logs.");
  flags.AddBool("json", &json, "Print the response as JSON.");
  flags.AddString("input", &input, "Batch form: TSV file of requests.");
  flags.AddString("output", &output, "Batch form: TSV file of answers.");
  flags.AddInt("concurrency", &concurrency, "Batch form: requests in flight.");
  if (auto code = ParseOrExit(flags, args, command)) return *code;
  absl::StatusOr<v1::RankingMode> mode = ParseMode(mode_name);
  if (!mode.ok()) return UsageError(command, std::string(mode.status().message()));
  if (absl::Status s = CheckTimeout(global); !s.ok()) return UsageError(command, s.ToString());

  if (!input.empty() || !output.empty()) {
    if (input.empty() || output.empty()) {
      return UsageError(command, "the batch form needs both --input and --output");
    }
    if (!history.empty() || !candidates.empty() || json) {
      return UsageError(command, "--input/--output cannot be combined with --history, "
                                 "--candidates or --json");
    }
    if (concurrency < 1) {
      return UsageError(command, absl::StrCat("--concurrency=", concurrency, ": must be >= 1"));
    }
    return RunScoreBatch(global, input, output, concurrency, *mode);
  }

  v1::ScoreRequest request;
  request.set_user_id(user_id);
  for (std::string& id : ParseIdList(history)) request.add_history(std::move(id));
  for (std::string& id : ParseIdList(candidates)) request.add_candidates(std::move(id));
  request.set_mode(*mode);
  auto stub = v1::Recommender::NewStub(MakeChannel(global));
  grpc::ClientContext context;
  SetDeadline(global, &context);
  v1::ScoreResponse response;
  grpc::Status status = stub->Score(&context, request, &response);
  if (!status.ok()) return RpcError(command, status);
  if (json) {
    std::printf("%s\n", ToJson(response).c_str());
    return kExitOk;
  }
  std::printf("model_version: %s  mode: %s  unknown_history_items: %d\n",
              response.model_version().c_str(), ModeName(response.mode()).c_str(),
              response.unknown_history_items());
  size_t id_width = 7;
  for (const v1::ScoredCandidate& c : response.scores()) {
    id_width = std::max(id_width, c.item_id().size());
  }
  std::printf("%s\n", absl::StrFormat("%-*s  %11s  %10s  %5s", id_width, "item_id",
                                      "probability", "logit", "known")
                          .c_str());
  for (const v1::ScoredCandidate& c : response.scores()) {
    std::printf("%s\n", absl::StrFormat("%-*s  %11.6f  %10.4f  %5s", id_width, c.item_id(),
                                        c.probability(), c.logit(), c.known() ? "yes" : "no")
                            .c_str());
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// score-collm

namespace {

constexpr char kScoreCollmUsage[] =
    "usage: sasrecllm-client score-collm --data DIR [--split test]\n"
    "           [--mode auto|sequential|hybrid] [--concurrency 16] [--limit N]\n"
    "           [--scores OUT.tsv] [--json OUT.json] [--progress-s 2]\n"
    "Scores every row of a CoLLM-format split (DIR/SPLIT.tsv, or --data FILE itself:\n"
    "`user_id item_id label timestamp warm history`) through the running server, one\n"
    "Score RPC per row (history -> the row's item), and prints AUC and UAUC on all,\n"
    "warm and cold rows as `sasrecllm eval-sasrec --pointwise` / `eval-hybrid` do (AUC\n"
    "of P(like), ties count half; UAUC = mean per-user AUC over users with both labels).\n"
    "Histories are cut to the server's max_history most recent ids (SASRec reads no\n"
    "more). Rows whose item the server does not know (known=false) are left out of\n"
    "the metrics and counted. Progress goes to stderr; the first failed RPC stops the\n"
    "run (exit 1, its status code and message).\n"
    "--scores writes `user_id item_id label warm logit probability` per row (nan when\n"
    "not scored); --json writes the metrics with the offline tool's keys ('-': stdout\n"
    "instead of the text).";

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

}  // namespace

int RunScoreCollm(GlobalOptions global, const std::vector<std::string>& args) {
  const std::string command = "score-collm";
  std::string data, split = "test", mode_name = "auto", scores_path, json_target;
  int64_t concurrency = 16, limit = 0;
  double progress_s = 2;
  FlagParser flags = MakeFlags(kScoreCollmUsage, &global);
  flags.AddString("data", &data, "CoLLM split folder (SPLIT.tsv inside), or a split file.");
  flags.AddString("split", &split, "Split name: DIR/SPLIT.tsv.");
  flags.AddString("mode", &mode_name, "auto, sequential or hybrid.");
  flags.AddInt("concurrency", &concurrency, "Score RPCs in flight.");
  flags.AddInt("limit", &limit, "Score only the first N rows (0: all).");
  flags.AddString("scores", &scores_path, "Write one line per row to this TSV file.");
  flags.AddString("json", &json_target, "Write the metrics as JSON to this file ('-': stdout).");
  flags.AddDouble("progress-s", &progress_s, "Seconds between progress lines on stderr (0: none).");
  if (auto code = ParseOrExit(flags, args, command)) return *code;
  if (data.empty()) return UsageError(command, "--data is required");
  if (split.empty()) return UsageError(command, "--split must not be empty");
  absl::StatusOr<v1::RankingMode> mode = ParseMode(mode_name);
  if (!mode.ok()) return UsageError(command, std::string(mode.status().message()));
  if (absl::Status s = CheckTimeout(global); !s.ok()) return UsageError(command, s.ToString());
  if (concurrency < 1 || concurrency > 100000) {
    return UsageError(command,
                      absl::StrCat("--concurrency=", concurrency, ": must be in [1, 100000]"));
  }
  if (limit < 0) return UsageError(command, absl::StrCat("--limit=", limit, ": must be >= 0"));
  if (progress_s < 0) {
    return UsageError(command, absl::StrCat("--progress-s=", progress_s, ": must be >= 0"));
  }

  const std::string path = CollmSplitPath(data, split);
  absl::StatusOr<std::vector<CollmRow>> rows = ReadCollmSplit(path);
  if (!rows.ok()) return IoError(command, std::string(rows.status().message()));
  if (limit > 0 && static_cast<size_t>(limit) < rows->size()) rows->resize(limit);
  int64_t positive = 0, warm = 0;
  for (const CollmRow& row : *rows) {
    positive += row.label;
    warm += row.warm ? 1 : 0;
  }
  std::fprintf(stderr, "%s: %zu rows (%s%lld positive, %lld warm, %lld cold)\n", path.c_str(),
               rows->size(), limit > 0 ? "the first, --limit; " : "",
               static_cast<long long>(positive), static_cast<long long>(warm),
               static_cast<long long>(rows->size() - warm));

  std::shared_ptr<grpc::Channel> channel = MakeChannel(global);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 std::chrono::milliseconds(global.timeout_ms))) {
    return RpcError(command, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                          absl::StrCat("cannot connect to ", global.target)));
  }
  auto stub = v1::Recommender::NewStub(channel);
  v1::GetModelInfoResponse info;
  {
    grpc::ClientContext context;
    SetDeadline(global, &context);
    grpc::Status status = stub->GetModelInfo(&context, v1::GetModelInfoRequest(), &info);
    if (!status.ok()) return RpcError(command, status);
  }

  ScoreCollmOptions options;
  options.concurrency = static_cast<int>(concurrency);
  options.mode = *mode;
  options.timeout_ms = global.timeout_ms;
  options.max_history = info.max_history();
  if (progress_s > 0) options.progress_interval_s = progress_s;
  std::function<void(const ScoreProgress&)> progress;
  if (progress_s > 0) {
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
               rows->size(), result->seconds, rows_per_s, static_cast<long long>(concurrency),
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

  if (!scores_path.empty()) {
    if (absl::Status s = WriteScores(scores_path, *rows, result->scores); !s.ok()) {
      return IoError(command, std::string(s.message()));
    }
  }
  if (!json_target.empty()) {
    const std::string json = report.DumpJson({
        {"split", JsonString(split)},
        {"data", JsonString(path)},
        {"target", JsonString(global.target)},
        {"mode", JsonString(ModeName(result->mode))},
        {"model_version", JsonString(result->model_version)},
        {"rows_total", absl::StrCat(rows->size())},
        {"unknown_items", absl::StrCat(result->unknown_items)},
        {"unknown_history", absl::StrCat(result->unknown_history)},
        {"truncated_histories", absl::StrCat(result->truncated_histories)},
        {"concurrency", absl::StrCat(concurrency)},
        {"seconds", JsonNumber(result->seconds)},
        {"rows_per_s", JsonNumber(rows_per_s)},
    });
    if (json_target == "-") {
      std::printf("%s\n", json.c_str());
    } else {
      std::ofstream out(json_target);
      out << json << '\n';
      out.close();
      if (!out) return IoError(command, absl::StrCat("cannot write --json ", json_target));
    }
  }
  if (json_target != "-") {
    std::printf("%s (through %s, mode %s)\n%s", path.c_str(), global.target.c_str(),
                ModeName(result->mode).c_str(), report.ToString().c_str());
    if (result->unknown_items > 0) {
      std::printf("(%lld row(s) with an unknown item not scored)\n",
                  static_cast<long long>(result->unknown_items));
    }
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// info

namespace {
constexpr char kInfoUsage[] =
    "usage: sasrecllm-client info [--json]\n"
    "Prints the served model's version, components, dimensions and limits (GetModelInfo).";
}  // namespace

int RunInfo(GlobalOptions global, const std::vector<std::string>& args) {
  const std::string command = "info";
  bool json = false;
  FlagParser flags = MakeFlags(kInfoUsage, &global);
  flags.AddBool("json", &json, "Print the response as JSON.");
  if (auto code = ParseOrExit(flags, args, command)) return *code;
  if (absl::Status s = CheckTimeout(global); !s.ok()) return UsageError(command, s.ToString());
  auto stub = v1::Recommender::NewStub(MakeChannel(global));
  grpc::ClientContext context;
  SetDeadline(global, &context);
  v1::GetModelInfoResponse info;
  grpc::Status status = stub->GetModelInfo(&context, v1::GetModelInfoRequest(), &info);
  if (!status.ok()) return RpcError(command, status);
  if (json) {
    std::printf("%s\n", ToJson(info).c_str());
    return kExitOk;
  }
  std::printf("model_version:       %s\n", info.model_version().c_str());
  std::printf("device:              %s\n", info.device().c_str());
  std::printf("dtype:               %s\n", info.dtype().c_str());
  std::printf("has_llm:             %s\n", info.has_llm() ? "true" : "false");
  std::printf("catalog_size:        %lld\n", static_cast<long long>(info.catalog_size()));
  std::printf("sasrec_hidden_units: %d\n", info.sasrec_hidden_units());
  std::printf("llm_hidden_size:     %d\n", info.llm_hidden_size());
  std::printf("max_history:         %d\n", info.max_history());
  std::printf("max_top_k:           %d\n", info.max_top_k());
  std::printf("max_candidates:      %d\n", info.max_candidates());
  std::printf("components:\n");
  for (const v1::ComponentInfo& c : info.components()) {
    std::printf("  %-8s %12lld params  %s\n", c.name().c_str(),
                static_cast<long long>(c.parameters()), c.config().c_str());
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// health

namespace {

constexpr char kHealthUsage[] =
    "usage: sasrecllm-client health [--service NAME] [--watch] [--wait-s S]\n"
    "Asks grpc.health.v1.Health for the status of NAME (\"\": the whole server;\n"
    "the recommender is \"sasrecllm.v1.Recommender\") and prints SERVING, NOT_SERVING,\n"
    "UNKNOWN or SERVICE_UNKNOWN. Exit 0 only when SERVING.\n"
    "--watch streams status changes until the server ends the stream (or --timeout-ms,\n"
    "when given, passes); the exit code follows the last status.\n"
    "--wait-s polls Check until SERVING or S seconds have passed (connection errors\n"
    "are retried meanwhile).";

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

const char* HealthName(HealthCheckResponse::ServingStatus status) {
  switch (status) {
    case HealthCheckResponse::UNKNOWN: return "UNKNOWN";
    case HealthCheckResponse::SERVING: return "SERVING";
    case HealthCheckResponse::NOT_SERVING: return "NOT_SERVING";
    case HealthCheckResponse::SERVICE_UNKNOWN: return "SERVICE_UNKNOWN";
    default: return "UNRECOGNIZED";
  }
}

}  // namespace

int RunHealth(GlobalOptions global, const std::vector<std::string>& args) {
  const std::string command = "health";
  std::string service;
  bool watch = false;
  double wait_s = 0;
  FlagParser flags = MakeFlags(kHealthUsage, &global);
  flags.AddString("service", &service, "Service name to check (\"\": the server).");
  flags.AddBool("watch", &watch, "Stream status changes (Watch).");
  flags.AddDouble("wait-s", &wait_s, "Poll until SERVING for up to this many seconds.");
  if (auto code = ParseOrExit(flags, args, command)) return *code;
  if (absl::Status s = CheckTimeout(global); !s.ok()) return UsageError(command, s.ToString());
  if (wait_s < 0) return UsageError(command, absl::StrCat("--wait-s=", wait_s, ": must be >= 0"));
  if (watch && wait_s > 0) return UsageError(command, "--watch and --wait-s exclude each other");

  auto stub = Health::NewStub(MakeChannel(global));
  HealthCheckRequest request;
  request.set_service(service);

  if (watch) {
    grpc::ClientContext context;
    const bool timed = global.timeout_given || flags.IsSet("timeout-ms");
    if (timed) SetDeadline(global, &context);
    std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> reader =
        stub->Watch(&context, request);
    HealthCheckResponse response;
    bool serving = false;
    while (reader->Read(&response)) {
      serving = response.status() == HealthCheckResponse::SERVING;
      std::printf("%s\n", HealthName(response.status()));
      std::fflush(stdout);
    }
    grpc::Status status = reader->Finish();
    if (!status.ok() && !(timed && status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)) {
      return RpcError(command, status);
    }
    return serving ? kExitOk : kExitError;
  }

  const Clock::time_point give_up =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait_s));
  for (;;) {
    grpc::ClientContext context;
    SetDeadline(global, &context);
    HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, request, &response);
    const bool serving = status.ok() && response.status() == HealthCheckResponse::SERVING;
    if (serving || Clock::now() >= give_up) {
      if (!status.ok()) return RpcError(command, status);
      std::printf("%s\n", HealthName(response.status()));
      return serving ? kExitOk : kExitError;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// ---------------------------------------------------------------------------
// bench

namespace {

constexpr char kBenchUsage[] =
    "usage: sasrecllm-client bench [--concurrency N | --rate R] [--duration-s 10]\n"
    "           [--warmup-s 2] [--method recommend|score] [--history-len 50] [--top-k 10]\n"
    "           [--num-candidates N] [--item-ids FILE | --max-item N] [--seed 1] [--json]\n"
    "Load generator. Closed loop: N requests always in flight. Open loop (--rate > 0):\n"
    "R requests per second on a fixed schedule, latency measured from the scheduled\n"
    "send time. Items are drawn uniformly (seeded) from --item-ids (one id per line,\n"
    "column --item-ids-column of a TSV), else from 1..--max-item, else from\n"
    "1..catalog_size reported by GetModelInfo. Prints throughput, latency\n"
    "(mean/p50/p90/p99/max of OK requests, ms) and requests by status code; --json\n"
    "prints one JSON object instead. Exit 0 when the run completed, even with RPC\n"
    "errors (they are reported); --fail-on-error makes any error exit 1.";

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

std::string BenchJson(const std::string& method, const LoadOptions& load,
                      const RequestShape& shape, const LoadResult& r) {
  std::vector<std::string> codes;
  for (const auto& [name, count] : r.codes) {
    if (name != "OK") codes.push_back(absl::StrCat(JsonString(name), ":", count));
  }
  const LatencySummary& l = r.latency;
  return absl::StrFormat(
      "{\"method\":%s,\"load\":%s,\"concurrency\":%d,\"rate\":%g,\"duration_s\":%g,"
      "\"warmup_s\":%g,\"history_len\":%d,\"top_k\":%d,\"num_candidates\":%d,"
      "\"requests\":%d,\"ok\":%d,\"errors\":%d,\"dropped\":%d,\"errors_by_code\":{%s},"
      "\"throughput_rps\":%.3f,\"latency_ms\":{\"mean\":%.3f,\"p50\":%.3f,\"p90\":%.3f,"
      "\"p99\":%.3f,\"max\":%.3f}}",
      JsonString(method), JsonString(load.rate > 0 ? "open" : "closed"),
      load.rate > 0 ? 0 : load.concurrency, load.rate, load.duration_s, load.warmup_s,
      shape.history_len, shape.top_k, shape.num_candidates, r.ok + r.errors, r.ok, r.errors,
      r.dropped, absl::StrJoin(codes, ","), r.throughput_rps, l.mean_ms, l.p50_ms, l.p90_ms,
      l.p99_ms, l.max_ms);
}

void PrintBenchText(const std::string& method, const LoadOptions& load, const RequestShape& shape,
                    const LoadResult& r) {
  std::printf("method=%s load=%s %s duration_s=%g warmup_s=%g history_len=%d top_k=%d "
              "num_candidates=%d\n",
              method.c_str(), load.rate > 0 ? "open" : "closed",
              load.rate > 0 ? absl::StrFormat("rate=%g", load.rate).c_str()
                            : absl::StrFormat("concurrency=%d", load.concurrency).c_str(),
              load.duration_s, load.warmup_s, shape.history_len, shape.top_k,
              shape.num_candidates);
  std::printf("requests:   %lld (ok %lld, errors %lld", static_cast<long long>(r.ok + r.errors),
              static_cast<long long>(r.ok), static_cast<long long>(r.errors));
  if (r.dropped > 0) std::printf(", dropped by client %lld", static_cast<long long>(r.dropped));
  std::printf(")\n");
  std::printf("throughput: %.1f req/s\n", r.throughput_rps);
  const LatencySummary& l = r.latency;
  std::printf("latency ms: mean %.2f  p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", l.mean_ms,
              l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms);
  if (r.errors > 0) {
    std::printf("errors:    ");
    for (const auto& [name, count] : r.codes) {
      if (name != "OK") std::printf(" %s=%lld", name.c_str(), static_cast<long long>(count));
    }
    std::printf("\n");
  }
}

}  // namespace

int RunBench(GlobalOptions global, const std::vector<std::string>& args) {
  const std::string command = "bench";
  int64_t concurrency = 1, history_len = 50, top_k = 10, num_candidates = 0, max_item = 0;
  int64_t seed = 1, item_ids_column = 1, max_outstanding = 10000, pool_size = 1024;
  double rate = 0, duration_s = 10, warmup_s = 2;
  std::string method = "recommend", mode_name = "auto", item_ids;
  bool json = false, fail_on_error = false;
  FlagParser flags = MakeFlags(kBenchUsage, &global);
  flags.AddInt("concurrency", &concurrency, "Closed loop: requests in flight.");
  flags.AddDouble("rate", &rate, "Open loop: requests per second (0: closed loop).");
  flags.AddDouble("duration-s", &duration_s, "Measured seconds, after warm-up.");
  flags.AddDouble("warmup-s", &warmup_s, "Seconds of load not counted.");
  flags.AddString("method", &method, "recommend or score.");
  flags.AddString("mode", &mode_name, "auto, sequential or hybrid.");
  flags.AddInt("history-len", &history_len, "History ids per request.");
  flags.AddInt("top-k", &top_k, "Recommend's top_k.");
  flags.AddInt("num-candidates", &num_candidates,
               "Candidates per request (Recommend: 0 = whole catalog; Score: 0 means 20).");
  flags.AddString("item-ids", &item_ids, "File of item ids to draw from.");
  flags.AddInt("item-ids-column", &item_ids_column, "1-based TSV column of --item-ids.");
  flags.AddInt("max-item", &max_item, "Draw ids from 1..N (0: use --item-ids or the catalog).");
  flags.AddInt("seed", &seed, "Seed of the request generator.");
  flags.AddInt("pool-size", &pool_size, "Distinct requests generated, then cycled.");
  flags.AddInt("max-outstanding", &max_outstanding, "Open loop: most requests in flight.");
  flags.AddBool("json", &json, "Print one JSON object.");
  flags.AddBool("fail-on-error", &fail_on_error, "Exit 1 when any request failed.");
  if (auto code = ParseOrExit(flags, args, command)) return *code;

  RequestShape shape;
  if (method == "recommend") {
    shape.method = BenchMethod::kRecommend;
  } else if (method == "score") {
    shape.method = BenchMethod::kScore;
    if (num_candidates == 0) num_candidates = 20;
  } else {
    return UsageError(command, absl::StrCat("--method=", method, ": expected recommend or score"));
  }
  absl::StatusOr<v1::RankingMode> mode = ParseMode(mode_name);
  if (!mode.ok()) return UsageError(command, std::string(mode.status().message()));
  for (const auto& [name, value] : {std::pair<const char*, int64_t>{"history-len", history_len},
                                    {"top-k", top_k},
                                    {"num-candidates", num_candidates},
                                    {"concurrency", concurrency},
                                    {"max-outstanding", max_outstanding}}) {
    if (value < 0 || value > 1000000) {
      return UsageError(command, absl::StrCat("--", name, "=", value, ": out of range"));
    }
  }
  if (pool_size < 1 || item_ids_column < 1 || max_item < 0) {
    return UsageError(command, "--pool-size and --item-ids-column must be >= 1, --max-item >= 0");
  }
  if (flags.IsSet("rate") && flags.IsSet("concurrency")) {
    return UsageError(command, "--rate and --concurrency exclude each other");
  }
  shape.history_len = static_cast<int>(history_len);
  shape.top_k = static_cast<int>(top_k);
  shape.num_candidates = static_cast<int>(num_candidates);
  shape.mode = *mode;
  LoadOptions load;
  load.concurrency = static_cast<int>(concurrency);
  load.rate = rate;
  load.duration_s = duration_s;
  load.warmup_s = warmup_s;
  load.timeout_ms = global.timeout_ms;
  load.max_outstanding = static_cast<int>(max_outstanding);
  if (absl::Status s = shape.Validate(); !s.ok()) return UsageError(command, std::string(s.message()));
  if (absl::Status s = load.Validate(); !s.ok()) return UsageError(command, std::string(s.message()));

  std::shared_ptr<grpc::Channel> channel = MakeChannel(global);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 std::chrono::milliseconds(global.timeout_ms))) {
    return RpcError(command, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                          absl::StrCat("cannot connect to ", global.target)));
  }
  auto stub = v1::Recommender::NewStub(channel);

  std::vector<std::string> items;
  if (!item_ids.empty()) {
    absl::StatusOr<std::vector<std::string>> read = ReadItemIds(item_ids, item_ids_column);
    if (!read.ok()) return IoError(command, std::string(read.status().message()));
    items = *std::move(read);
  } else {
    int64_t n = max_item;
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

  RequestPool pool = MakeRequestPool(shape, items, static_cast<uint64_t>(seed),
                                     static_cast<size_t>(pool_size));
  absl::StatusOr<LoadResult> result = RunLoad(stub.get(), pool, load);
  if (!result.ok()) return IoError(command, std::string(result.status().message()));
  if (json) {
    std::printf("%s\n", BenchJson(method, load, shape, *result).c_str());
  } else {
    PrintBenchText(method, load, shape, *result);
  }
  return fail_on_error && result->errors > 0 ? kExitError : kExitOk;
}

}  // namespace sasrecllm::client
