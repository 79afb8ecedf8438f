// The service with its LLM stage, in-process over a real channel: a tiny
// random SASRec bundle plus a tiny random SASRecLLM scorer (byte tokenizer,
// 2-layer Llama, mapping layer) on the same SASRec. Checks hybrid Recommend
// and Score against the scorer called directly, cross-request batching,
// cold items and empty histories, deadlines and cancellation.
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "model/bundle.h"
#include "model/catalog.h"
#include "model/hybrid/hybrid_model.h"
#include "proto/sasrecllm.grpc.pb.h"
#include "server/metrics.h"
#include "server/recommender_service.h"
#include "tests/model/hybrid/test_parts.h"
#include "tests/server/test_server.h"

namespace sasrecllm::server {
namespace {

using ::testing::HasSubstr;

constexpr int kItems = 20;
constexpr int kMaxHistory = 8;
// Stage 2 waits this long for a batch to fill: long enough for a deadline or
// a cancellation to land while a request is queued there.
constexpr absl::Duration kLlmQueueDelay = absl::Milliseconds(150);

std::string Title(int i) { return absl::StrCat(i % 2 ? "Odd film " : "Even film ", i); }

int64_t CounterValue(const std::string& text, const std::string& series) {
  const size_t at = text.find(series + " ");
  if (at == std::string::npos) return -1;
  return static_cast<int64_t>(std::stod(text.substr(at + series.size() + 1)));
}

class HybridServiceTest : public testing::ServerSuite<HybridServiceTest> {
 protected:
  static void SetUpTestSuite() {
    auto bundle =
        WriteSuiteBundle("hybrid_service_test_bundle",
                         {"", "hybrid-test", kItems, kMaxHistory, Title, "A film nobody rated"});
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    bundle_ = *bundle;

    hybrid::HybridModel::Parts parts = hybrid::testing::TinyParts(kItems);
    parts.sasrec = bundle_->sasrec();  // one SASRec for both stages, as the server loads it
    auto scorer = hybrid::HybridModel::Create(std::move(parts));
    ASSERT_TRUE(scorer.ok()) << scorer.status();
    scorer_ = std::move(scorer).value();

    ServiceOptions options;
    options.limits.max_top_k = 50;
    options.limits.max_candidates = 10;
    options.batcher.max_batch_size = 4;
    options.batcher.max_queue_delay = absl::Microseconds(500);
    options.retrieval_k = 6;
    options.llm_batcher.max_batch_size = 8;
    options.llm_batcher.max_queue_delay = kLlmQueueDelay;
    options.rerank.max_batch_tokens = 4096;
    StartServer(RecommenderService::Create(options, bundle_, metrics_.get(), nullptr, scorer_));
  }

  static void TearDownTestSuite() {
    ServerSuite::TearDownTestSuite();
    scorer_.reset();
    bundle_.reset();
  }

  // The scorer's own logit for (history ids 1..kItems, item index; 0 = cold).
  static float DirectLogit(const std::vector<int>& history, int item, const std::string& title) {
    hybrid::HybridExample e;
    for (int h : history) {
      e.history.push_back(h);
      e.history_titles.push_back(Title(h));
    }
    e.target = item;
    e.target_title = title;
    auto logits = scorer_->YesLogits({e}, /*train=*/false);
    EXPECT_TRUE(logits.ok()) << logits.status();
    return logits.ok() ? (*logits)[0].item<float>() : NAN;
  }

  static v1::ScoreRequest ScoreRequest(const std::vector<int>& history,
                                       const std::vector<std::string>& candidates) {
    v1::ScoreRequest request;
    for (int h : history) request.add_history(absl::StrCat("i", h));
    for (const std::string& c : candidates) request.add_candidates(c);
    request.set_mode(v1::RANKING_MODE_HYBRID);
    return request;
  }

