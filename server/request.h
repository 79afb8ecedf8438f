// The unit of work of the serving pipeline: one admitted Recommend or Score
// RPC, as it travels gRPC thread -> stage 1 (SASRec) -> stage 2 (LLM) ->
// reply. Built by RequestBuilder (request_builder.h) from the proto request,
// filled in by the stages (pipeline.h), turned into the proto reply by
// reply_builder.h.
//
//   Request r;  // from RequestBuilder::FromRecommend
//   r.candidates[i].retrieval_score = ...;  // stage 1
//   r.candidates[i].llm_score = ...;        // stage 2
//
// Thread safety: a plain value; one thread owns it at a time (the pipeline
// hands it from thread to thread).
#ifndef SASRECLLM_SERVER_REQUEST_H_
#define SASRECLLM_SERVER_REQUEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "model/catalog.h"
#include "server/access_log.h"
#include "proto/sasrecllm.pb.h"

namespace sasrecllm::server {

namespace v1 = ::sasrecllm::v1;

enum class RpcKind { kRecommend, kScore };

// One item the request ranks or scores.
struct Candidate {
  Candidate() = default;
  explicit Candidate(const model::CatalogEntry* entry, int position = -1,
                     std::optional<float> retrieval_score = std::nullopt,
                     std::optional<float> llm_score = std::nullopt)
      : entry(entry), position(position), retrieval_score(retrieval_score), llm_score(llm_score) {}

  const model::CatalogEntry* entry = nullptr;  // never null; entry->index 0 = cold
  // Score: the candidate's position in ScoreRequest.candidates (the reply
  // keeps the request's order). Recommend: -1.
  int position = -1;
  // SASRec's dot product (stage 1), when it ran for this candidate.
  std::optional<float> retrieval_score;
  // The LLM's "Yes" logit (stage 2), when it ran.
  std::optional<float> llm_score;

  bool cold() const { return entry->index == 0; }
  // What the reply ranks by and reports as `score` / `logit`: the LLM's
  // logit when stage 2 ran, else SASRec's dot product.
  float final_score() const { return llm_score.value_or(retrieval_score.value_or(0.0f)); }
};

// The other end of the request: the RPC that finishes it (server/call.h).
class RequestSink;

struct Request {
  RpcKind kind = RpcKind::kRecommend;
  // Resolved: SEQUENTIAL_ONLY or HYBRID (never AUTO).
  v1::RankingMode mode = v1::RANKING_MODE_SEQUENTIAL_ONLY;
  bool hybrid() const { return mode == v1::RANKING_MODE_HYBRID; }

  // The user. SASRec indices of the known warm history items, oldest first
  // (unknown ids and cold items skipped); with HYBRID, the titles of every
  // known history item (cold ones too) for the prompt.
  std::vector<int64_t> history;
  std::vector<std::string> history_titles;
  int unknown_history_items = 0;
  // Indices never recommended (the history, unless exclude_history is false).
  std::vector<int64_t> exclude;

  // What to rank. Recommend without candidates: stage 1 retrieves
  // `retrieval_depth` items from the whole catalog into `candidates`.
  // Otherwise `candidates` holds the request's known candidates (for
  // Recommend: the warm ones SASRec re-ranks to the top `retrieval_depth`,
  // then the cold ones, which only the LLM can score).
  bool retrieve = false;
  int retrieval_depth = 0;
  std::vector<Candidate> candidates;
  // Recommend: the reply's length (the top `top_k` by final_score). Score: 0.
  int top_k = 0;

  // When the RPC gives up (absl::InfiniteFuture(): never).
  absl::Time deadline = absl::InfiniteFuture();
  // The stages it went through, in order (Pipeline; for the access log).
  std::vector<StageTiming> stages;

  // Not owned; outlives the request (it is the RPC's reactor).
  RequestSink* sink = nullptr;
  // Set by Pipeline::Submit: unique among the pipeline's requests, never
  // reused (cancellation finds a queued request by it).
  uint64_t id = 0;

  bool HasWarmCandidate() const {
    for (const Candidate& c : candidates) {
      if (!c.cold()) return true;
    }
    return false;
  }
  // The warm candidates' SASRec indices, in order.
  std::vector<int64_t> WarmCandidateIndices() const {
    std::vector<int64_t> out;
    for (const Candidate& c : candidates) {
      if (!c.cold()) out.push_back(c.entry->index);
    }
    return out;
  }
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_REQUEST_H_
