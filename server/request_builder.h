// Admission: turns a validated proto request into the pipeline's Request
// (request.h), mapping external item ids to catalog entries. Runs on the gRPC
// thread; needs the catalog, not the model.
//
//   RequestBuilder builder(&bundle->catalog(), {.limits = limits, .retrieval_k = 20,
//                                               .has_llm = true});
//   absl::StatusOr<std::unique_ptr<Request>> r = builder.FromRecommend(rpc_request);
//
// Errors (INVALID_ARGUMENT naming the field and value, FAILED_PRECONDITION for
// HYBRID without an LLM) come from validation.h and from candidates the
// catalog cannot serve. Unknown history ids are skipped and counted.
//
// Thread safety: immutable after construction; From* may run concurrently.
#ifndef SASRECLLM_SERVER_REQUEST_BUILDER_H_
#define SASRECLLM_SERVER_REQUEST_BUILDER_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/catalog.h"
#include "proto/sasrecllm.pb.h"
#include "server/request.h"
#include "server/validation.h"

namespace sasrecllm::server {

class RequestBuilder {
 public:
  struct Options {
    RequestLimits limits;
    // HYBRID Recommend without candidates: SASRec retrieves
    // max(retrieval_k, top_k) items for the LLM to re-rank. Default: 20.
    int retrieval_k = 20;
    // Whether an LLM stage runs (AUTO resolves to HYBRID, HYBRID is allowed).
    bool has_llm = false;

    absl::Status Validate() const;
  };

  // `catalog` (not owned) must outlive the builder. Precondition:
  // options.Validate().ok().
  RequestBuilder(const model::Catalog* catalog, const Options& options)
      : catalog_(catalog), options_(options) {}

  // Recommend: the top top_k (0 = kDefaultTopK) of the catalog, or of the
  // request's candidates. A cold candidate is INVALID_ARGUMENT unless the
  // mode is HYBRID (the LLM scores it from its title); so is an unknown one.
  absl::StatusOr<std::unique_ptr<Request>> FromRecommend(const v1::RecommendRequest& rpc) const;

  // Score: every candidate the catalog knows (and SASRec can score in
  // SEQUENTIAL_ONLY mode) becomes a Candidate at its request position; the
  // others are answered known=false by the reply builder.
  absl::StatusOr<std::unique_ptr<Request>> FromScore(const v1::ScoreRequest& rpc) const;

  const Options& options() const { return options_; }

 private:
  // Fills history, history_titles (HYBRID) and unknown_history_items.
  // A `kind` request in the mode `requested` resolves to (INVALID_ARGUMENT
  // when it cannot be served), its history mapped (MapHistory).
  absl::StatusOr<std::unique_ptr<Request>> NewRequest(
      RpcKind kind, v1::RankingMode requested,
      const google::protobuf::RepeatedPtrField<std::string>& history) const;
  void MapHistory(const google::protobuf::RepeatedPtrField<std::string>& history,
                  Request* request) const;

  const model::Catalog* const catalog_;
  const Options options_;
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_REQUEST_BUILDER_H_
