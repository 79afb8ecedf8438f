#include "model/sasrec_ranker.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/model/tiny_sasrec.h"

namespace sasrecllm::model {
namespace {

class SasrecRankerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::TinySasrecConfig(/*item_num=*/30, /*hidden_units=*/8, /*dropout_rate=*/0.5,
                                        /*maxlen=*/6);
    torch::manual_seed(11);
    model_ = Sasrec(config_);
    model_->eval();
  }
  // pmixer's predict on the history left-padded to maxlen.
  std::vector<float> Reference(std::vector<int64_t> history, const std::vector<int64_t>& items) {
    if (static_cast<int64_t>(history.size()) > config_.maxlen) {
      history.erase(history.begin(), history.end() - config_.maxlen);
    }
    std::vector<int64_t> row(config_.maxlen - history.size(), 0);
    row.insert(row.end(), history.begin(), history.end());
    torch::NoGradGuard no_grad;
    torch::Tensor logits = model_->Predict(torch::tensor(row).view({1, -1}),
                                           torch::tensor(items).view({1, -1}));
    return std::vector<float>(logits.data_ptr<float>(), logits.data_ptr<float>() + items.size());
  }
  std::vector<int64_t> AllItems() const {
    std::vector<int64_t> v;
    for (int64_t i = 1; i <= config_.item_num; ++i) v.push_back(i);
    return v;
  }

  SasrecConfig config_;
  Sasrec model_{nullptr};
};

TEST_F(SasrecRankerTest, TopKIsOrderedAndMatchesPredict) {
  SasrecRanker ranker(model_, torch::kCPU);
  RankQuery q;
  q.history = {3, 7, 9};
  q.top_k = 5;
  auto r = ranker.Rank({q});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->at(0).size(), 5u);
  std::vector<float> all = Reference(q.history, AllItems());
  std::vector<float> sorted = all;
  std::sort(sorted.rbegin(), sorted.rend());
  for (int j = 0; j < 5; ++j) {
    const ScoredItem& it = r->at(0)[j];
    EXPECT_NEAR(it.score, sorted[j], 1e-5);
    EXPECT_NEAR(it.score, all[it.index - 1], 1e-5);
    if (j > 0) EXPECT_GE(r->at(0)[j - 1].score, it.score);
  }
}

TEST_F(SasrecRankerTest, BatchEqualsOneAtATime) {
  SasrecRanker ranker(model_, torch::kCPU);
  std::vector<RankQuery> queries(4);
  queries[0].history = {1, 2, 3, 4, 5, 6, 7, 8, 9};  // longer than maxlen
  queries[1].history = {4};
  queries[2].history = {};
  queries[3].history = {5, 9};
  queries[3].candidates = {2, 4, 8, 16};
  queries[1].top_k = 30;
  auto batch = ranker.Rank(queries);
  ASSERT_TRUE(batch.ok()) << batch.status();
  for (size_t i = 0; i < queries.size(); ++i) {
    auto single = ranker.Rank({queries[i]});
    ASSERT_TRUE(single.ok());
    ASSERT_EQ(batch->at(i).size(), single->at(0).size()) << i;
    for (size_t j = 0; j < single->at(0).size(); ++j) {
      EXPECT_EQ(batch->at(i)[j].index, single->at(0)[j].index) << i << "," << j;
      EXPECT_NEAR(batch->at(i)[j].score, single->at(0)[j].score, 1e-5);
    }
  }
  EXPECT_EQ(batch->at(1).size(), 30u);
  EXPECT_EQ(batch->at(3).size(), 4u);
}

TEST_F(SasrecRankerTest, ExclusionAndPaddingAreNeverReturned) {
  SasrecRanker ranker(model_, torch::kCPU);
  RankQuery q;
  q.history = {3, 7};
  q.top_k = 100;  // more than the catalog
  for (int64_t i = 1; i <= 25; ++i) q.exclude.push_back(i);
  auto r = ranker.Rank({q});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->at(0).size(), 5u);  // 26..30 only
  for (const auto& it : r->at(0)) {
    EXPECT_GE(it.index, 26);
    EXPECT_LE(it.index, 30);
  }
  // Candidates mode honours exclusion and top_k.
  q.candidates = {1, 26, 27, 2};
  q.top_k = 1;
  r = ranker.Rank({q});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->at(0).size(), 1u);
  EXPECT_TRUE(r->at(0)[0].index == 26 || r->at(0)[0].index == 27);
}

TEST_F(SasrecRankerTest, ScoreEqualsPredict) {
  SasrecRanker ranker(model_, torch::kCPU);
  std::vector<RankQuery> queries(3);
  queries[0].history = {1, 2, 3};
  queries[0].candidates = {5, 6, 7, 30};
  queries[1].history = {9, 8, 7, 6, 5, 4, 3, 2};
  queries[1].candidates = {1};
  queries[2].history = {10};
  auto s = ranker.Score(queries);
  ASSERT_TRUE(s.ok()) << s.status();
  for (size_t i = 0; i < 2; ++i) {
    std::vector<float> ref = Reference(queries[i].history, queries[i].candidates);
    ASSERT_EQ(s->at(i).size(), ref.size());
    for (size_t j = 0; j < ref.size(); ++j) EXPECT_NEAR(s->at(i)[j], ref[j], 1e-5);
  }
  EXPECT_TRUE(s->at(2).empty());
}

TEST_F(SasrecRankerTest, OutOfRangeIndicesAreInvalidArgument) {
  SasrecRanker ranker(model_, torch::kCPU);
  std::vector<RankQuery> queries(2);
  queries[1].history = {1, 31};
  auto r = ranker.Rank(queries);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("query 1"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("31"), std::string::npos) << r.status();
  queries[1].history = {1};
  queries[0].candidates = {0};
  EXPECT_EQ(ranker.Score(queries).status().code(), StatusCode::kInvalidArgument);
  queries[0].candidates = {};
  queries[0].exclude = {-3};
  EXPECT_EQ(ranker.Rank(queries).status().code(), StatusCode::kInvalidArgument);
  queries[0].exclude = {};
  queries[0].top_k = 0;
  EXPECT_EQ(ranker.Rank(queries).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sasrecllm::model
