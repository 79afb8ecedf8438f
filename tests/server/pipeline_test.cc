// The pipeline without a model: fake stages (one of them a business-rule
// filter, the kind of stage the pipeline is meant to take in one file)
// check routing, per-request errors, refusals, cancellation, shutdown and
// the per-stage metrics.
#include "server/pipeline.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/catalog.h"
#include "server/metrics.h"
#include "server/request.h"

namespace sasrecllm::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const model::CatalogEntry kItemA{1, "a", "Film A"};
const model::CatalogEntry kItemB{2, "b", "Film B"};

// A stage made of lambdas; counts the requests it ran.
class FakeStage : public Stage {
 public:
  using RunFn = std::function<void(Request*, absl::Status*)>;
  FakeStage(std::string name, std::function<bool(const Request&)> wants, RunFn run)
      : name_(std::move(name)), wants_(std::move(wants)), run_(std::move(run)) {}

  absl::string_view name() const override { return name_; }
  bool Wants(const Request& r) const override { return wants_(r); }
  size_t Run(const std::vector<Request*>& batch, std::vector<absl::Status>* statuses) override {
    if (gate_ != nullptr) gate_->WaitForNotification();
    for (size_t i = 0; i < batch.size(); ++i) run_(batch[i], &(*statuses)[i]);
    ran_ += batch.size();
    return batch.size();
  }
  absl::Status Warmup() override { return absl::OkStatus(); }

  // Run blocks until `gate` is notified.
  void set_gate(absl::Notification* gate) { gate_ = gate; }
  int ran() const { return ran_; }

 private:
  std::string name_;
  std::function<bool(const Request&)> wants_;
  RunFn run_;
  absl::Notification* gate_ = nullptr;
  std::atomic<int> ran_{0};
};

// A business rule as a stage: drops candidates whose title is "Film B".
class DropFilmB : public Stage {
 public:
  absl::string_view name() const override { return "filter"; }
  bool Wants(const Request& r) const override { return !r.candidates.empty(); }
  size_t Run(const std::vector<Request*>& batch, std::vector<absl::Status>*) override {
    for (Request* r : batch) {
      auto& c = r->candidates;
      c.erase(std::remove_if(c.begin(), c.end(),
                             [](const Candidate& x) { return x.entry->title == "Film B"; }),
              c.end());
    }
    return batch.size();
  }
  absl::Status Warmup() override { return absl::OkStatus(); }
};

// Records how the request was finished.
class RecordingSink : public RequestSink {
 public:
  void Finish(std::unique_ptr<Request> request, const absl::Status& status) override {
    result_.set_value({std::move(request), status});
  }
  bool IsCancelled() const override { return cancelled_; }
  void SetQueuedAt(uint64_t place) override { place_ = place; }

  std::pair<std::unique_ptr<Request>, absl::Status> Wait() { return result_.get_future().get(); }
  uint64_t place() const { return place_; }
  void set_cancelled() { cancelled_ = true; }

 private:
  std::promise<std::pair<std::unique_ptr<Request>, absl::Status>> result_;
  std::atomic<bool> cancelled_{false};
  std::atomic<uint64_t> place_{0};
};

std::unique_ptr<Request> MakeRequest(RecordingSink* sink) {
  auto r = std::make_unique<Request>();
  r->candidates = {Candidate{&kItemA}, Candidate{&kItemB}};
  r->sink = sink;
  return r;
}

BatcherOptions Immediate() {
  BatcherOptions o;
  o.max_queue_delay = absl::ZeroDuration();
  return o;
}

auto Always = [](const Request&) { return true; };

class PipelineTest : public ::testing::Test {
 protected:
  Metrics metrics_{{"test", "cpu", "float32"}};
};

TEST_F(PipelineTest, RequestsGoThroughTheStagesThatWantThemInOrder) {
  std::vector<std::string> seen;
  std::vector<Pipeline::StageConfig> stages;
  stages.push_back({std::make_unique<FakeStage>(
                        "one", Always,
                        [&](Request* r, absl::Status*) {
                          seen.push_back("one");
                          r->candidates[0].retrieval_score = 1.0f;
                        }),
                    Immediate()});
  stages.push_back({std::make_unique<FakeStage>(
                        "skipped", [](const Request& r) { return r.hybrid(); },
                        [&](Request*, absl::Status*) { seen.push_back("skipped"); }),
                    Immediate()});
  stages.push_back({std::make_unique<FakeStage>(
                        "two", Always,
                        [&](Request* r, absl::Status*) {
                          seen.push_back("two");
                          r->candidates[0].llm_score = 2.0f;
                        }),
                    Immediate()});
  auto pipeline = Pipeline::Create(std::move(stages), &metrics_);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  RecordingSink sink;
  (*pipeline)->Submit(MakeRequest(&sink));
  auto [request, status] = sink.Wait();
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(seen, ElementsAre("one", "two"));
  EXPECT_EQ(request->candidates[0].final_score(), 2.0f);
  EXPECT_NE(request->id, 0u);
}

