// The sasrecllm.v1.Recommender gRPC service (callback API): the front of the
// serving pipeline (pipeline.h). gRPC threads only validate the request and
// map its item ids (RequestBuilder), then submit it; the stages run the
// models on their own threads, and the RPC is answered from the finished
// request (call.h, reply_builder.h). GetModelInfo is answered inline.
//
// Stages: "sasrec" (sasrec_stage.h) always; "llm" (llm_stage.h) with a
// hybrid scorer, for HYBRID (and AUTO) requests: Recommend re-ranks SASRec's
// top max(retrieval_k, top_k) (or the request's candidates) by the LLM's
// "Yes" logit; Score skips stage 1 and returns sigmoid(LLM logit). Cold
// catalog items (no SASRec embedding) may be candidates in HYBRID mode: they
// are scored from their title (retrieval_score 0). An empty history is
// served too: SASRec then retrieves from its representation of an empty
// sequence and the prompt has no titles.
//
//   auto service = RecommenderService::Create(options, bundle, &metrics, nullptr, scorer);
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
#include "model/hybrid/hybrid_model.h"
#include "model/hybrid/hybrid_reranker.h"
#include "proto/sasrecllm.grpc.pb.h"
#include "server/batcher.h"
#include "server/call.h"
#include "server/clock.h"
#include "server/metrics.h"
#include "server/pipeline.h"
#include "server/request_builder.h"
#include "server/validation.h"

namespace sasrecllm::server {

struct ServiceOptions {
  // max_top_k and max_candidates come from here; max_history is taken from
  // the bundle manifest by Create().
  RequestLimits limits;
  // Stage 1 (SASRec): requests per batch, queue delay and queue size.
  BatcherOptions batcher;
  // Reported by GetModelInfo (what --device / --dtype said).
  std::string device = "cpu";   // Default: "cpu"
  std::string dtype = "float32";  // Default: "float32"
  // Stage 2 (used only with an LLM): SASRec's candidates per Recommend
  // (at least top_k are taken), the LLM queue and the reranker's options.
  int retrieval_k = 20;  // Default: 20 (--retrieval-k)
  BatcherOptions llm_batcher{.max_batch_size = 8};  // Default: 8 requests per LLM batch
  hybrid::RerankOptions rerank;
  // One JSON line per finished RPC (not owned; must outlive the service).
  // Default: nullptr, no access log.
  AccessLog* access_log = nullptr;
};

class RecommenderService final : public v1::Recommender::CallbackService {
 public:
  // `bundle` is shared and must stay loaded; `metrics` (not owned) and `clock`
  // (not owned; nullptr = real time) must outlive the service. `llm`: the
  // bundle's hybrid scorer, built on the bundle's own SASRec
  // (hybrid::LoadBundleHybridModel(*bundle, ...)), nullptr = SASRec only.
  // Starts the stages' threads. INVALID_ARGUMENT for bad options or an `llm`
  // whose SASRec is not the bundle's.
  static absl::StatusOr<std::unique_ptr<RecommenderService>> Create(
      const ServiceOptions& options, std::shared_ptr<const model::Bundle> bundle,
      Metrics* metrics, Clock* clock = nullptr,
      std::shared_ptr<hybrid::HybridModel> llm = nullptr);

  // Drains (see Drain).
  ~RecommenderService() override;

  // Runs one small batch through every stage (first-call allocations, lazy
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
  RecommenderService(const ServiceOptions& options, std::shared_ptr<const model::Bundle> bundle,
                     std::shared_ptr<hybrid::HybridModel> llm, Metrics* metrics);

  // Admits `request` (built by the RequestBuilder, or its error) into the
  // pipeline on behalf of `call`, or finishes `call` with the refusal.
  void Submit(Call* call, absl::StatusOr<std::unique_ptr<Request>> request);
  void FillModelInfo(v1::GetModelInfoResponse* response) const;

  const ServiceOptions options_;
  const std::shared_ptr<const model::Bundle> bundle_;
  const std::shared_ptr<hybrid::HybridModel> llm_;  // null without an LLM
  const RequestBuilder request_builder_;
  int64_t sasrec_parameters_ = 0;
  int64_t llm_parameters_ = 0;
  std::atomic<bool> draining_{false};
  std::unique_ptr<Pipeline> pipeline_;
  CallEnv call_env_;  // points at pipeline_ and the metrics
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_RECOMMENDER_SERVICE_H_
