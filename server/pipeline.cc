#include "server/pipeline.h"

#include <exception>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace sasrecllm::server {

namespace {

// A place (RequestSink::SetQueuedAt) is the stage in the top 8 bits and the
// request's id (never 0) below.
constexpr int kStageShift = 56;
constexpr uint64_t kIdMask = (uint64_t{1} << kStageShift) - 1;

// The share of a request's time left that the work queued ahead may take
// for it to be admitted (Admit).
constexpr double kAdmissionShareOfTimeLeft = 0.75;

uint64_t PlaceOf(size_t stage, uint64_t id) {
  return (static_cast<uint64_t>(stage) << kStageShift) | (id & kIdMask);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Create(std::vector<StageConfig> stages,
                                                           Metrics* metrics, Clock* clock) {
  if (metrics == nullptr) return absl::InvalidArgumentError("Pipeline: no metrics");
  if (stages.empty()) return absl::InvalidArgumentError("Pipeline: no stages");
  if (stages.size() > 255) return absl::InvalidArgumentError("Pipeline: more than 255 stages");
  std::unique_ptr<Pipeline> pipeline(new Pipeline(metrics, clock != nullptr ? clock : RealClock::Get()));
  for (size_t i = 0; i < stages.size(); ++i) {
    if (stages[i].stage == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("Pipeline: stage ", i, " is null"));
    }
    if (absl::Status s = stages[i].batcher.Validate(); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("stage \"", stages[i].stage->name(), "\": ", s.message()));
    }
    if (stages[i].batcher.workers > 1 && !stages[i].stage->RunsConcurrently()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "stage \"", stages[i].stage->name(), "\" runs one batch at a time (workers must be 1)"));
    }
  }
  Pipeline* self = pipeline.get();
  pipeline->runners_.resize(stages.size());
  for (size_t i = 0; i < stages.size(); ++i) {
    Runner& runner = pipeline->runners_[i];
    runner.stage = std::move(stages[i].stage);
    const std::string name(runner.stage->name());
    metrics->SetQueueCapacity(name, stages[i].batcher.max_queue_size);
    Queue::Callbacks callbacks;
    callbacks.run_batch = [self, i](std::vector<std::unique_ptr<Request>> batch) {
      self->RunBatch(i, std::move(batch));
    };
    callbacks.reject = [](std::unique_ptr<Request> request, absl::Status status) {
      RequestSink* sink = request->sink;
      sink->Finish(std::move(request), status);
    };
    callbacks.is_cancelled = [](const std::unique_ptr<Request>& request) {
      return request->sink->IsCancelled();
    };
    callbacks.on_queue_wait = [metrics, name](absl::Duration d) {
      metrics->ObserveQueueWait(name, d);
    };
    callbacks.on_queue_depth = [metrics, name](size_t n) { metrics->SetQueueDepth(name, n); };
    runner.queue = std::make_unique<Queue>(stages[i].batcher, std::move(callbacks), clock);
  }
  return pipeline;
}

Pipeline::~Pipeline() { Shutdown(); }

void Pipeline::Submit(std::unique_ptr<Request> request) {
  // 2^56 ids: at a million requests a second, two thousand years.
  request->id = next_id_.fetch_add(1, std::memory_order_relaxed) & kIdMask;
  if (absl::Status admitted = Admit(*request); !admitted.ok()) {
    RequestSink* sink = request->sink;
    sink->Finish(std::move(request), admitted);
    return;
  }
  Advance(std::move(request), 0);
}

