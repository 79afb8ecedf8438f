// Admission (RequestBuilder) and the reply (reply_builder.h): what each proto
// request becomes for the pipeline, and what a finished request becomes on
// the wire. No model: a catalog of three warm items and one cold one.
#include "server/request_builder.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/catalog.h"
#include "server/reply_builder.h"

namespace sasrecllm::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class RequestBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto catalog = model::Catalog::FromEntries(
        {{1, "a", "Film A"}, {2, "b", "Film B"}, {3, "c", "Film C"}, {0, "cold", "New film"}});
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = std::make_unique<model::Catalog>(std::move(catalog).value());
  }

  RequestBuilder Builder(bool has_llm) {
    RequestBuilder::Options options;
    options.limits.max_history = 10;
    options.retrieval_k = 5;
    options.has_llm = has_llm;
    return RequestBuilder(catalog_.get(), options);
  }

  std::unique_ptr<model::Catalog> catalog_;
};

std::vector<std::string> Ids(const Request& r) {
  std::vector<std::string> ids;
  for (const Candidate& c : r.candidates) ids.push_back(c.entry->item_id);
  return ids;
}

TEST_F(RequestBuilderTest, SequentialRecommendRetrievesTopKAndExcludesTheHistory) {
  v1::RecommendRequest rpc;
  for (const char* id : {"a", "nope", "cold"}) rpc.add_history(id);
  rpc.set_top_k(2);
  rpc.set_mode(v1::RANKING_MODE_SEQUENTIAL_ONLY);
  auto r = Builder(/*has_llm=*/true).FromRecommend(rpc);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->kind, RpcKind::kRecommend);
  EXPECT_FALSE((*r)->hybrid());
  EXPECT_THAT((*r)->history, ElementsAre(1));       // the cold item means nothing to SASRec
  EXPECT_TRUE((*r)->history_titles.empty());        // no prompt without the LLM
  EXPECT_EQ((*r)->unknown_history_items, 1);
  EXPECT_THAT((*r)->exclude, ElementsAre(1));
  EXPECT_TRUE((*r)->retrieve);
  EXPECT_EQ((*r)->retrieval_depth, 2);
  EXPECT_EQ((*r)->top_k, 2);
}

TEST_F(RequestBuilderTest, HybridRecommendRetrievesMoreThanItAnswers) {
  v1::RecommendRequest rpc;
  rpc.add_history("cold");
  rpc.set_top_k(3);
  rpc.set_exclude_history(false);
  auto r = Builder(/*has_llm=*/true).FromRecommend(rpc);  // AUTO -> HYBRID
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE((*r)->hybrid());
  EXPECT_THAT((*r)->history_titles, ElementsAre("New film"));  // cold titles go in the prompt
  EXPECT_TRUE((*r)->exclude.empty());
  EXPECT_EQ((*r)->retrieval_depth, 5);  // max(retrieval_k, top_k)
  EXPECT_EQ((*r)->top_k, 3);
}

TEST_F(RequestBuilderTest, HybridCandidatesPutWarmOnesFirstAndKeepColdOnesForTheLlm) {
  v1::RecommendRequest rpc;
  for (const char* id : {"cold", "c", "a"}) rpc.add_candidates(id);
  rpc.set_mode(v1::RANKING_MODE_HYBRID);
  auto r = Builder(true).FromRecommend(rpc);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE((*r)->retrieve);
  EXPECT_EQ((*r)->retrieval_depth, 2);  // every warm candidate
  EXPECT_THAT(Ids(**r), ElementsAre("c", "a", "cold"));
  EXPECT_THAT((*r)->WarmCandidateIndices(), ElementsAre(3, 1));
}

TEST_F(RequestBuilderTest, RecommendRefusesUnknownAndSequentialColdCandidatesByName) {
  v1::RecommendRequest rpc;
  rpc.add_candidates("a");
  rpc.add_candidates("zzz");
  auto unknown = Builder(false).FromRecommend(rpc);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("candidates[1]=\"zzz\""));
  v1::RecommendRequest cold;
  cold.add_candidates("cold");
  auto refused = Builder(false).FromRecommend(cold);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("cold item"));
  v1::RecommendRequest hybrid;
  hybrid.set_mode(v1::RANKING_MODE_HYBRID);
  EXPECT_EQ(Builder(false).FromRecommend(hybrid).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::RecommendRequest big;
  big.set_top_k(5000);
  EXPECT_THAT(Builder(false).FromRecommend(big).status().message(), HasSubstr("top_k=5000"));
}

TEST_F(RequestBuilderTest, ScoreKeepsRequestPositionsAndTheReplyKeepsRequestOrder) {
  v1::ScoreRequest rpc;
  for (const char* id : {"b", "zzz", "cold", "a"}) rpc.add_candidates(id);
  rpc.set_mode(v1::RANKING_MODE_SEQUENTIAL_ONLY);
  auto r = Builder(true).FromScore(rpc);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ((*r)->candidates.size(), 2u);  // SASRec cannot score the cold one
  EXPECT_EQ((*r)->candidates[0].position, 0);
  EXPECT_EQ((*r)->candidates[1].position, 3);
  (*r)->candidates[0].retrieval_score = 0.0f;
  (*r)->candidates[1].retrieval_score = 2.0f;
  v1::ScoreResponse reply;
  BuildScoreResponse(rpc, **r, "v7", &reply);
  EXPECT_EQ(reply.model_version(), "v7");
  ASSERT_EQ(reply.scores_size(), 4);
  EXPECT_EQ(reply.scores(0).item_id(), "b");
  EXPECT_TRUE(reply.scores(0).known());
  EXPECT_FLOAT_EQ(reply.scores(0).probability(), 0.5f);
  EXPECT_FALSE(reply.scores(1).known());
  EXPECT_FALSE(reply.scores(2).known());
  EXPECT_FLOAT_EQ(reply.scores(3).logit(), 2.0f);
}

TEST_F(RequestBuilderTest, TheRecommendReplyRanksByTheLlmWhenItRan) {
  Request r;
  r.mode = v1::RANKING_MODE_HYBRID;
  r.top_k = 2;
  r.candidates = {Candidate{catalog_->FindById("a"), -1, 3.0f, -1.0f},
                  Candidate{catalog_->FindById("b"), -1, 2.0f, 4.0f},
                  Candidate{catalog_->FindById("cold"), -1, std::nullopt, 1.0f}};
  v1::RecommendResponse reply;
  BuildRecommendResponse(r, "v", &reply);
  ASSERT_EQ(reply.items_size(), 2);
  EXPECT_EQ(reply.items(0).item_id(), "b");
  EXPECT_FLOAT_EQ(reply.items(0).score(), 4.0f);
  EXPECT_FLOAT_EQ(reply.items(0).retrieval_score(), 2.0f);
  EXPECT_TRUE(reply.items(0).has_llm_score());
  EXPECT_EQ(reply.items(1).item_id(), "cold");
  EXPECT_FLOAT_EQ(reply.items(1).retrieval_score(), 0.0f);
  EXPECT_EQ(reply.mode(), v1::RANKING_MODE_HYBRID);
}

}  // namespace
}  // namespace sasrecllm::server