TEST_F(PipelineTest, ARequestNoStageWantsIsFinishedAtOnce) {
  std::vector<Pipeline::StageConfig> stages;
  auto never = [](const Request&) { return false; };
  stages.push_back({std::make_unique<FakeStage>("one", never, nullptr), Immediate()});
  auto pipeline = Pipeline::Create(std::move(stages), &metrics_);
  ASSERT_TRUE(pipeline.ok());
  RecordingSink sink;
  (*pipeline)->Submit(MakeRequest(&sink));
  EXPECT_TRUE(sink.Wait().second.ok());
}

TEST_F(PipelineTest, AnAddedBusinessRuleStageFiltersCandidates) {
  std::vector<Pipeline::StageConfig> stages;
  stages.push_back({std::make_unique<DropFilmB>(), Immediate()});
  auto pipeline = Pipeline::Create(std::move(stages), &metrics_);
  ASSERT_TRUE(pipeline.ok());
  RecordingSink sink;
  (*pipeline)->Submit(MakeRequest(&sink));
  auto [request, status] = sink.Wait();
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(request->candidates.size(), 1u);
  EXPECT_EQ(request->candidates[0].entry->title, "Film A");
  EXPECT_THAT(metrics_.SerializeText(),
              HasSubstr("sasrecllm_batch_size_count{stage=\"filter\"} 1"));
}

TEST_F(PipelineTest, AStageErrorFinishesTheRequestAndSkipsTheRest) {
  FakeStage* later = nullptr;
  std::vector<Pipeline::StageConfig> stages;
  stages.push_back({std::make_unique<FakeStage>(
                        "failing", Always,
                        [](Request*, absl::Status* s) { *s = absl::InternalError("boom"); }),
                    Immediate()});
  auto second = std::make_unique<FakeStage>("later", Always, [](Request*, absl::Status*) {});
  later = second.get();
  stages.push_back({std::move(second), Immediate()});
  auto pipeline = Pipeline::Create(std::move(stages), &metrics_);
  ASSERT_TRUE(pipeline.ok());
  RecordingSink sink;
  (*pipeline)->Submit(MakeRequest(&sink));
  EXPECT_EQ(sink.Wait().second.code(), absl::StatusCode::kInternal);
  (*pipeline)->Shutdown();
  EXPECT_EQ(later->ran(), 0);
}

TEST_F(PipelineTest, AThrowingStageFailsItsBatchNotTheServer) {
  std::vector<Pipeline::StageConfig> stages;
  stages.push_back({std::make_unique<FakeStage>(
                        "throws", Always,
                        [](Request*, absl::Status*) { throw std::runtime_error("bad tensor"); }),
                    Immediate()});
  auto pipeline = Pipeline::Create(std::move(stages), &metrics_);
  ASSERT_TRUE(pipeline.ok());
  RecordingSink sink;
  (*pipeline)->Submit(MakeRequest(&sink));
  const absl::Status status = sink.Wait().second;
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("bad tensor"));
}

TEST_F(PipelineTest, AFullQueueRefusesAndQueuedRequestsCanBeCancelled) {
  absl::Notification gate;
  auto stage = std::make_unique<FakeStage>("slow", Always, [](Request*, absl::Status*) {});
  stage->set_gate(&gate);
  BatcherOptions options = Immediate();
  options.max_batch_size = 1;
  options.max_queue_size = 1;
  std::vector<Pipeline::StageConfig> stages;
  stages.push_back({std::move(stage), options});
  auto pipeline = Pipeline::Create(std::move(stages), &metrics_);
  ASSERT_TRUE(pipeline.ok());

  RecordingSink running, queued, refused;
  (*pipeline)->Submit(MakeRequest(&running));
  // Wait until the first request has left the queue (its batch is blocked).
  while (metrics_.SerializeText().find("sasrecllm_queue_depth{stage=\"slow\"} 0") ==
         std::string::npos) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  (*pipeline)->Submit(MakeRequest(&queued));
  (*pipeline)->Submit(MakeRequest(&refused));
  EXPECT_EQ(refused.Wait().second.code(), absl::StatusCode::kResourceExhausted);
  ASSERT_NE(queued.place(), 0u);
  (*pipeline)->Cancel(queued.place());
  EXPECT_EQ(queued.Wait().second.code(), absl::StatusCode::kCancelled);
  gate.Notify();
  EXPECT_TRUE(running.Wait().second.ok());
}

