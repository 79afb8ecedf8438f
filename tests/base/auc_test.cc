#include "base/auc.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace sasrecllm {
namespace {

using ::testing::HasSubstr;

// The definition: over all (positive, negative) pairs, 1 when the positive
// scores higher, 1/2 on a tie. O(n^2).
double BruteForceAuc(const std::vector<float>& scores, const std::vector<int>& labels) {
  double wins = 0.0;
  int64_t pairs = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (labels[i] == 0) continue;
    for (size_t j = 0; j < scores.size(); ++j) {
      if (labels[j] != 0) continue;
      ++pairs;
      if (scores[i] > scores[j]) wins += 1.0;
      if (scores[i] == scores[j]) wins += 0.5;
    }
  }
  return pairs == 0 ? NAN : wins / static_cast<double>(pairs);
}

// Random scores on a coarse grid (many ties) and random labels.
void RandomData(uint64_t seed, size_t n, int num_users, std::vector<float>* scores,
                std::vector<int>* labels, std::vector<int64_t>* users) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> grid(0, 20);
  std::uniform_int_distribution<int> user(1, num_users);
  std::bernoulli_distribution positive(0.4);
  for (size_t i = 0; i < n; ++i) {
    const int label = positive(rng) ? 1 : 0;
    // Positives lean higher so that the AUC is away from 0.5.
    scores->push_back(static_cast<float>(grid(rng) + 3 * label) / 20.0f);
    labels->push_back(label);
    users->push_back(user(rng));
  }
}

CollmRow Row(int64_t user, int label, bool warm) {
  CollmRow r;
  r.user_id = user;
  r.item_id = 1;
  r.label = label;
  r.warm = warm;
  return r;
}

TEST(AucTest, PerfectAndReversedOrderingsGiveOneAndZero) {
  EXPECT_DOUBLE_EQ(Auc({0.1f, 0.2f, 0.8f, 0.9f}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(Auc({0.9f, 0.8f, 0.2f, 0.1f}, {0, 0, 1, 1}), 0.0);
}

TEST(AucTest, MatchesAHandCountedExample) {
  // Pairs (pos, neg): 0.35 > 0.1, 0.35 < 0.4, 0.8 > both: 3 of 4.
  EXPECT_DOUBLE_EQ(Auc({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}), 0.75);
}

TEST(AucTest, TiedPairsCountHalf) {
  // pos 0.5 vs neg 0.2: 1; pos 0.5 vs neg 0.5: 1/2; pos 0.9 vs both: 2 -> 3.5 / 4.
  EXPECT_DOUBLE_EQ(Auc({0.2f, 0.5f, 0.5f, 0.9f}, {0, 1, 0, 1}), 0.875);
  // Every score equal: every pair ties.
  EXPECT_DOUBLE_EQ(Auc({0.5f, 0.5f, 0.5f, 0.5f, 0.5f}, {0, 1, 0, 1, 1}), 0.5);
  // A tie group spanning positives and negatives in the middle of the order:
  // neg 0.1, {pos 0.3, pos 0.3, neg 0.3}, pos 0.7, neg 0.9.
  // pos 0.3 (x2): beats 0.1, ties 0.3, loses to 0.9 -> 1.5 each; pos 0.7: beats 0.1, 0.3 -> 2.
  // (1.5 + 1.5 + 2) / (3 * 3) = 5 / 9.
  EXPECT_DOUBLE_EQ(Auc({0.1f, 0.3f, 0.3f, 0.3f, 0.7f, 0.9f}, {0, 1, 1, 0, 1, 0}), 5.0 / 9.0);
}

TEST(AucTest, IsNanWhenAClassIsAbsentOrSizesDiffer) {
  EXPECT_TRUE(std::isnan(Auc({0.1f, 0.2f}, {1, 1})));
  EXPECT_TRUE(std::isnan(Auc({0.1f, 0.2f}, {0, 0})));
  EXPECT_TRUE(std::isnan(Auc({}, {})));
  EXPECT_TRUE(std::isnan(Auc({0.1f, 0.2f}, {0, 1, 1})));
}

TEST(AucTest, NanScoresRankBelowEveryNumber) {
  // The NaN negative loses to both positives; the NaN positive loses to 0.2 and
  // ties with the NaN negative: (1 + 1 + 0 + 0.5) / 4.
  EXPECT_DOUBLE_EQ(Auc({NAN, 0.2f, 0.5f, NAN}, {0, 0, 1, 1}), 2.5 / 4.0);
}

TEST(AucTest, AgreesWithBruteForcePairCountOnRandomData) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    std::vector<float> scores;
    std::vector<int> labels;
    std::vector<int64_t> users;
    RandomData(seed, 700, 30, &scores, &labels, &users);
    const double expected = BruteForceAuc(scores, labels);
    EXPECT_NEAR(Auc(scores, labels), expected, 1e-12) << "seed " << seed;
    EXPECT_GT(expected, 0.6) << "seed " << seed;  // the data leans as planted
  }
}

