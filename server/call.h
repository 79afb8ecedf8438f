// The reactor of one Recommender RPC: it records the RPC's metrics, turns a
// finished pipeline Request into the typed reply (reply_builder.h) and
// finishes the RPC exactly once. Deletes itself when gRPC is done with it.
//
//   auto* call = new RecommendCall(context, response, model->call_env());
//   ... call->FinishWith(status)  or  pipeline->Submit(request with sink = call)
//   return call;
//
// Thread safety: Finish / FinishWith may run on any thread, once. OnCancel
// (gRPC's thread) may race with the pipeline moving the request between
// queues: it then cancels at most a queue the request already left (nothing
// happens), and the stage's own cancellation poll catches it.
#ifndef SASRECLLM_SERVER_CALL_H_
#define SASRECLLM_SERVER_CALL_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/sasrecllm.pb.h"
#include "server/access_log.h"
#include "server/metrics.h"
#include "server/pipeline.h"
#include "server/reply_builder.h"
#include "server/request.h"
#include "server/status_util.h"

namespace sasrecllm::server {

// What every call needs from the model that serves it (serving_model.h).
// Each call holds it, and with it that model, until the call is done.
struct CallEnv {
  Metrics* metrics = nullptr;
  Pipeline* pipeline = nullptr;
  std::string model_version;
  AccessLog* access_log = nullptr;  // nullptr: no access log
};

// The most bytes of a client's x-request-id or user_id that the access log
// keeps: a client cannot make one log line megabytes long.
inline constexpr size_t kMaxLoggedIdBytes = 128;

// The client's `x-request-id` metadata (its first kMaxLoggedIdBytes), else a new id.
inline std::string RequestIdOf(const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("x-request-id");
  if (it == metadata.end() || it->second.empty()) return AccessLog::NewRequestId();
  return std::string(it->second.data(), std::min<size_t>(it->second.size(), kMaxLoggedIdBytes));
}

// How close to its deadline a cancelled RPC counts as DEADLINE_EXCEEDED.
inline constexpr absl::Duration kDeadlineSlack = absl::Milliseconds(250);

// When the client gives up on `context` (absl::InfiniteFuture(): never).
inline absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

class Call : public grpc::ServerUnaryReactor, public RequestSink {
 public:
  Call(grpc::CallbackServerContext* context, const char* method,
       std::shared_ptr<const CallEnv> env)
      : context_(context),
        method_(method),
        env_(std::move(env)),
        start_(absl::Now()),
        request_id_(RequestIdOf(*context)) {
    env_->metrics->IncrementInflight();
  }

  // For the access log: the request's user_id (its first kMaxLoggedIdBytes).
  void set_user_id(const std::string& user_id) {
    user_id_ = user_id.substr(0, kMaxLoggedIdBytes);
  }

  // Finishes the RPC with `status` (no reply body unless the caller filled it).
  void FinishWith(absl::Status status) {
    const absl::Time now = absl::Now();
    // A client gives up at its deadline, and the server hears that as a
    // cancellation (OnCancel), up to one transport delay before its own copy
    // of the deadline (arrival + grpc-timeout) passes: call that what it is.
    if (status.code() == absl::StatusCode::kCancelled &&
        now + kDeadlineSlack >= DeadlineOf(*context_)) {
      status = absl::DeadlineExceededError("deadline exceeded before the request could run");
    }
    env_->metrics->RecordRequest(method_, status.code(), now - start_);
    env_->metrics->DecrementInflight();
    if (env_->access_log != nullptr && env_->access_log->ShouldLog(status.code())) {
      AccessRecord record;
      record.time = now;
      record.method = method_;
      record.code = status.code();
      record.latency = now - start_;
      record.request_id = request_id_;
      record.user_id = user_id_;
      record.model_version = env_->model_version;
      record.peer = context_->peer();
      if (request_ != nullptr) {
        record.mode = request_->hybrid() ? "hybrid" : "sequential";
        record.stages = request_->stages;
        if (status.ok()) record.items = ReplyItems();
      }
      env_->access_log->Write(record);
    }
    context_->AddTrailingMetadata("x-request-id", request_id_);
    grpc::ServerUnaryReactor::Finish(ToGrpcStatus(status));
  }

  // RequestSink: the pipeline is done with `request`.
  void Finish(std::unique_ptr<Request> request, const absl::Status& status) override {
    if (status.ok()) BuildReply(*request);
    request_ = std::move(request);  // for the access log; freed with the call
    FinishWith(status);
  }
  bool IsCancelled() const override { return context_->IsCancelled(); }
  void SetQueuedAt(uint64_t place) override { place_.store(place, std::memory_order_release); }

  // Still queued: dropped now (finished as CANCELLED by the queue). Already
  // in a batch: the stage's cancellation poll finishes it.
  void OnCancel() override {
    const uint64_t place = place_.load(std::memory_order_acquire);
    if (place != 0) env_->pipeline->Cancel(place);
  }
  void OnDone() override { delete this; }

  grpc::CallbackServerContext* context() const { return context_; }

 protected:
  const CallEnv& env() const { return *env_; }

 private:
  // Fills the typed response from a finished request.
  virtual void BuildReply(const Request& request) = 0;
  // Items (Recommend) or scores (Score) in the reply; -1: none to report.
  virtual int ReplyItems() const { return -1; }

  grpc::CallbackServerContext* const context_;
  const char* const method_;
  const std::shared_ptr<const CallEnv> env_;
  const absl::Time start_;
  const std::string request_id_;
  std::string user_id_;
  std::unique_ptr<Request> request_;  // once the pipeline is done with it
  std::atomic<uint64_t> place_{0};
};

class RecommendCall final : public Call {
 public:
  RecommendCall(grpc::CallbackServerContext* context, v1::RecommendResponse* response,
                std::shared_ptr<const CallEnv> env)
      : Call(context, "Recommend", std::move(env)), response_(response) {}

 private:
  void BuildReply(const Request& request) override {
    BuildRecommendResponse(request, env().model_version, response_);
  }
  int ReplyItems() const override { return response_->items_size(); }
  v1::RecommendResponse* const response_;
};

class ScoreCall final : public Call {
 public:
  ScoreCall(grpc::CallbackServerContext* context, const v1::ScoreRequest* rpc,
            v1::ScoreResponse* response, std::shared_ptr<const CallEnv> env)
      : Call(context, "Score", std::move(env)), rpc_(rpc), response_(response) {}

 private:
  void BuildReply(const Request& request) override {
    BuildScoreResponse(*rpc_, request, env().model_version, response_);
  }
  int ReplyItems() const override { return response_->scores_size(); }
  const v1::ScoreRequest* const rpc_;
  v1::ScoreResponse* const response_;
};

// GetModelInfo is answered inline; it never reaches the pipeline.
class InfoCall final : public Call {
 public:
  InfoCall(grpc::CallbackServerContext* context, std::shared_ptr<const CallEnv> env)
      : Call(context, "GetModelInfo", std::move(env)) {}

 private:
  void BuildReply(const Request&) override {}
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_CALL_H_
