// The serving pipeline: a request goes through an ordered list of stages,
// each with its own bounded queue and batcher thread (batcher.h), and then
// back to its RPC to be answered. A stage is one class implementing Stage
// (sasrec_stage.h, llm_stage.h); adding one (a filter, a business rule) is
// one file plus one line where the pipeline is assembled
// (RecommenderService::Create).
//
//   std::vector<Pipeline::StageConfig> stages;
//   stages.push_back({std::make_unique<SasrecStage>(...), sasrec_batcher_options});
//   stages.push_back({std::make_unique<LlmStage>(...), llm_batcher_options});
//   auto pipeline = Pipeline::Create(std::move(stages), &metrics);
//   (*pipeline)->Submit(std::move(request));  // request->sink->Finish runs exactly once
//
// Admission: Submit refuses at once, with RESOURCE_EXHAUSTED, a request that
// cannot finish before its deadline: the stages it will go through expect
// more work queued ahead of it (Batcher::ExpectedWait, from their recent batch
// times) than three quarters of the time it has left (the rest is for the
// reply's way back). Under overload such requests would only
// wait in a queue until their deadline and fail there, after holding a slot.
//
// Routing: Submit and every finished batch send a request to the next stage
// whose Wants() is true, skipping the others; after the last stage (or when
// a stage fails it) the request goes to request->sink->Finish. A request
// whose deadline passes, or that is cancelled, while it waits in a queue is
// finished with DEADLINE_EXCEEDED / CANCELLED without running (batcher.h).
//
// Metrics, the same for every stage (label stage = Stage::name()):
// sasrecllm_queue_duration_seconds, sasrecllm_queue_depth,
// sasrecllm_queue_capacity (the batcher's max_queue_size),
// sasrecllm_batch_size (in the unit Run returns) and
// sasrecllm_inference_duration_seconds (Run's wall time).
//
// Thread safety: Submit, Cancel and Shutdown are thread-safe. Each stage's
// Run is called on that stage's batcher threads only (one thread, unless the
// stage RunsConcurrently and its batcher has workers > 1), never under a lock.
#ifndef SASRECLLM_SERVER_PIPELINE_H_
#define SASRECLLM_SERVER_PIPELINE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/batcher.h"
#include "server/clock.h"
#include "server/metrics.h"
#include "server/request.h"

namespace sasrecllm::server {

// The RPC end of a request (server/call.h implements it).
class RequestSink {
 public:
  virtual ~RequestSink() = default;
  // Answers the RPC: with OK, the reply is built from `request`. Called
  // exactly once per submitted request, on whichever thread finished it.
  virtual void Finish(std::unique_ptr<Request> request, const absl::Status& status) = 0;
  // True once the client cancelled. Polled when a batch is formed.
  virtual bool IsCancelled() const = 0;
  // The pipeline tells the sink where the request is about to wait (an
  // opaque value for Pipeline::Cancel) each time, before it queues it: once
  // queued, the request may be finished (and the sink gone) at any moment.
  virtual void SetQueuedAt(uint64_t place) = 0;
};

// One step of the pipeline.
class Stage {
 public:
  virtual ~Stage() = default;
  // The `stage` label of this stage's metrics ("sasrec", "llm").
  virtual absl::string_view name() const = 0;
  // Whether `request` has work here; the pipeline skips the stage otherwise.
  virtual bool Wants(const Request& request) const = 0;
  // Whether it will have, once the stages before this one ran (for the
  // admission estimate at Submit): Wants by default; a stage that works on
  // what an earlier one adds (the LLM on stage 1's candidates) says so here.
  virtual bool WillWant(const Request& request) const { return Wants(request); }
  // Runs one batch (1..max_batch_size requests, oldest first) and fills in
  // what this stage computes. Sets (*statuses)[i] (pre-sized, all OK) to
  // finish batch[i] with an error instead of passing it on. Returns the
  // batch's size in the stage's unit for sasrecllm_batch_size (requests; for
  // the LLM, the (request, candidate) sequences scored). Must not throw.
  virtual size_t Run(const std::vector<Request*>& batch, std::vector<absl::Status>* statuses) = 0;
  // Runs one small input through the model (first-call allocations) before
  // serving. Returns the model's error.
  virtual absl::Status Warmup() = 0;
  // After Warmup: the most requests a batch of this stage should hold, when
  // the stage measured that fewer than its batcher's max_batch_size serve
  // better (the pipeline then limits its batcher); 0 = no limit.
  virtual int BatchSizeLimit() const { return 0; }
  // Whether Run may be called from several threads at once (then its
  // batcher may have workers > 1). Default: false.
  virtual bool RunsConcurrently() const { return false; }
};

class Pipeline {
 public:
  struct StageConfig {
    std::unique_ptr<Stage> stage;
    BatcherOptions batcher;  // this stage's queue and batch size
  };

  // Starts each stage's batcher threads (one, or its batcher's workers).
  // `metrics` and `clock` (nullptr = real time) must outlive the pipeline.
  // INVALID_ARGUMENT for no stage, a null stage, bad batcher options, or
  // workers > 1 for a stage whose Run is not RunsConcurrently.
  static absl::StatusOr<std::unique_ptr<Pipeline>> Create(std::vector<StageConfig> stages,
                                                          Metrics* metrics,
                                                          Clock* clock = nullptr);

  // Shuts down (see Shutdown).
  ~Pipeline();

  // Sends `request` (request->sink set) to its first stage, or straight to
  // its sink when no stage wants it. A full queue, or a deadline that the
  // work queued ahead would pass (see Admission), finishes it with
  // RESOURCE_EXHAUSTED, a pipeline that is shutting down with UNAVAILABLE.
  void Submit(std::unique_ptr<Request> request);

  // What the first stage's queue would answer a request now (Batcher::Refusal):
  // lets the service refuse, under overload, before it builds the request.
  absl::Status FirstStageRefusal() { return runners_.front().queue->Refusal(); }

  // Drops the request queued at `place` (RequestSink::SetQueuedAt), finishing
  // it as CANCELLED; nothing when it is not in that queue (any more).
  void Cancel(uint64_t place);

  // Warms every stage up, in order.
  absl::Status Warmup();

  // Stage by stage in order: refuse new requests, run everything accepted
  // (what a stage still runs may go on to the next one), join. Idempotent.
  void Shutdown();

  size_t num_stages() const { return runners_.size(); }
  const Stage& stage(size_t i) const { return *runners_[i].stage; }

 private:
  using Queue = Batcher<std::unique_ptr<Request>>;
  struct Runner {
    std::unique_ptr<Stage> stage;
    std::unique_ptr<Queue> queue;
  };

  Pipeline(Metrics* metrics, Clock* clock) : metrics_(metrics), clock_(clock) {}
  // OK, or RESOURCE_EXHAUSTED when `request` would miss its deadline behind
  // the work queued in the stages it will go through.
  absl::Status Admit(const Request& request);
  // Queues `request` at the first stage >= `first` that wants it, or
  // finishes it (OK) when none does.
  void Advance(std::unique_ptr<Request> request, size_t first);
  void RunBatch(size_t stage, std::vector<std::unique_ptr<Request>> batch);

  Metrics* const metrics_;
  Clock* const clock_;
  std::vector<Runner> runners_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_PIPELINE_H_
