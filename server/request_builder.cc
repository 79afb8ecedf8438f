#include "server/request_builder.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sasrecllm::server {

absl::Status RequestBuilder::Options::Validate() const {
  if (absl::Status s = limits.Validate(); !s.ok()) return s;
  if (retrieval_k < 1) {
    return absl::InvalidArgumentError(absl::StrCat("retrieval_k must be >= 1, got ", retrieval_k));
  }
  return absl::OkStatus();
}

void RequestBuilder::MapHistory(const google::protobuf::RepeatedPtrField<std::string>& history,
                                Request* request) const {
  request->history.reserve(history.size());
  for (const std::string& id : history) {
    const model::CatalogEntry* entry = catalog_->FindById(id);
    if (entry == nullptr) {
      ++request->unknown_history_items;
      continue;
    }
    // Cold items mean nothing to SASRec, but their titles go in the prompt.
    if (entry->index > 0) request->history.push_back(entry->index);
    if (request->hybrid()) request->history_titles.push_back(entry->title);
  }
}

absl::StatusOr<std::unique_ptr<Request>> RequestBuilder::NewRequest(
    RpcKind kind, v1::RankingMode requested,
    const google::protobuf::RepeatedPtrField<std::string>& history) const {
  absl::StatusOr<v1::RankingMode> mode = ResolveMode(requested, options_.has_llm);
  if (!mode.ok()) return mode.status();
  auto request = std::make_unique<Request>();
  request->kind = kind;
  request->mode = *mode;
  MapHistory(history, request.get());
  return request;
}

absl::StatusOr<std::unique_ptr<Request>> RequestBuilder::FromRecommend(
    const v1::RecommendRequest& rpc) const {
  if (absl::Status s = ValidateRecommendRequest(rpc, options_.limits); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<Request>> built =
      NewRequest(RpcKind::kRecommend, rpc.mode(), rpc.history());
  if (!built.ok()) return built.status();
  std::unique_ptr<Request> request = std::move(built).value();
  if (!rpc.has_exclude_history() || rpc.exclude_history()) request->exclude = request->history;
  request->top_k = EffectiveTopK(rpc);

  std::vector<Candidate> warm, cold;
  for (int i = 0; i < rpc.candidates_size(); ++i) {
    const std::string& id = rpc.candidates(i);
    const model::CatalogEntry* entry = catalog_->FindById(id);
    if (entry == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("candidates[", i, "]=\"", id, "\" is not in the catalog"));
    }
    if (entry->index == 0 && !request->hybrid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("candidates[", i, "]=\"", id,
                       "\" has no SASRec embedding (cold item); only RANKING_MODE_HYBRID can "
                       "score it"));
    }
    (entry->index == 0 ? cold : warm).push_back(Candidate{entry});
  }
  // Stage 1's depth: the reply itself in SEQUENTIAL_ONLY mode; in HYBRID, what
  // the LLM re-ranks: every given warm candidate, or max(retrieval_k, top_k)
  // retrieved from the catalog.
  request->retrieve = rpc.candidates_size() == 0;
  if (!request->hybrid()) {
    request->retrieval_depth = request->top_k;
  } else if (request->retrieve) {
    request->retrieval_depth = std::max(options_.retrieval_k, request->top_k);
  } else {
    request->retrieval_depth = static_cast<int>(warm.size());
  }
  request->candidates = std::move(warm);
  request->candidates.insert(request->candidates.end(), cold.begin(), cold.end());
  return request;
}

absl::StatusOr<std::unique_ptr<Request>> RequestBuilder::FromScore(
    const v1::ScoreRequest& rpc) const {
  if (absl::Status s = ValidateScoreRequest(rpc, options_.limits); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<Request>> built =
      NewRequest(RpcKind::kScore, rpc.mode(), rpc.history());
  if (!built.ok()) return built.status();
  std::unique_ptr<Request> request = std::move(built).value();
  for (int i = 0; i < rpc.candidates_size(); ++i) {
    const model::CatalogEntry* entry = catalog_->FindById(rpc.candidates(i));
    // SASRec cannot score cold items (index 0); the LLM scores them by title.
    if (entry == nullptr || (entry->index == 0 && !request->hybrid())) continue;
    request->candidates.push_back(Candidate{entry, i});
  }
  return request;
}

}  // namespace sasrecllm::server
