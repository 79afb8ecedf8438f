// `sasrecllm-client recommend`: ranks items for a history (Recommend).
#include <algorithm>
#include <climits>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/commands.h"
#include "client/util.h"
#include "grpcpp/grpcpp.h"
#include "proto/sasrecllm.grpc.pb.h"

namespace sasrecllm::client {
namespace {

struct RecommendFlags {
  std::string history, candidates;
  int64_t top_k = 10;
  bool no_exclude_history = false;
  std::string mode = "auto";
  std::string user_id;
  std::string json;
};

int Recommend(const GlobalOptions& global, const RecommendFlags& f) {
  const std::string command = "recommend";
  absl::StatusOr<v1::RankingMode> mode = ParseMode(f.mode);
  if (!mode.ok()) return UsageError(command, std::string(mode.status().message()));

  v1::RecommendRequest request;
  FillRankingRequest(f.user_id, f.history, f.candidates, *mode, &request);
  request.set_top_k(static_cast<int32_t>(f.top_k));
  request.set_exclude_history(!f.no_exclude_history);

  v1::RecommendResponse response;
  if (int rc = CallAndReport(global, command, &v1::Recommender::Stub::Recommend, request, &response,
                             f.json);
      rc != kExitOk) {
    return rc;
  }
  std::FILE* text = TextFile(f.json);
  const bool any_llm = std::any_of(response.items().begin(), response.items().end(),
                                   [](const v1::RankedItem& item) { return item.has_llm_score(); });
  const size_t id_width = ItemIdWidth(response.items());
  std::string header = absl::StrFormat("%4s  %-*s  %10s  %15s", "rank", id_width, "item_id",
                                       "score", "retrieval_score");
  if (any_llm) absl::StrAppend(&header, absl::StrFormat("  %10s", "llm_score"));
  std::fprintf(text, "%s  title\n", header.c_str());
  int rank = 0;
  for (const v1::RankedItem& item : response.items()) {
    std::string line = absl::StrFormat("%4d  %-*s  %10.4f  %15.4f", ++rank, id_width,
                                       item.item_id(), item.score(), item.retrieval_score());
    if (any_llm) {
      absl::StrAppend(&line, item.has_llm_score() ? absl::StrFormat("  %10.4f", item.llm_score())
                                                  : absl::StrFormat("  %10s", "-"));
    }
    std::fprintf(text, "%s  %s\n", line.c_str(), item.title().c_str());
  }
  return kExitOk;
}

}  // namespace

Command AddRecommend(CLI::App& app, Global global) {
  Subcommand<RecommendFlags> sub(
      app, "recommend", "rank items for a history (Recommend)",
      R"(Ranks items for a history (external item ids, oldest first, comma separated) and
prints rank, item_id, score, retrieval_score, llm_score (when the LLM ran), title.)");
  RecommendFlags& f = sub.flags();
  sub->add_option("--history", f.history, "Comma-separated item ids, oldest first.");
  sub->add_option("--top-k", f.top_k, "Items to return (0: the server's default).")
      ->check(CLI::Range(int64_t{INT32_MIN}, int64_t{INT32_MAX}));
  sub->add_option("--candidates", f.candidates, "Comma-separated ids: rank only these.");
  sub->add_flag("--no-exclude-history", f.no_exclude_history,
                "Allow the history's items in the result.");
  sub->add_option("--mode", f.mode, "auto, sequential or hybrid.");
  sub->add_option("--user-id", f.user_id, "User id, for the server's logs.");
  sub->add_option("--json", f.json, kJsonHelp)->type_name("FILE");
  return sub.RunWith([global](const RecommendFlags& flags) { return Recommend(*global, flags); });
}

}  // namespace sasrecllm::client
