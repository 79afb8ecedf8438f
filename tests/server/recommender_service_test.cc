// The service end to end in-process: a tiny random SASRec bundle (seed 7)
// written with model::WriteBundle, loaded, served on a free local port, and
// called through the generated stub over a real channel.
#include "server/recommender_service.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/sasrecllm.grpc.pb.h"
#include "server/metrics.h"
#include "tests/server/test_server.h"

namespace sasrecllm::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kItems = 20;
constexpr int kMaxHistory = 8;

class RecommenderServiceTest : public testing::ServerSuite<RecommenderServiceTest> {
 protected:
  static void SetUpTestSuite() {
    auto bundle = WriteSuiteBundle(
        "server_test_bundle", {"", "test-v1", kItems, kMaxHistory,
                               [](int i) { return absl::StrCat("Title ", i); }, "A cold item"});
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    ServiceOptions options;
    options.limits.max_top_k = 50;
    options.limits.max_candidates = 5;
    options.batcher.max_batch_size = 4;
    options.batcher.max_queue_delay = absl::Microseconds(500);
    StartServer(RecommenderService::Create(options, *bundle, metrics_.get()));
  }
};

TEST_F(RecommenderServiceTest, RecommendReturnsTopKWithTitlesBestFirstWithoutTheHistory) {
  v1::RecommendRequest request;
  request.add_history("i1");
  request.add_history("i2");
  request.set_top_k(5);
  v1::RecommendResponse response;
  grpc::Status s = Recommend(request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.items_size(), 5);
  EXPECT_EQ(response.model_version(), "test-v1");
  EXPECT_EQ(response.mode(), v1::RANKING_MODE_SEQUENTIAL_ONLY);
  EXPECT_EQ(response.unknown_history_items(), 0);
  for (int i = 0; i < response.items_size(); ++i) {
    const v1::RankedItem& item = response.items(i);
    EXPECT_NE(item.item_id(), "i1");
    EXPECT_NE(item.item_id(), "i2");
    EXPECT_EQ(item.title(), absl::StrCat("Title ", item.item_id().substr(1)));
    EXPECT_EQ(item.score(), item.retrieval_score());
    EXPECT_FALSE(item.has_llm_score());
    if (i > 0) EXPECT_GE(response.items(i - 1).score(), item.score());
  }
}

TEST_F(RecommenderServiceTest, DefaultTopKIsTen) {
  v1::RecommendRequest request;
  request.add_history("i3");
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  EXPECT_EQ(response.items_size(), 10);
}

TEST_F(RecommenderServiceTest, ExcludeHistoryFalseMayReturnHistoryItems) {
  v1::RecommendRequest request;
  request.add_history("i3");
  request.set_exclude_history(false);
  request.set_top_k(kItems);
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  EXPECT_EQ(response.items_size(), kItems);
}

TEST_F(RecommenderServiceTest, CandidatesRestrictTheRanking) {
  v1::RecommendRequest request;
  request.add_history("i1");
  for (const char* id : {"i4", "i5", "i6"}) request.add_candidates(id);
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  ASSERT_EQ(response.items_size(), 3);
  for (const auto& item : response.items()) {
    EXPECT_THAT(item.item_id(), ::testing::AnyOf("i4", "i5", "i6"));
  }
}

TEST_F(RecommenderServiceTest, UnknownHistoryIdsAreSkippedAndCounted) {
  v1::RecommendRequest request;
  request.add_history("nope");
  request.add_history("i1");
  request.add_history("also-nope");
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  EXPECT_EQ(response.unknown_history_items(), 2);
  EXPECT_EQ(response.items_size(), 10);
}

TEST_F(RecommenderServiceTest, UnknownCandidateInRecommendIsInvalidArgument) {
  v1::RecommendRequest request;
  request.add_candidates("i1");
  request.add_candidates("missing");
  v1::RecommendResponse response;
  grpc::Status s = Recommend(request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("candidates[1]=\"missing\""));
}

TEST_F(RecommenderServiceTest, HistoryLongerThanTheBundleLimitIsRejected) {
  v1::RecommendRequest request;
  for (int i = 1; i <= kMaxHistory + 1; ++i) request.add_history(absl::StrCat("i", i));
  v1::RecommendResponse response;
  grpc::Status s = Recommend(request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr(absl::StrCat("max_history=", kMaxHistory)));
}

TEST_F(RecommenderServiceTest, TopKAboveTheFlagLimitIsRejected) {
  v1::RecommendRequest request;
  request.set_top_k(51);
  v1::RecommendResponse response;
  grpc::Status s = Recommend(request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("top_k=51"));
}