  inline static std::shared_ptr<const model::Bundle> bundle_;
  inline static std::shared_ptr<hybrid::HybridModel> scorer_;
};

TEST_F(HybridServiceTest, RecommendReRanksSasrecsCandidatesByTheLlm) {
  v1::RecommendRequest request;
  for (int h : {1, 3, 5, 7}) request.add_history(absl::StrCat("i", h));
  request.set_top_k(4);
  request.set_mode(v1::RANKING_MODE_HYBRID);
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  EXPECT_EQ(response.mode(), v1::RANKING_MODE_HYBRID);
  ASSERT_EQ(response.items_size(), 4);

  // Stage 1 alone: SASRec's top retrieval_k (6).
  v1::RecommendRequest sequential = request;
  sequential.set_mode(v1::RANKING_MODE_SEQUENTIAL_ONLY);
  sequential.set_top_k(6);
  v1::RecommendResponse retrieved;
  ASSERT_TRUE(Recommend(sequential, &retrieved).ok());
  std::map<std::string, float> retrieval;
  for (const v1::RankedItem& item : retrieved.items()) retrieval[item.item_id()] = item.score();

  float previous = INFINITY;
  for (const v1::RankedItem& item : response.items()) {
    ASSERT_TRUE(item.has_llm_score());
    EXPECT_EQ(item.score(), item.llm_score());
    EXPECT_LE(item.llm_score(), previous) << "not sorted by the LLM's score";
    previous = item.llm_score();
    ASSERT_TRUE(retrieval.count(item.item_id())) << item.item_id() << " was not retrieved";
    EXPECT_NEAR(item.retrieval_score(), retrieval[item.item_id()], 1e-5);
    const int index = std::stoi(item.item_id().substr(1));
    EXPECT_NEAR(item.llm_score(), DirectLogit({1, 3, 5, 7}, index, Title(index)), 1e-4);
    EXPECT_EQ(item.title(), Title(index));
  }
  // The best of the six by the LLM is first.
  float best = -INFINITY;
  for (const auto& [id, score] : retrieval) {
    const int index = std::stoi(id.substr(1));
    best = std::max(best, DirectLogit({1, 3, 5, 7}, index, Title(index)));
  }
  EXPECT_NEAR(response.items(0).llm_score(), best, 1e-4);
}

TEST_F(HybridServiceTest, AutoModeRunsTheLlmStage) {
  v1::RecommendRequest request;
  request.add_history("i2");
  request.set_top_k(2);
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  EXPECT_EQ(response.mode(), v1::RANKING_MODE_HYBRID);
  ASSERT_EQ(response.items_size(), 2);
  EXPECT_TRUE(response.items(0).has_llm_score());
}

TEST_F(HybridServiceTest, ScoreIsTheSigmoidOfTheLlmLogitAndColdItemsAreScoredByTitle) {
  v1::ScoreResponse response;
  ASSERT_TRUE(Score(ScoreRequest({2, 4}, {"i9", "cold", "nope", "i10"}), &response).ok());
  ASSERT_EQ(response.scores_size(), 4);
  EXPECT_FALSE(response.scores(2).known());
  const std::pair<int, std::pair<int, std::string>> expected[] = {
      {0, {9, Title(9)}}, {1, {0, "A film nobody rated"}}, {3, {10, Title(10)}}};
  for (const auto& [position, item] : expected) {
    const v1::ScoredCandidate& s = response.scores(position);
    EXPECT_TRUE(s.known()) << position;
    EXPECT_NEAR(s.logit(), DirectLogit({2, 4}, item.first, item.second), 1e-4) << position;
    EXPECT_NEAR(s.probability(), 1.0 / (1.0 + std::exp(-s.logit())), 1e-6);
  }
}

TEST_F(HybridServiceTest, EmptyHistoriesAndColdOnlyCandidatesAreServed) {
  v1::RecommendRequest request;  // cold start: no history at all
  request.set_top_k(3);
  request.set_mode(v1::RANKING_MODE_HYBRID);
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  ASSERT_EQ(response.items_size(), 3);
  for (const v1::RankedItem& item : response.items()) {
    const int index = std::stoi(item.item_id().substr(1));
    EXPECT_NEAR(item.llm_score(), DirectLogit({}, index, Title(index)), 1e-4);
  }

  v1::RecommendRequest cold;
  cold.add_history("i1");
  cold.add_candidates("cold");
  cold.set_mode(v1::RANKING_MODE_HYBRID);
  v1::RecommendResponse cold_response;
  ASSERT_TRUE(Recommend(cold, &cold_response).ok());
  ASSERT_EQ(cold_response.items_size(), 1);
  EXPECT_EQ(cold_response.items(0).item_id(), "cold");
  EXPECT_EQ(cold_response.items(0).retrieval_score(), 0.0f);
  EXPECT_NEAR(cold_response.items(0).llm_score(), DirectLogit({1}, 0, "A film nobody rated"), 1e-4);

  cold.set_mode(v1::RANKING_MODE_SEQUENTIAL_ONLY);  // SASRec cannot score it
  EXPECT_EQ(Recommend(cold, &cold_response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(HybridServiceTest, ConcurrentMixedHistoriesEqualOneAtATime) {
  const std::vector<std::vector<int>> histories = {{}, {1}, {2, 4, 6, 8, 10, 12, 14, 16}, {3, 5}};
  const std::vector<std::string> candidates = {"i11", "i12", "cold", "i13"};
  std::vector<v1::ScoreResponse> alone(histories.size());
  for (size_t i = 0; i < histories.size(); ++i) {
    ASSERT_TRUE(Score(ScoreRequest(histories[i], candidates), &alone[i]).ok());
  }
  const std::string before = metrics_->SerializeText();
  std::vector<std::future<std::pair<grpc::Status, v1::ScoreResponse>>> together;
  for (size_t i = 0; i < histories.size(); ++i) {
    together.push_back(std::async(std::launch::async, [&, i] {
      v1::ScoreResponse response;
      grpc::Status status = Score(ScoreRequest(histories[i], candidates), &response);
      return std::make_pair(status, response);
    }));
  }
  for (size_t i = 0; i < histories.size(); ++i) {
    auto [status, response] = together[i].get();
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.scores_size(), alone[i].scores_size());
    for (int c = 0; c < response.scores_size(); ++c) {
      EXPECT_NEAR(response.scores(c).logit(), alone[i].scores(c).logit(), 1e-5) << i << "/" << c;
    }
  }
  // The four arrived within the stage-2 queue delay: fewer LLM batches than
  // requests, and the batch size counts sequences (4 per request).
  const std::string after = metrics_->SerializeText();
  const std::string batches = "sasrecllm_batch_size_count{stage=\"llm\"}";
  EXPECT_LT(CounterValue(after, batches) - CounterValue(before, batches), 4);
  const std::string sequences = "sasrecllm_batch_size_sum{stage=\"llm\"}";
  EXPECT_EQ(CounterValue(after, sequences) - CounterValue(before, sequences), 16);
  const std::string reused = "sasrecllm_llm_tokens_total{kind=\"prefix_reused\"}";
  EXPECT_GT(CounterValue(after, reused), CounterValue(before, reused));
}

TEST_F(HybridServiceTest, ExpiredAndCancelledRequestsSkipTheLlm) {
  // A fresh model (the same bundle and scorer): its stages have no batch
  // times yet, so admission, which refuses a deadline shorter than the recent
  // LLM batches took (slow machines: earlier tests' batches), lets the
  // requests in, and it is stage 2's queue delay that outlasts the deadline.
  ASSERT_TRUE(server_->service().Reload(bundle_, scorer_).ok());
  const std::string prefill = "sasrecllm_llm_tokens_total{kind=\"prefill\"}";
  const int64_t before = CounterValue(metrics_->SerializeText(), prefill);

  {  // A deadline shorter than stage 2's queue delay.
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(40));
    v1::ScoreResponse response;
    grpc::Status status = stub_->Score(&context, ScoreRequest({1, 2}, {"i3", "i4"}), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  {  // Cancelled by the client while queued for stage 2.
    grpc::ClientContext context;
    const v1::ScoreRequest request = ScoreRequest({5}, {"i6"});
    v1::ScoreResponse response;
    std::promise<grpc::Status> done;
    stub_->async()->Score(&context, &request, &response,
                          [&done](grpc::Status s) { done.set_value(s); });
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    context.TryCancel();
    EXPECT_EQ(done.get_future().get().error_code(), grpc::StatusCode::CANCELLED);
  }
  // Both would have run in stage 2's next batch: wait for it, then check
  // that no prompt token was computed for them.
  absl::SleepFor(kLlmQueueDelay * 3);
  EXPECT_EQ(CounterValue(metrics_->SerializeText(), prefill), before);
  const std::string text = metrics_->SerializeText();
  EXPECT_THAT(text, HasSubstr("sasrecllm_requests_total{code=\"DEADLINE_EXCEEDED\",method=\"Score\"}"));
}

TEST_F(HybridServiceTest, EachStageReportsItsQueueBatchesAndModelTime) {
  v1::RecommendRequest request;
  for (int h : {2, 4}) request.add_history(absl::StrCat("i", h));
  request.set_top_k(3);
  request.set_mode(v1::RANKING_MODE_HYBRID);
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  const std::string text = metrics_->SerializeText();
  for (const char* stage : {kStageSasrec, kStageLlm}) {
    const std::string label = absl::StrCat("{stage=\"", stage, "\"}");
    EXPECT_GE(CounterValue(text, "sasrecllm_queue_duration_seconds_count" + label), 1) << stage;
    EXPECT_GE(CounterValue(text, "sasrecllm_batch_size_count" + label), 1) << stage;
    EXPECT_GE(CounterValue(text, "sasrecllm_inference_duration_seconds_count" + label), 1) << stage;
    EXPECT_THAT(text, HasSubstr("sasrecllm_queue_depth" + label)) << stage;
  }
}

TEST_F(HybridServiceTest, AScorerOverAnotherSasrecIsRefused) {
  // Its own random SASRec: a second copy of the model the server must not hold.
  auto other = hybrid::HybridModel::Create(hybrid::testing::TinyParts(kItems));
  ASSERT_TRUE(other.ok()) << other.status();
  Metrics metrics({"x", "cpu", "float32"});
  auto service =
      RecommenderService::Create(ServiceOptions(), bundle_, &metrics, nullptr,
                                 std::shared_ptr<hybrid::HybridModel>(std::move(other).value()));
  EXPECT_EQ(service.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(service.status().message(), HasSubstr("not the bundle's"));
}

TEST_F(HybridServiceTest, GetModelInfoDescribesTheLlm) {
  grpc::ClientContext context;
  v1::GetModelInfoResponse info;
  ASSERT_TRUE(stub_->GetModelInfo(&context, v1::GetModelInfoRequest(), &info).ok());
  EXPECT_TRUE(info.has_llm());
  EXPECT_EQ(info.llm_hidden_size(), 32);
  std::vector<std::string> names;
  for (const v1::ComponentInfo& c : info.components()) names.push_back(c.name());
  EXPECT_THAT(names, ::testing::ElementsAre("sasrec", "llm", "mapping"));
}

}  // namespace
}  // namespace sasrecllm::server