// Deadline-aware admission: after batches of 50 ms, a request with 20 ms left
// is refused at the door without running; one with 1 s left runs.
TEST_F(PipelineTest, ARequestThatWouldMissItsDeadlineIsRefusedAtTheDoor) {
  FakeClock clock;
  auto stage = std::make_unique<FakeStage>(
      "slow", Always, [&clock](Request*, absl::Status*) { clock.Advance(absl::Milliseconds(50)); });
  FakeStage* slow = stage.get();
  std::vector<Pipeline::StageConfig> stages;
  stages.push_back({std::move(stage), Immediate()});
  auto pipeline = Pipeline::Create(std::move(stages), &metrics_, &clock);
  ASSERT_TRUE(pipeline.ok());
  // No deadline: always admitted. Two, one after the other: a request is
  // finished inside its batch, before the batcher records that batch's time,
  // so only once the second is finished is the first's 50 ms on record.
  for (int i = 0; i < 2; ++i) {
    RecordingSink warm;
    (*pipeline)->Submit(MakeRequest(&warm));
    ASSERT_TRUE(warm.Wait().second.ok());
  }
  RecordingSink late;
  auto request = MakeRequest(&late);
  request->deadline = clock.Now() + absl::Milliseconds(20);
  (*pipeline)->Submit(std::move(request));
  const absl::Status refused = late.Wait().second;
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("the work queued ahead (slow "));
  EXPECT_EQ(slow->ran(), 2);

  RecordingSink in_time;  // at most the second batch's 50 ms + its own 50 ms ahead
  request = MakeRequest(&in_time);
  request->deadline = clock.Now() + absl::Seconds(1);
  (*pipeline)->Submit(std::move(request));
  EXPECT_TRUE(in_time.Wait().second.ok());
  EXPECT_EQ(slow->ran(), 3);
}

TEST_F(PipelineTest, ACancelledRequestDoesNotRunAndShutdownRefusesNewOnes) {
  FakeStage* stage_ptr = nullptr;
  auto stage = std::make_unique<FakeStage>("one", Always, [](Request*, absl::Status*) {});
  stage_ptr = stage.get();
  std::vector<Pipeline::StageConfig> stages;
  stages.push_back({std::move(stage), Immediate()});
  auto pipeline = Pipeline::Create(std::move(stages), &metrics_);
  ASSERT_TRUE(pipeline.ok());
  RecordingSink cancelled;
  cancelled.set_cancelled();
  (*pipeline)->Submit(MakeRequest(&cancelled));
  EXPECT_EQ(cancelled.Wait().second.code(), absl::StatusCode::kCancelled);
  (*pipeline)->Shutdown();
  EXPECT_EQ(stage_ptr->ran(), 0);
  RecordingSink late;
  (*pipeline)->Submit(MakeRequest(&late));
  EXPECT_EQ(late.Wait().second.code(), absl::StatusCode::kUnavailable);
}

TEST_F(PipelineTest, BadConfigurationsAreRefused) {
  EXPECT_EQ(Pipeline::Create({}, &metrics_).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<Pipeline::StageConfig> stages;
  BatcherOptions bad;
  bad.max_batch_size = 0;
  stages.push_back({std::make_unique<DropFilmB>(), bad});
  const absl::Status status = Pipeline::Create(std::move(stages), &metrics_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("filter"));

  // Several workers for a stage that runs one batch at a time.
  std::vector<Pipeline::StageConfig> serial;
  BatcherOptions two_workers;
  two_workers.workers = 2;
  serial.push_back({std::make_unique<DropFilmB>(), two_workers});
  const absl::Status refused = Pipeline::Create(std::move(serial), &metrics_).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("one batch at a time"));
}

}  // namespace
}  // namespace sasrecllm::server
