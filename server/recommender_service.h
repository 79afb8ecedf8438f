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
// Hot reload: Reload builds and warms a new ServingModel (serving_model.h)
// beside the one serving, then swaps it in at once. Each call is served
// start to end by the model that was current when it arrived (its reply's
// model_version says which); the old model is freed after its last call.
//
//   auto service = RecommenderService::Create(options, bundle, &metrics, nullptr, scorer);
//   if (!service.ok()) ...;
//   if (absl::Status s = (*service)->Warmup(); !s.ok()) ...;
//   builder.RegisterService(service->get());
//   ...
//   absl::Status s = (*service)->Reload(new_bundle, new_scorer);  // error: the old one serves on
//   ...
//   (*service)->Drain();  // new RPCs: UNAVAILABLE; returns when all accepted ones finished
//
// Thread safety: the RPC methods are called concurrently by gRPC; Warmup must
// be called before the service is registered; Reload and Drain are
// thread-safe (one Reload runs at a time).
#ifndef SASRECLLM_SERVER_RECOMMENDER_SERVICE_H_
#define SASRECLLM_SERVER_RECOMMENDER_SERVICE_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "model/bundle.h"
#include "model/item_retriever.h"
#include "model/hybrid/hybrid_model.h"
#include "proto/sasrecllm.grpc.pb.h"
#include "server/call.h"
#include "server/clock.h"
#include "server/metrics.h"
#include "server/request.h"
#include "server/serving_model.h"

namespace sasrecllm::server {

class RecommenderService final : public v1::Recommender::CallbackService {
 public:
  // The service serving `bundle` (and `llm`): see ServingModel::Create, whose
  // arguments these are and whose errors it returns. `metrics` and `clock`
  // must outlive the service; `options` applies to every reloaded model too.
  static absl::StatusOr<std::unique_ptr<RecommenderService>> Create(
      const ServiceOptions& options, std::shared_ptr<const model::Bundle> bundle,
      Metrics* metrics, Clock* clock = nullptr,
      std::shared_ptr<hybrid::HybridModel> llm = nullptr,
      std::shared_ptr<const model::ItemRetriever> retriever = nullptr);

  // Drains (see Drain).
  ~RecommenderService() override;

  // Warms the current model up (ServingModel::Warmup). Call before serving.
  absl::Status Warmup();

  // Serves `bundle` (and `llm`, as in Create) from now on: builds and warms
  // it beside the current model, swaps it in, then waits until every call
  // the old model accepted has finished and frees it. The new model takes
  // the calls that arrive from the swap on; no call is refused for the
  // reload. On any error (bad bundle, warm-up failure, draining) the current
  // model serves on and the error is returned. Blocks for the load's
  // warm-up and the old model's last calls.
  absl::Status Reload(std::shared_ptr<const model::Bundle> bundle,
                      std::shared_ptr<hybrid::HybridModel> llm,
                      std::shared_ptr<const model::ItemRetriever> retriever = nullptr);

  // The version of the model serving new calls.
  std::string model_version() const;
  // What the current model's LLM warm-up tuning chose (ServingModel::llm_pass_tuning).
  std::optional<LlmPassTuning> llm_pass_tuning() const { return Current()->llm_pass_tuning(); }

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
  RecommenderService(const ServiceOptions& options, Metrics* metrics, Clock* clock,
                     std::shared_ptr<ServingModel> model);

  // The model serving new calls.
  std::shared_ptr<ServingModel> Current() const;
  // Admits `request` (built by `model`'s RequestBuilder, or its error) into
  // `model`'s pipeline on behalf of `call`, or finishes `call` with the refusal.
  void Submit(ServingModel& model, Call* call, absl::StatusOr<std::unique_ptr<Request>> request);

  const ServiceOptions options_;
  Metrics* const metrics_;
  Clock* const clock_;
  std::atomic<bool> draining_{false};
  // Held by Reload and Drain: one model change at a time.
  absl::Mutex reload_mu_;
  mutable absl::Mutex current_mu_;
  std::shared_ptr<ServingModel> current_ ABSL_GUARDED_BY(current_mu_);
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_RECOMMENDER_SERVICE_H_
