#include "server/validation.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace sasrecllm::server {
namespace {

// `ids` (the request's field `field`) holds at most `limit` ids (the limit
// `limit_name`), none of them empty.
absl::Status CheckIdList(const google::protobuf::RepeatedPtrField<std::string>& ids,
                         const char* field, int64_t limit, const char* limit_name) {
  if (ids.size() > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " has ", ids.size(), " items; the limit is ", limit_name, "=", limit));
  }
  for (int i = 0; i < ids.size(); ++i) {
    if (ids[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, "[", i, "] is an empty item id"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckHistory(const google::protobuf::RepeatedPtrField<std::string>& history,
                          const RequestLimits& limits) {
  return CheckIdList(history, "history", limits.max_history, "max_history");
}

absl::Status CheckCandidates(const google::protobuf::RepeatedPtrField<std::string>& candidates,
                             const RequestLimits& limits) {
  return CheckIdList(candidates, "candidates", limits.max_candidates, "max_candidates");
}

}  // namespace

absl::Status RequestLimits::Validate() const {
  if (max_top_k < 1) {
    return absl::InvalidArgumentError(absl::StrCat("max_top_k must be >= 1, got ", max_top_k));
  }
  if (max_candidates < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_candidates must be >= 1, got ", max_candidates));
  }
  if (max_history < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_history must be >= 1, got ", max_history));
  }
  return absl::OkStatus();
}

absl::Status ValidateRecommendRequest(const v1::RecommendRequest& request,
                                      const RequestLimits& limits) {
  if (request.top_k() < 0 || request.top_k() > limits.max_top_k) {
    return absl::InvalidArgumentError(absl::StrCat("top_k=", request.top_k(),
                                                   " is out of range [0, ", limits.max_top_k,
                                                   "] (0 means ", kDefaultTopK, ")"));
  }
  absl::Status s = CheckHistory(request.history(), limits);
  if (!s.ok()) return s;
  return CheckCandidates(request.candidates(), limits);
}

absl::Status ValidateScoreRequest(const v1::ScoreRequest& request, const RequestLimits& limits) {
  absl::Status s = CheckHistory(request.history(), limits);
  if (!s.ok()) return s;
  if (request.candidates().empty()) {
    return absl::InvalidArgumentError("candidates is empty; Score needs at least one");
  }
  return CheckCandidates(request.candidates(), limits);
}

absl::StatusOr<v1::RankingMode> ResolveMode(v1::RankingMode requested, bool has_llm) {
  switch (requested) {
    case v1::RANKING_MODE_AUTO:
      return has_llm ? v1::RANKING_MODE_HYBRID : v1::RANKING_MODE_SEQUENTIAL_ONLY;
    case v1::RANKING_MODE_SEQUENTIAL_ONLY:
      return v1::RANKING_MODE_SEQUENTIAL_ONLY;
    case v1::RANKING_MODE_HYBRID:
      if (!has_llm) {
        return absl::FailedPreconditionError(
            "mode=RANKING_MODE_HYBRID but no LLM is loaded (the bundle has none, or the server "
            "runs with --llm=false); use RANKING_MODE_AUTO or RANKING_MODE_SEQUENTIAL_ONLY");
      }
      return v1::RANKING_MODE_HYBRID;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("mode=", static_cast<int>(requested), " is not a known RankingMode"));
  }
}

int EffectiveTopK(const v1::RecommendRequest& request) {
  return request.top_k() == 0 ? kDefaultTopK : request.top_k();
}

}  // namespace sasrecllm::server
