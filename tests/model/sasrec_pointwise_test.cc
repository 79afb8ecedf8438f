#include "model/sasrec_pointwise.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "tests/model/tiny_sasrec.h"

namespace sasrecllm::model {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

SasrecConfig TinyConfig() {
  // Dropout must not matter: scoring runs in eval mode.
  return testing::TinySasrecConfig(/*item_num=*/6, /*hidden_units=*/8, /*dropout_rate=*/0.3);
}

CollmRow Row(int64_t item, std::vector<int64_t> history) {
  CollmRow r;
  r.user_id = 1;
  r.item_id = item;
  r.label = 1;
  r.history = std::move(history);
  return r;
}

std::vector<int64_t> RowOf(const torch::Tensor& t, int64_t i) {
  torch::Tensor r = t[i].contiguous();
  return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
}

TEST(CollmHistoryBatchTest, KeepsTheLastMaxlenKnownItemsLeftPadded) {
  const SasrecConfig c = TinyConfig();
  std::vector<CollmRow> rows = {
      Row(1, {1, 2, 3, 4, 5, 6}),     // longer than maxlen: the last 4
      Row(1, {2, 3}),                 // shorter: left-padded
      Row(1, {}),                     // empty: all padding
      Row(1, {1, 9, 2, 0, 3, 4, 7}),  // 9, 0 and 7 are outside 1..6: dropped
  };
  SasrecPointwiseStats stats;
  torch::Tensor seqs = CollmHistoryBatch(rows, 0, rows.size(), c, &stats);  // [4, 4]
  ASSERT_EQ(seqs.sizes(), (std::vector<int64_t>{4, 4}));
  EXPECT_THAT(RowOf(seqs, 0), ElementsAre(3, 4, 5, 6));
  EXPECT_THAT(RowOf(seqs, 1), ElementsAre(0, 0, 2, 3));
  EXPECT_THAT(RowOf(seqs, 2), ElementsAre(0, 0, 0, 0));
  EXPECT_THAT(RowOf(seqs, 3), ElementsAre(1, 2, 3, 4));
  EXPECT_EQ(stats.unknown_history, 3);

  torch::Tensor tail = CollmHistoryBatch(rows, 1, 3, c);  // rows 1..2 only
  ASSERT_EQ(tail.size(0), 2);
  EXPECT_THAT(RowOf(tail, 0), ElementsAre(0, 0, 2, 3));
}

TEST(SasrecPointwiseScoresTest, IsTheSigmoidOfSasrecsOwnLogit) {
  torch::manual_seed(5);
  Sasrec model(TinyConfig());
  std::vector<CollmRow> rows = {Row(3, {1, 2}), Row(6, {4, 5, 6, 1, 2}), Row(2, {})};
  StatusOr<std::vector<float>> scores = SasrecPointwiseScores(model, rows, 2);
  ASSERT_TRUE(scores.ok()) << scores.status();
  ASSERT_EQ(scores->size(), 3u);

  model->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor seqs =
      torch::tensor({0, 0, 1, 2, 5, 6, 1, 2, 0, 0, 0, 0}, torch::kInt64).view({3, 4});  // [3, T]
  torch::Tensor h = model->UserRepresentation(seqs);                                    // [3, H]
  torch::Tensor e =
      model->ItemEmbeddings().index_select(0, torch::tensor({3, 6, 2}, torch::kInt64));  // [3, H]
  torch::Tensor expected = torch::sigmoid((h * e).sum(-1));                              // [3]
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_NEAR((*scores)[i], expected[i].item<float>(), 1e-6) << "row " << i;
    EXPECT_GT((*scores)[i], 0.0f);
    EXPECT_LT((*scores)[i], 1.0f);
  }
}

TEST(SasrecPointwiseScoresTest, DoesNotDependOnTheBatchSizeAndRestoresTrainingMode) {
  torch::manual_seed(6);
  Sasrec model(TinyConfig());
  model->train();
  std::vector<CollmRow> rows;
  for (int64_t i = 0; i < 11; ++i) rows.push_back(Row(1 + i % 6, {1 + (i * 5) % 6, 1 + i % 4}));
  StatusOr<std::vector<float>> one = SasrecPointwiseScores(model, rows, 1);
  StatusOr<std::vector<float>> four = SasrecPointwiseScores(model, rows, 4);
  StatusOr<std::vector<float>> all = SasrecPointwiseScores(model, rows, 64);
  ASSERT_TRUE(one.ok() && four.ok() && all.ok());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_NEAR((*one)[i], (*four)[i], 1e-6) << "row " << i;
    EXPECT_NEAR((*one)[i], (*all)[i], 1e-6) << "row " << i;
  }
  EXPECT_TRUE(model->is_training());
}

TEST(SasrecPointwiseScoresTest, UnknownCandidateItemsScoreOneHalf) {
  torch::manual_seed(7);
  Sasrec model(TinyConfig());
  std::vector<CollmRow> rows = {Row(7, {1, 2}), Row(0, {1}), Row(2, {1, 8})};
  SasrecPointwiseStats stats;
  StatusOr<std::vector<float>> scores = SasrecPointwiseScores(model, rows, 8, &stats);
  ASSERT_TRUE(scores.ok()) << scores.status();
  EXPECT_EQ((*scores)[0], 0.5f);
  EXPECT_EQ((*scores)[1], 0.5f);
  EXPECT_NE((*scores)[2], 0.5f);
  EXPECT_EQ(stats.unknown_items, 2);
  EXPECT_EQ(stats.unknown_history, 1);
}

TEST(SasrecPointwiseScoresTest, EmptyRowsGiveNoScoresAndBadBatchSizeIsAnError) {
  torch::manual_seed(8);
  Sasrec model(TinyConfig());
  StatusOr<std::vector<float>> none = SasrecPointwiseScores(model, {}, 4);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  StatusOr<std::vector<float>> bad = SasrecPointwiseScores(model, {Row(1, {})}, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("got 0"));
}

}  // namespace
}  // namespace sasrecllm::model