absl::Status Pipeline::Admit(const Request& request) {
  if (request.deadline == absl::InfiniteFuture()) return absl::OkStatus();
  absl::Duration expected = absl::ZeroDuration();
  std::string ahead;
  for (const Runner& runner : runners_) {
    if (!runner.stage->WillWant(request)) continue;
    const absl::Duration wait = runner.queue->ExpectedWait();
    expected += wait;
    absl::StrAppend(&ahead, ahead.empty() ? "" : ", ", runner.stage->name(), " ",
                    absl::FormatDuration(absl::Trunc(wait, absl::Microseconds(100))));
  }
  const absl::Duration left = request.deadline - clock_->Now();
  // A quarter of the time left is kept for what the estimate does not see:
  // building and sending the reply, gRPC's own queues, the way back.
  if (expected <= left * kAdmissionShareOfTimeLeft) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "overloaded: the work queued ahead (", ahead, ") would take past the request's deadline (",
      absl::FormatDuration(absl::Trunc(left, absl::Microseconds(100))), " left)"));
}

void Pipeline::Advance(std::unique_ptr<Request> request, size_t first) {
  for (size_t i = first; i < runners_.size(); ++i) {
    if (!runners_[i].stage->Wants(*request)) continue;
    RequestSink* sink = request->sink;
    const absl::Time deadline = request->deadline;
    // Before Enqueue: afterwards the request (and its sink) may be gone.
    sink->SetQueuedAt(PlaceOf(i, request->id));
    request->stages.push_back({std::string(runners_[i].stage->name()), absl::Now(), {}, {}});
    absl::StatusOr<Queue::Ticket> ticket = runners_[i].queue->Enqueue(std::move(request), deadline);
    // On error the queue left `request` untouched.
    if (!ticket.ok()) sink->Finish(std::move(request), ticket.status());
    return;
  }
  RequestSink* sink = request->sink;
  sink->Finish(std::move(request), absl::OkStatus());
}

void Pipeline::Cancel(uint64_t place) {
  const size_t stage = place >> kStageShift;
  const uint64_t id = place & kIdMask;
  if (id == 0 || stage >= runners_.size()) return;
  runners_[stage].queue->CancelIf(
      [id](const std::unique_ptr<Request>& request) { return request->id == id; });
}

void Pipeline::RunBatch(size_t stage, std::vector<std::unique_ptr<Request>> batch) {
  Stage& s = *runners_[stage].stage;
  const std::string name(s.name());
  std::vector<Request*> requests;
  requests.reserve(batch.size());
  for (const std::unique_ptr<Request>& r : batch) requests.push_back(r.get());
  std::vector<absl::Status> statuses(batch.size());

  const absl::Time start = absl::Now();
  size_t units = 0;
  try {
    units = s.Run(requests, &statuses);
  } catch (const std::exception& e) {
    // Stages return errors as statuses; this is the last line of defence
    // that keeps one bad batch from taking the server down.
    for (absl::Status& status : statuses) {
      status = absl::InternalError(absl::StrCat("stage \"", name, "\": ", e.what()));
    }
  }
  const absl::Time end = absl::Now();
  metrics_->ObserveInference(name, end - start);
  if (units > 0) metrics_->ObserveBatchSize(name, units);
  for (const std::unique_ptr<Request>& r : batch) {
    if (!r->stages.empty()) {
      r->stages.back().started = start;
      r->stages.back().finished = end;
    }
  }

  for (size_t i = 0; i < batch.size(); ++i) {
    if (!statuses[i].ok()) {
      RequestSink* sink = batch[i]->sink;
      sink->Finish(std::move(batch[i]), statuses[i]);
    } else {
      Advance(std::move(batch[i]), stage + 1);
    }
  }
}

absl::Status Pipeline::Warmup() {
  for (Runner& runner : runners_) {
    if (absl::Status s = runner.stage->Warmup(); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("warm-up of stage \"", runner.stage->name(),
                                                 "\": ", s.message()));
    }
    if (const int limit = runner.stage->BatchSizeLimit(); limit > 0) {
      runner.queue->LimitBatchSize(limit);
    }
  }
  return absl::OkStatus();
}

void Pipeline::Shutdown() {
  // In order: what an earlier stage still runs may hand work to a later one.
  for (Runner& runner : runners_) {
    if (runner.queue != nullptr) runner.queue->Shutdown();
  }
}

}  // namespace sasrecllm::server