TEST_F(RecommenderServiceTest, HybridModeWithoutAnLlmIsAFailedPrecondition) {
  v1::RecommendRequest request;
  request.set_mode(v1::RANKING_MODE_HYBRID);
  v1::RecommendResponse response;
  grpc::Status s = Recommend(request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("no LLM"));
}

TEST_F(RecommenderServiceTest, ScoreIsTheSigmoidOfTheRetrievalScore) {
  v1::RecommendRequest rec;
  rec.add_history("i1");
  rec.add_history("i2");
  for (const char* id : {"i7", "i8"}) rec.add_candidates(id);
  v1::RecommendResponse ranked;
  ASSERT_TRUE(Recommend(rec, &ranked).ok());
  ASSERT_EQ(ranked.items_size(), 2);

  v1::ScoreRequest request;
  request.add_history("i1");
  request.add_history("i2");
  for (const char* id : {"i7", "unknown", "i8", "cold"}) request.add_candidates(id);
  v1::ScoreResponse response;
  grpc::Status s = Score(request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.scores_size(), 4);
  EXPECT_EQ(response.scores(0).item_id(), "i7");
  EXPECT_TRUE(response.scores(0).known());
  EXPECT_FALSE(response.scores(1).known());
  EXPECT_EQ(response.scores(1).probability(), 0.0f);
  EXPECT_TRUE(response.scores(2).known());
  EXPECT_FALSE(response.scores(3).known());
  for (int i : {0, 2}) {
    const auto& c = response.scores(i);
    EXPECT_NEAR(c.probability(), 1.0 / (1.0 + std::exp(-c.logit())), 1e-6);
    for (const auto& item : ranked.items()) {
      if (item.item_id() == c.item_id()) EXPECT_NEAR(item.retrieval_score(), c.logit(), 1e-4);
    }
  }
}

TEST_F(RecommenderServiceTest, ScoreWithOnlyUnknownCandidatesAnswersWithoutTheModel) {
  v1::ScoreRequest request;
  request.add_candidates("unknown");
  v1::ScoreResponse response;
  ASSERT_TRUE(Score(request, &response).ok());
  ASSERT_EQ(response.scores_size(), 1);
  EXPECT_FALSE(response.scores(0).known());
}

TEST_F(RecommenderServiceTest, GetModelInfoDescribesTheBundle) {
  grpc::ClientContext context;
  v1::GetModelInfoResponse info;
  ASSERT_TRUE(stub_->GetModelInfo(&context, v1::GetModelInfoRequest(), &info).ok());
  EXPECT_EQ(info.model_version(), "test-v1");
  EXPECT_EQ(info.catalog_size(), kItems + 1);
  EXPECT_EQ(info.sasrec_hidden_units(), 16);
  EXPECT_EQ(info.max_history(), kMaxHistory);
  EXPECT_EQ(info.max_top_k(), 50);
  EXPECT_EQ(info.max_candidates(), 5);
  EXPECT_FALSE(info.has_llm());
  ASSERT_EQ(info.components_size(), 1);
  EXPECT_EQ(info.components(0).name(), "sasrec");
  EXPECT_GT(info.components(0).parameters(), 0);
}

TEST_F(RecommenderServiceTest, ConcurrentRequestsAreBatchedAndAllAnswered) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      auto stub = server_->NewStub();
      v1::RecommendRequest request;
      request.add_history(absl::StrCat("i", 1 + t % kItems));
      v1::RecommendResponse response;
      grpc::ClientContext context;
      if (stub->Recommend(&context, request, &response).ok() && response.items_size() == 10) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 16);
  EXPECT_THAT(metrics_->SerializeText(),
              HasSubstr("sasrecllm_requests_total{code=\"OK\",method=\"Recommend\"}"));
}

TEST_F(RecommenderServiceTest, MetricsCountRejectedRequestsByCode) {
  v1::RecommendRequest request;
  request.set_top_k(-5);
  v1::RecommendResponse response;
  ASSERT_FALSE(Recommend(request, &response).ok());
  EXPECT_THAT(metrics_->SerializeText(),
              HasSubstr("sasrecllm_requests_total{code=\"INVALID_ARGUMENT\",method=\"Recommend\"}"));
  EXPECT_THAT(metrics_->SerializeText(), Not(HasSubstr("sasrecllm_inflight_requests 1")));
}

}  // namespace
}  // namespace sasrecllm::server
