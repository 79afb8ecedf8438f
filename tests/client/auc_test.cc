#include "client/auc.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sasrecllm::client {
namespace {

// The definition itself: the share of (positive, negative) pairs ordered
// right, ties counting half. O(n^2), for checking the O(n log n) version.
double PairwiseAuc(const std::vector<float>& scores, const std::vector<int>& labels) {
  double wins = 0;
  int64_t pairs = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (labels[i] == 0) continue;
    for (size_t j = 0; j < scores.size(); ++j) {
      if (labels[j] != 0) continue;
      ++pairs;
      if (scores[i] > scores[j]) wins += 1;
      if (scores[i] == scores[j]) wins += 0.5;
    }
  }
  return pairs == 0 ? NAN : wins / static_cast<double>(pairs);
}

TEST(AucTest, CountsOrderedPairs) {
  EXPECT_DOUBLE_EQ(Auc({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}), 0.75);
  EXPECT_DOUBLE_EQ(Auc({0.1f, 0.2f, 0.3f}, {0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(Auc({0.3f, 0.2f, 0.1f}, {0, 1, 1}), 0.0);
}

TEST(AucTest, TiedPairsCountHalf) {
  EXPECT_DOUBLE_EQ(Auc({0.5f, 0.5f, 0.2f, 0.9f}, {1, 0, 0, 1}), 3.5 / 4);
  EXPECT_DOUBLE_EQ(Auc({0.5f, 0.5f, 0.5f}, {1, 0, 1}), 0.5);
}

TEST(AucTest, IsNanWithoutBothClassesOrWithMismatchedSizes) {
  EXPECT_TRUE(std::isnan(Auc({0.1f, 0.2f}, {1, 1})));
  EXPECT_TRUE(std::isnan(Auc({}, {})));
  EXPECT_TRUE(std::isnan(Auc({0.1f, 0.2f}, {1})));
}

TEST(AucTest, NanScoresRankBelowEveryNumber) {
  EXPECT_DOUBLE_EQ(Auc({NAN, 0.1f}, {1, 0}), 0.0);
  EXPECT_DOUBLE_EQ(Auc({NAN, -1e30f}, {0, 1}), 1.0);
}

TEST(AucTest, MatchesThePairwiseDefinitionOnRandomTiedScores) {
  const uint64_t seed = 20240601;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> level(0, 20);  // few distinct scores: many ties
  std::bernoulli_distribution positive(0.4);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<float> scores(200);
    std::vector<int> labels(200);
    for (size_t i = 0; i < scores.size(); ++i) {
      scores[i] = static_cast<float>(level(rng)) / 20.0f;
      labels[i] = positive(rng) ? 1 : 0;
    }
    EXPECT_NEAR(Auc(scores, labels), PairwiseAuc(scores, labels), 1e-12) << "seed " << seed;
  }
}

TEST(UaucTest, AveragesUsersWithBothLabelsAndSkipsTheOthers) {
  // User 7: AUC 1. User 3: AUC 0. User 5: positives only, skipped.
  const std::vector<float> scores = {0.9f, 0.1f, 0.2f, 0.8f, 0.5f, 0.6f};
  const std::vector<int> labels = {1, 0, 1, 0, 1, 1};
  const std::vector<int64_t> users = {7, 7, 3, 3, 5, 5};
  const UaucResult r = Uauc(scores, labels, users);
  EXPECT_EQ(r.users, 2);
  EXPECT_DOUBLE_EQ(r.uauc, 0.5);
}

TEST(UaucTest, IsNanWhenNoUserHasBothLabels) {
  const UaucResult r = Uauc({0.1f, 0.2f}, {1, 0}, {1, 2});
  EXPECT_EQ(r.users, 0);
  EXPECT_TRUE(std::isnan(r.uauc));
}

TEST(EvaluatePointwiseTest, SplitsWarmAndColdRowsAndGroupsUsersById) {
  const std::vector<PointwiseRow> rows = {
      {"u1", 1, true, 0.9f},  {"u1", 0, true, 0.2f},  {"u2", 1, true, 0.1f},  {"u2", 0, true, 0.3f},
      {"u1", 1, false, 0.4f}, {"u1", 0, false, 0.6f}, {"u3", 1, false, 0.7f},
  };
  const PointwiseReport r = EvaluatePointwise(rows);
  EXPECT_EQ(r.all.rows, 7);
  EXPECT_EQ(r.warm.rows, 4);
  EXPECT_EQ(r.cold.rows, 3);
  EXPECT_DOUBLE_EQ(r.warm.auc, 0.5);   // 0.9 > 0.2, 0.3; 0.1 < both
  EXPECT_DOUBLE_EQ(r.warm.uauc, 0.5);  // u1: 1, u2: 0
  EXPECT_EQ(r.warm.uauc_users, 2);
  EXPECT_DOUBLE_EQ(r.cold.auc, 0.5);   // 0.7 > 0.6, 0.4 < 0.6
  EXPECT_DOUBLE_EQ(r.cold.uauc, 0.0);  // u1 only; u3 has no negative
  EXPECT_EQ(r.cold.uauc_users, 1);
  // All rows: u1 has 4 rows (AUC 3/4), u2 has 2 (AUC 0).
  EXPECT_EQ(r.all.uauc_users, 2);
  EXPECT_DOUBLE_EQ(r.all.uauc, 0.375);
}

TEST(PointwiseReportTest, WritesTheOfflineToolsKeysAndLines) {
  PointwiseReport r;
  r.all = {0.75, 0.5, 10, 3};
  r.warm = {1.0, NAN, 4, 0};
  r.cold = {0.25, 0.125, 6, 2};
  EXPECT_EQ(r.ToJson({{"split", "\"test\""}}),
            "{\"all\":{\"auc\":0.75,\"uauc\":0.5,\"rows\":10,\"uauc_users\":3},"
            "\"warm\":{\"auc\":1,\"uauc\":null,\"rows\":4,\"uauc_users\":0},"
            "\"cold\":{\"auc\":0.25,\"uauc\":0.125,\"rows\":6,\"uauc_users\":2},"
            "\"split\":\"test\"}");
  EXPECT_EQ(r.ToString(),
            "all   AUC 0.7500  UAUC 0.5000  (10 rows, 3 users with both labels)\n"
            "warm  AUC 1.0000  UAUC nan  (4 rows, 0 users with both labels)\n"
            "cold  AUC 0.2500  UAUC 0.1250  (6 rows, 2 users with both labels)\n");
}

TEST(JsonNumberTest, RoundTripsAndWritesNullForNonFinite) {
  EXPECT_EQ(JsonNumber(0.1), "0.1");
  EXPECT_EQ(std::strtod(JsonNumber(0.7078123456789012).c_str(), nullptr), 0.7078123456789012);
  EXPECT_EQ(JsonNumber(NAN), "null");
  EXPECT_EQ(JsonNumber(INFINITY), "null");
}

}  // namespace
}  // namespace sasrecllm::client
