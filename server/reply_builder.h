// The one place a pipeline Request (request.h) becomes the RPC's reply.
//
//   BuildRecommendResponse(request, model_version, &response);
//   BuildScoreResponse(rpc_request, request, model_version, &response);
//
// Thread safety: stateless functions.
#ifndef SASRECLLM_SERVER_REPLY_BUILDER_H_
#define SASRECLLM_SERVER_REPLY_BUILDER_H_

#include <string>

#include "proto/sasrecllm.pb.h"
#include "server/request.h"

namespace sasrecllm::server {

// The top request.top_k candidates by Candidate::final_score, best first
// (ties keep the stages' order: SASRec's ranking); `score` is that score,
// `retrieval_score` SASRec's (0 for cold items), `llm_score` set when the LLM
// scored the item. Also model_version, mode and unknown_history_items.
void BuildRecommendResponse(const Request& request, const std::string& model_version,
                            v1::RecommendResponse* response);

// One ScoredCandidate per rpc.candidates entry, in request order: known ones
// carry logit = final_score and probability = sigmoid(logit); the others
// known=false (logit and probability 0). Also model_version, mode and
// unknown_history_items.
void BuildScoreResponse(const v1::ScoreRequest& rpc, const Request& request,
                        const std::string& model_version, v1::ScoreResponse* response);

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_REPLY_BUILDER_H_
