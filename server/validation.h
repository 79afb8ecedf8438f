// Request validation for the Recommender service: limits and the checks that
// need neither the model nor the catalog. Every error is INVALID_ARGUMENT (or
// FAILED_PRECONDITION for a mode the bundle cannot serve) with a message that
// names the field and the offending value.
//
//   RequestLimits limits{.max_top_k = 1000, .max_candidates = 1000, .max_history = 50};
//   absl::Status s = ValidateRecommendRequest(request, limits);
//   absl::StatusOr<v1::RankingMode> mode = ResolveMode(request.mode(), /*has_llm=*/false);
//
// Thread safety: stateless functions.
#ifndef SASRECLLM_SERVER_VALIDATION_H_
#define SASRECLLM_SERVER_VALIDATION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/sasrecllm.pb.h"

namespace sasrecllm::server {

namespace v1 = ::sasrecllm::v1;

inline constexpr int kDefaultTopK = 10;

struct RequestLimits {
  int max_top_k = 1000;       // Default: 1000 (--max-top-k)
  int max_candidates = 1000;  // Default: 1000 (--max-candidates)
  int64_t max_history = 50;   // from the bundle manifest

  // INVALID_ARGUMENT naming the field when a limit is < 1.
  absl::Status Validate() const;
};

// top_k in [0, max_top_k] (0 means kDefaultTopK), history at most max_history
// ids, candidates at most max_candidates ids, no empty ids.
absl::Status ValidateRecommendRequest(const v1::RecommendRequest& request,
                                      const RequestLimits& limits);

// History at most max_history ids, at least one and at most max_candidates
// candidates, no empty ids.
absl::Status ValidateScoreRequest(const v1::ScoreRequest& request, const RequestLimits& limits);

// The mode that will run: AUTO -> HYBRID with an LLM, else SEQUENTIAL_ONLY.
// HYBRID without an LLM: FAILED_PRECONDITION.
absl::StatusOr<v1::RankingMode> ResolveMode(v1::RankingMode requested, bool has_llm);

// request.top_k(), or kDefaultTopK when it is 0. Precondition: validated.
int EffectiveTopK(const v1::RecommendRequest& request);

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_VALIDATION_H_
