// The sasrecllm.v1.Recommender gRPC service (callback API).
//
// gRPC threads only validate the request, map external item ids to SASRec
// indices and enqueue the work; the batcher thread runs SasrecRanker over a
// batch of requests and finishes each RPC (never under a lock). GetModelInfo
// is answered inline (no model call).
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
};

class RecommenderService final : public v1::Recommender::CallbackService {
 public:
  // `bundle` is shared and must stay loaded; `metrics` (not owned) and `clock`
  // (not owned; nullptr = real time) must outlive the service. Starts the
  // batcher thread. INVALID_ARGUMENT for bad options.
  static absl::StatusOr<std::unique_ptr<RecommenderService>> Create(
      const ServiceOptions& options, std::shared_ptr<const model::Bundle> bundle,
      Metrics* metrics, Clock* clock = nullptr);

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
    model::RankQuery query;
    // Recommend: the response to fill. Score: nullptr.
    v1::RecommendResponse* recommend_response = nullptr;
    // Score: the response (pre-filled with every candidate, unknown ones
    // final) and, per query candidate, its position in the response.
    v1::ScoreResponse* score_response = nullptr;
    std::vector<int> score_positions;
  };

  RecommenderService(const ServiceOptions& options, std::shared_ptr<const model::Bundle> bundle,
                     Metrics* metrics);

  // Maps history ids to indices (unknown and cold ones skipped; returns how
  // many the catalog did not know).
  int MapHistory(const google::protobuf::RepeatedPtrField<std::string>& history,
                 std::vector<int64_t>* indices) const;
  // Enqueues `work` or finishes its call with the batcher's refusal.
  // The checks a model call passes before it is queued: the server is not
  // draining (else UNAVAILABLE), `validation` is OK, and the bundle can run
  // `requested`. Returns the mode to run.
  absl::StatusOr<v1::RankingMode> Admit(const absl::Status& validation,
                                        v1::RankingMode requested) const;
  void Enqueue(Work work);
  void RunBatch(std::vector<Work> batch);

  const ServiceOptions options_;
  const std::shared_ptr<const model::Bundle> bundle_;
  Metrics* const metrics_;
  model::SasrecRanker ranker_;  // used by the batcher thread only (and Warmup before it)
  int64_t sasrec_parameters_ = 0;
  std::atomic<bool> draining_{false};
  std::unique_ptr<Batcher<Work>> batcher_;
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_RECOMMENDER_SERVICE_H_
