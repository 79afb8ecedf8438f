// `sasrecllm-client score`: P(like) of candidates for a history, or of every
// request in a TSV file (Score).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/commands.h"
#include "client/util.h"
#include "grpcpp/grpcpp.h"
#include "proto/sasrecllm.grpc.pb.h"

namespace sasrecllm::client {
namespace {

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

struct ScoreFlags {
  std::string history, candidates;
  std::string mode = "auto";
  std::string user_id;
  std::string json;
  std::string input, output;
  int64_t concurrency = 4;
};

int Score(const GlobalOptions& global, const ScoreFlags& f) {
  const std::string command = "score";
  absl::StatusOr<v1::RankingMode> mode = ParseMode(f.mode);
  if (!mode.ok()) return UsageError(command, std::string(mode.status().message()));
  if (!f.input.empty() || !f.output.empty()) {
    if (f.input.empty() || f.output.empty()) {
      return UsageError(command, "the batch form needs both --input and --output");
    }
    return RunScoreBatch(global, f.input, f.output, f.concurrency, *mode);
  }

  v1::ScoreRequest request;
  FillRankingRequest(f.user_id, f.history, f.candidates, *mode, &request);
  v1::ScoreResponse response;
  if (int rc =
          CallAndReport(global, command, &v1::Recommender::Stub::Score, request, &response, f.json);
      rc != kExitOk) {
    return rc;
  }
  std::FILE* text = TextFile(f.json);
  const size_t id_width = ItemIdWidth(response.scores());
  std::fprintf(text, "%s\n", absl::StrFormat("%-*s  %11s  %10s  %5s", id_width, "item_id",
                                      "probability", "logit", "known")
                          .c_str());
  for (const v1::ScoredCandidate& c : response.scores()) {
    std::fprintf(text, "%s\n", absl::StrFormat("%-*s  %11.6f  %10.4f  %5s", id_width, c.item_id(),
                                        c.probability(), c.logit(), c.known() ? "yes" : "no")
                            .c_str());
  }
  return kExitOk;
}

}  // namespace

Command AddScore(CLI::App& app, Global global) {
  Subcommand<ScoreFlags> sub(
      app, "score", "P(like) of candidates for a history, or a TSV file of requests (Score)",
      R"(Prints P(like) of each candidate for the history (Score).
Batch form (--input FILE.tsv --output FILE.tsv): one request per input line,
`history<TAB>candidates[<TAB>user_id]` (ids comma separated; empty lines and lines
starting with # are copied as they are). Output line i answers input line i:
`candidates<TAB>probabilities<TAB>logits<TAB>unknown_history_items` (comma
separated, in candidate order; an unknown candidate has probability 0).
Any failed request fails the command (exit 1, naming the line).)");
  ScoreFlags& f = sub.flags();
  CLI::Option* history =
      sub->add_option("--history", f.history, "Comma-separated item ids, oldest first.");
  CLI::Option* candidates =
      sub->add_option("--candidates", f.candidates, "Comma-separated ids to score.");
  sub->add_option("--mode", f.mode, "auto, sequential or hybrid.");
  sub->add_option("--user-id", f.user_id, "User id, for the server's logs.");
  CLI::Option* json = sub->add_option("--json", f.json, kJsonHelp)->type_name("FILE");
  sub->add_option("--input", f.input, "Batch form: TSV file of requests.")
      ->excludes(history)
      ->excludes(candidates)
      ->excludes(json);
  sub->add_option("--output", f.output, "Batch form: TSV file of answers.")
      ->excludes(history)
      ->excludes(candidates)
      ->excludes(json);
  sub->add_option("--concurrency", f.concurrency, "Batch form: requests in flight.")
      ->check(AtLeast(1));
  return sub.RunWith([global](const ScoreFlags& flags) { return Score(*global, flags); });
}

}  // namespace sasrecllm::client