TEST(UaucTest, AveragesPerUserAucSkippingSingleClassUsers) {
  // User 7: 0.75 (the hand-counted example); user 3: only positives (skipped);
  // user 5: 0.0; user 9: only negatives (skipped).
  std::vector<float> scores = {0.1f, 0.4f, 0.35f, 0.8f, 0.9f, 0.2f, 0.6f, 0.3f, 0.3f};
  std::vector<int> labels = {0, 0, 1, 1, 1, 1, 0, 0, 0};
  std::vector<int64_t> users = {7, 7, 7, 7, 3, 3, 5, 5, 9};
  // User 5's rows: 0.6 (neg), 0.3 (neg) and the positive below:
  scores.push_back(0.05f);
  labels.push_back(1);
  users.push_back(5);
  UaucResult r = Uauc(scores, labels, users);
  EXPECT_EQ(r.users, 2);
  EXPECT_DOUBLE_EQ(r.uauc, (0.75 + 0.0) / 2);
}

TEST(UaucTest, IsNanWithNoUserHavingBothLabels) {
  UaucResult r = Uauc({0.1f, 0.2f, 0.3f}, {1, 0, 1}, {1, 2, 3});
  EXPECT_EQ(r.users, 0);
  EXPECT_TRUE(std::isnan(r.uauc));
  UaucResult mismatch = Uauc({0.1f, 0.2f}, {1, 0}, {1});
  EXPECT_EQ(mismatch.users, 0);
  EXPECT_TRUE(std::isnan(mismatch.uauc));
}

TEST(UaucTest, AgreesWithPerUserBruteForceOnRandomData) {
  std::vector<float> scores;
  std::vector<int> labels;
  std::vector<int64_t> users;
  RandomData(/*seed=*/11, 900, 40, &scores, &labels, &users);
  std::map<int64_t, std::pair<std::vector<float>, std::vector<int>>> by_user;
  for (size_t i = 0; i < scores.size(); ++i) {
    by_user[users[i]].first.push_back(scores[i]);
    by_user[users[i]].second.push_back(labels[i]);
  }
  double sum = 0.0;
  int64_t counted = 0;
  for (const auto& [user, data] : by_user) {
    const double auc = BruteForceAuc(data.first, data.second);
    if (std::isnan(auc)) continue;
    sum += auc;
    ++counted;
  }
  UaucResult r = Uauc(scores, labels, users);
  EXPECT_EQ(r.users, counted);
  EXPECT_NEAR(r.uauc, sum / counted, 1e-12);
}

