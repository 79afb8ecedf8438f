#include "server/recommender_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sasrecllm::server {

absl::StatusOr<std::unique_ptr<RecommenderService>> RecommenderService::Create(
    const ServiceOptions& options, std::shared_ptr<const model::Bundle> bundle, Metrics* metrics,
    Clock* clock, std::shared_ptr<hybrid::HybridModel> llm,
    std::shared_ptr<const model::ItemRetriever> retriever) {
  absl::StatusOr<std::shared_ptr<ServingModel>> model = ServingModel::Create(
      options, std::move(bundle), metrics, clock, std::move(llm), std::move(retriever));
  if (!model.ok()) return model.status();
  return std::unique_ptr<RecommenderService>(
      new RecommenderService(options, metrics, clock, std::move(model).value()));
}

RecommenderService::RecommenderService(const ServiceOptions& options, Metrics* metrics,
                                       Clock* clock, std::shared_ptr<ServingModel> model)
    : options_(options), metrics_(metrics), clock_(clock), current_(std::move(model)) {}

RecommenderService::~RecommenderService() { Drain(); }

std::shared_ptr<ServingModel> RecommenderService::Current() const {
  absl::MutexLock lock(&current_mu_);
  return current_;
}

std::string RecommenderService::model_version() const { return Current()->model_version(); }

absl::Status RecommenderService::Warmup() { return Current()->Warmup(); }

absl::Status RecommenderService::Reload(std::shared_ptr<const model::Bundle> bundle,
                                        std::shared_ptr<hybrid::HybridModel> llm,
                                        std::shared_ptr<const model::ItemRetriever> retriever) {
  absl::MutexLock reload_lock(&reload_mu_);
  if (draining_.load()) return absl::UnavailableError("the server is shutting down");
  absl::StatusOr<std::shared_ptr<ServingModel>> next = ServingModel::Create(
      options_, std::move(bundle), metrics_, clock_, std::move(llm), std::move(retriever));
  if (!next.ok()) return next.status();
  if (absl::Status s = (*next)->Warmup(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("warm-up failed: ", s.message()));
  }
  std::shared_ptr<ServingModel> previous;
  {
    absl::MutexLock lock(&current_mu_);
    previous = std::exchange(current_, std::move(next).value());
  }
  // Every call the old model accepted holds it (CallEnv); none can take it
  // any more. When ours is the last reference, they have all finished.
  while (previous.use_count() > 1) absl::SleepFor(absl::Milliseconds(5));
  previous->Shutdown();
  previous.reset();  // frees its weights, here rather than on a call's thread
  return absl::OkStatus();
}

void RecommenderService::Drain() {
  draining_.store(true);
  absl::MutexLock reload_lock(&reload_mu_);  // after a reload in progress
  Current()->Shutdown();
}

void RecommenderService::Submit(ServingModel& model, Call* call,
                                absl::StatusOr<std::unique_ptr<Request>> request) {
  if (draining_.load()) {
    call->FinishWith(absl::UnavailableError("the server is shutting down"));
    return;
  }
  if (!request.ok()) {
    call->FinishWith(request.status());
    return;
  }
  (*request)->deadline = DeadlineOf(*call->context());
  (*request)->sink = call;
  model.pipeline().Submit(std::move(request).value());
}

grpc::ServerUnaryReactor* RecommenderService::Recommend(grpc::CallbackServerContext* context,
                                                        const v1::RecommendRequest* request,
                                                        v1::RecommendResponse* response) {
  std::shared_ptr<ServingModel> model = Current();
  auto* call = new RecommendCall(context, response, model->call_env());
  call->set_user_id(request->user_id());
  // Under overload most calls are refused: refuse them before mapping their
  // ids, the larger part of a refusal's cost (nearly every Recommend starts
  // at stage 1; one of cold candidates only, which would skip it, is refused
  // with the rest while stage 1 is full).
  if (absl::Status full = model->pipeline().FirstStageRefusal(); !full.ok()) {
    call->FinishWith(full);
    return call;
  }
  Submit(*model, call, model->request_builder().FromRecommend(*request));
  return call;
}

grpc::ServerUnaryReactor* RecommenderService::Score(grpc::CallbackServerContext* context,
                                                    const v1::ScoreRequest* request,
                                                    v1::ScoreResponse* response) {
  std::shared_ptr<ServingModel> model = Current();
  auto* call = new ScoreCall(context, request, response, model->call_env());
  call->set_user_id(request->user_id());
  Submit(*model, call, model->request_builder().FromScore(*request));
  return call;
}

grpc::ServerUnaryReactor* RecommenderService::GetModelInfo(
    grpc::CallbackServerContext* context, const v1::GetModelInfoRequest* /*request*/,
    v1::GetModelInfoResponse* response) {
  std::shared_ptr<ServingModel> model = Current();
  auto* call = new InfoCall(context, model->call_env());
  if (draining_.load()) {
    call->FinishWith(absl::UnavailableError("the server is shutting down"));
    return call;
  }
  model->FillModelInfo(response);
  call->FinishWith(absl::OkStatus());
  return call;
}

}  // namespace sasrecllm::server
