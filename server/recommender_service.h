// The sasrecllm.v1.Recommender gRPC service (callback API).
//
// gRPC threads only validate the request, map external item ids to SASRec
// indices and enqueue the work; the batcher thread runs SasrecRanker over a
// batch of requests and finishes each RPC (never under a lock). GetModelInfo
// is answered inline (no model call).
//
// With an LLM (hybrid bundles), HYBRID (and AUTO) requests go on to stage 2
// (server/llm_stage.h), a second batcher thread: Recommend takes SASRec's top
// max(retrieval_k, top_k) (or the request's candidates) and re-ranks them by
// the LLM's "Yes" logit; Score skips stage 1 and returns sigmoid(LLM logit).
// Cold catalog items (no SASRec embedding) may be candidates in HYBRID mode:
// they are scored from their title (retrieval_score 0). An empty history is
// served too: SASRec then retrieves from its representation of an empty
// sequence (what it learnt about all users) and the prompt has no titles.
//
//   auto service = RecommenderService::Create(options, bundle, &metrics);
//   if (!service.ok()) ...;
//   if (absl::Status s = (*service)->Warmup(); !s.ok()) ...;
//   builder.RegisterService(service->get());
//   ...
//   (*service)->Drain();  // new RPCs: UNAVAILABLE; returns when all accepted ones finished
//
// Thread safety: the RPC methods are called concurrently by gRPC; Warmup must
// be called before the service is registered; Drain is thread-safe.
#ifndef SASRECLLM_SERVER_RECOMMENDER_SERVICE_H_
#define SASRECLLM_SERVER_RECOMMENDER_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "model/bundle.h"
#include "model/sasrec_ranker.h"
#include "proto/sasrecllm.grpc.pb.h"
#include "server/batcher.h"
#include "server/clock.h"
#include "server/llm_stage.h"
#include "server/metrics.h"
#include "server/validation.h"

namespace sasrecllm::server {

struct ServiceOptions {
  // max_top_k and max_candidates come from here; max_history is taken from
  // the bundle manifest by Create().
  RequestLimits limits;
  BatcherOptions batcher;
  // Reported by GetModelInfo (what --device / --dtype said).
  std::string device = "cpu";   // Default: "cpu"
  std::string dtype = "float32";  // Default: "float32"
  // Stage 2 (used only with an LLM): SASRec's candidates per Recommend
  // (at least top_k are taken), and the LLM batcher and reranker options.
  int retrieval_k = 20;  // Default: 20 (--retrieval-k)
  LlmStage::Options llm;
};

class RecommenderService final : public v1::Recommender::CallbackService {
 public:
  // `bundle` is shared and must stay loaded; `metrics` (not owned) and `clock`
  // (not owned; nullptr = real time) must outlive the service. `llm`: the
  // bundle's hybrid scorer (hybrid_bundle.h), nullptr = SASRec only. Starts
  // the batcher thread(s). INVALID_ARGUMENT for bad options.
  static absl::StatusOr<std::unique_ptr<RecommenderService>> Create(
      const ServiceOptions& options, std::shared_ptr<const model::Bundle> bundle,
      Metrics* metrics, Clock* clock = nullptr,
      std::shared_ptr<hybrid::HybridModel> llm = nullptr);

  // Drains (see Drain).
  ~RecommenderService() override;

  // Runs one small batch through the model (first-call allocations, lazy
  // initialisation) so that the first real request is not slow. Call before
  // serving; returns the model's error, if any.
  absl::Status Warmup();

  // New RPCs answer UNAVAILABLE; returns once every accepted request has been
  // finished. Idempotent.
  void Drain();

  grpc::ServerUnaryReactor* Recommend(grpc::CallbackServerContext* context,
                                      const v1::RecommendRequest* request,
                                      v1::RecommendResponse* response) override;
  grpc::ServerUnaryReactor* Score(grpc::CallbackServerContext* context,
                                  const v1::ScoreRequest* request,
                                  v1::ScoreResponse* response) override;
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const v1::GetModelInfoRequest* request,
                                         v1::GetModelInfoResponse* response) override;

 private:
  class Call;  // the per-RPC reactor

  // One queued request.
  struct Work {
    Call* call = nullptr;
    v1::RankingMode mode = v1::RANKING_MODE_SEQUENTIAL_ONLY;  // resolved
    model::RankQuery query;
    // HYBRID: the history's titles for the prompt, the request's top_k, and
    // the request's cold candidates (they skip stage 1).
    std::vector<std::string> history_titles;
    int top_k = 0;
    std::vector<const model::CatalogEntry*> cold_candidates;
    // Recommend: the response to fill. Score: nullptr.
    v1::RecommendResponse* recommend_response = nullptr;
    // Score: the response (pre-filled with every candidate, unknown ones
    // final) and, per query candidate, its position in the response.
    v1::ScoreResponse* score_response = nullptr;
    std::vector<int> score_positions;
  };

  RecommenderService(const ServiceOptions& options, std::shared_ptr<const model::Bundle> bundle,
                     Metrics* metrics);

  // Maps history ids to indices (unknown and cold ones skipped) and, when
  // `titles` is given, to the titles of every catalog item (cold ones too).
  // Returns how many the catalog did not know.
  int MapHistory(const google::protobuf::RepeatedPtrField<std::string>& history,
                 std::vector<int64_t>* indices, std::vector<std::string>* titles) const;
  // Enqueues `work` or finishes its call with the batcher's refusal.
  // The checks a model call passes before it is queued: the server is not
  // draining (else UNAVAILABLE), `validation` is OK, and the bundle can run
  // `requested`. Returns the mode to run.
  absl::StatusOr<v1::RankingMode> Admit(const absl::Status& validation,
                                        v1::RankingMode requested) const;
  void Enqueue(Work work);
  void RunBatch(std::vector<Work> batch);
  // Stage 2 of a hybrid Recommend: re-ranks `retrieved` (SASRec's
  // candidates with their retrieval scores) plus work.cold_candidates.
  void RerankWithLlm(Work work, std::vector<model::ScoredItem> retrieved);
  // A hybrid Score: every known candidate straight to stage 2.
  void ScoreWithLlm(Work work);

  const ServiceOptions options_;
  const std::shared_ptr<const model::Bundle> bundle_;
  Metrics* const metrics_;
  model::SasrecRanker ranker_;  // used by the batcher thread only (and Warmup before it)
  int64_t sasrec_parameters_ = 0;
  std::atomic<bool> draining_{false};
  std::unique_ptr<Batcher<Work>> batcher_;
  std::unique_ptr<LlmStage> llm_stage_;  // null without an LLM
  int64_t llm_parameters_ = 0;
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_RECOMMENDER_SERVICE_H_