TEST(EvaluatePointwiseTest, ReportsAllWarmAndColdSubsets) {
  // Warm rows: users 1, 2 with both labels; cold rows: user 3, one class only.
  std::vector<CollmRow> rows = {Row(1, 1, true), Row(1, 0, true),  Row(2, 0, true),
                                Row(2, 1, true), Row(3, 1, false), Row(3, 1, false)};
  std::vector<float> scores = {0.9f, 0.1f, 0.8f, 0.2f, 0.7f, 0.3f};
  StatusOr<PointwiseReport> report = EvaluatePointwise(scores, rows);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->all.rows, 6);
  EXPECT_EQ(report->warm.rows, 4);
  EXPECT_EQ(report->cold.rows, 2);
  EXPECT_DOUBLE_EQ(report->warm.auc, Auc({0.9f, 0.1f, 0.8f, 0.2f}, {1, 0, 0, 1}));
  EXPECT_DOUBLE_EQ(report->warm.uauc, 0.5);  // user 1: 1, user 2: 0
  EXPECT_EQ(report->warm.uauc_users, 2);
  EXPECT_DOUBLE_EQ(report->all.auc, Auc(scores, {1, 0, 0, 1, 1, 1}));
  EXPECT_EQ(report->all.uauc_users, 2);
  EXPECT_TRUE(std::isnan(report->cold.auc));  // no negative among cold rows
  EXPECT_EQ(report->cold.uauc_users, 0);

  Json j = report->ToJson();
  EXPECT_EQ(j["warm"]["rows"].get<int64_t>(), 4);
  EXPECT_DOUBLE_EQ(j["warm"]["uauc"].get<double>(), 0.5);
  EXPECT_TRUE(j["cold"]["auc"].is_null());
  const std::string text = report->ToString();
  EXPECT_THAT(text, HasSubstr("warm  AUC "));
  EXPECT_THAT(text, HasSubstr("(2 rows, 0 users with both labels)"));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
}

TEST(EvaluatePointwiseTest, SizeMismatchIsInvalidArgumentNamingBothSizes) {
  StatusOr<PointwiseReport> report = EvaluatePointwise({0.5f, 0.5f}, {Row(1, 1, true)});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("2 scores for 1 rows"));
}

// From the client's former copy: string user ids, the compact JSON with extra
// members, and JsonNumber.
TEST(AucTest, CountsOrderedPairs) {
  EXPECT_DOUBLE_EQ(Auc({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}), 0.75);
  EXPECT_DOUBLE_EQ(Auc({0.1f, 0.2f, 0.3f}, {0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(Auc({0.3f, 0.2f, 0.1f}, {0, 1, 1}), 0.0);
}

TEST(EvaluatePointwiseTest, SplitsWarmAndColdRowsAndGroupsStringUsersById) {
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

TEST(EvaluatePointwiseTest, StringAndIntegerUserIdsGiveTheSameReport) {
  std::vector<float> scores;
  std::vector<int> labels;
  std::vector<int64_t> users;
  RandomData(7, 300, 12, &scores, &labels, &users);
  std::vector<CollmRow> rows;
  std::vector<PointwiseRow> string_rows;
  for (size_t i = 0; i < scores.size(); ++i) {
    CollmRow row = Row(users[i], labels[i], i % 3 != 0);
    string_rows.push_back({std::to_string(users[i]), labels[i], row.warm, scores[i]});
    rows.push_back(std::move(row));
  }
  StatusOr<PointwiseReport> a = EvaluatePointwise(scores, rows);
  ASSERT_TRUE(a.ok()) << a.status();
  const PointwiseReport b = EvaluatePointwise(string_rows);
  EXPECT_NEAR(a->all.uauc, b.all.uauc, 1e-12);
  EXPECT_NEAR(a->warm.auc, b.warm.auc, 1e-12);
  EXPECT_NEAR(a->cold.uauc, b.cold.uauc, 1e-12);
  EXPECT_EQ(a->all.uauc_users, b.all.uauc_users);
}

TEST(PointwiseReportTest, WritesTheOfflineToolsKeysAndLines) {
  PointwiseReport r;
  r.all = {0.75, 0.5, 10, 3};
  r.warm = {1.0, NAN, 4, 0};
  r.cold = {0.25, 0.125, 6, 2};
  EXPECT_EQ(r.DumpJson({{"split", "\"test\""}}),
            "{\"all\":{\"auc\":0.75,\"uauc\":0.5,\"rows\":10,\"uauc_users\":3},"
            "\"warm\":{\"auc\":1.0,\"uauc\":null,\"rows\":4,\"uauc_users\":0},"
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
}  // namespace sasrecllm
