// ScoreFusion: the logistic regression that fits a late fusion recovers the
// weights that generated the labels, weighs a useless score near zero, says
// so through its cross-validated AUC, and refuses what it cannot fit.
#include "model/hybrid/score_fusion.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace sasrecllm::hybrid {
namespace {

struct Rows {
  std::vector<float> yes, sasrec;
  std::vector<int> labels;
  std::vector<int64_t> users;
};

// Labels drawn from sigmoid(a * yes + b * sasrec + c), the two scores
// independent standard normals, 40 rows per user.
Rows Generated(double a, double b, double c, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform;
  Rows rows;
  for (int64_t i = 0; i < n; ++i) {
    const double x = normal(rng), z = normal(rng);
    const double p = 1.0 / (1.0 + std::exp(-(a * x + b * z + c)));
    rows.yes.push_back(static_cast<float>(x));
    rows.sasrec.push_back(static_cast<float>(z));
    rows.labels.push_back(uniform(rng) < p ? 1 : 0);
    rows.users.push_back(i / 40);
  }
  return rows;
}

TEST(ScoreFusionTest, FitRecoversTheWeightsThatGeneratedTheLabels) {
  const Rows rows = Generated(0.5, 1.5, -0.3, 40000, 7);
  auto fit = FitScoreFusion(rows.yes, rows.sasrec, rows.labels, rows.users);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_NEAR(fit->fusion.llm_weight, 0.5, 0.05);
  EXPECT_NEAR(fit->fusion.sasrec_weight, 1.5, 0.08);
  EXPECT_NEAR(fit->fusion.bias, -0.3, 0.05);
  // Both scores carry signal: the fusion beats either alone, in sample and
  // across users.
  EXPECT_GT(fit->fused_auc, fit->sasrec_auc + 0.01);
  EXPECT_GT(fit->sasrec_auc, fit->llm_auc);
  EXPECT_GT(fit->cross_validated_auc, fit->sasrec_auc + 0.01);
  EXPECT_LE(fit->iterations, 20);
}

TEST(ScoreFusionTest, AUselessScoreGetsNoWeightAndNoCrossValidatedGain) {
  const Rows rows = Generated(0.0, 1.0, 0.0, 20000, 8);
  auto fit = FitScoreFusion(rows.yes, rows.sasrec, rows.labels, rows.users);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_NEAR(fit->fusion.llm_weight, 0.0, 0.05);
  EXPECT_NEAR(fit->llm_auc, 0.5, 0.02);
  EXPECT_LT(fit->cross_validated_auc, fit->sasrec_auc + 0.002);
}

TEST(ScoreFusionTest, ApplyAndJsonAgree) {
  const ScoreFusion fusion{0.25, 1.5, -0.5};
  EXPECT_FLOAT_EQ(fusion.Apply(2.0f, 1.0f), 0.25f * 2.0f + 1.5f - 0.5f);
  EXPECT_TRUE(fusion.uses_sasrec());
  EXPECT_FALSE(fusion.is_identity());
  EXPECT_TRUE(ScoreFusion().is_identity());
  EXPECT_FLOAT_EQ(ScoreFusion().Apply(3.0f, 100.0f), 3.0f);

  auto back = ScoreFusion::FromJson(fusion.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->llm_weight, 0.25);
  EXPECT_EQ(back->sasrec_weight, 1.5);
  EXPECT_EQ(back->bias, -0.5);
  Json missing = fusion.ToJson();
  missing.erase("bias");
  auto bad = ScoreFusion::FromJson(missing);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bias"), std::string::npos) << bad.status();
}

TEST(ScoreFusionTest, RefusesWhatItCannotFit) {
  const Rows rows = Generated(1.0, 1.0, 0.0, 200, 9);
  std::vector<float> short_yes(rows.yes.begin(), rows.yes.end() - 1);
  EXPECT_EQ(FitScoreFusion(short_yes, rows.sasrec, rows.labels, rows.users).status().code(),
            StatusCode::kInvalidArgument);
  std::vector<int> all_positive(rows.labels.size(), 1);
  EXPECT_EQ(FitScoreFusion(rows.yes, rows.sasrec, all_positive, rows.users).status().code(),
            StatusCode::kInvalidArgument);
  std::vector<float> with_nan = rows.yes;
  with_nan[3] = NAN;
  EXPECT_EQ(FitScoreFusion(with_nan, rows.sasrec, rows.labels, rows.users).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(FitScoreFusion(rows.yes, rows.sasrec, rows.labels, rows.users, 1).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sasrecllm::hybrid
