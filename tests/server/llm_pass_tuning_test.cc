// LlmPassTuner: the choice rule on given timings (exact), and a real tuning
// of the tiny hybrid model, whose timings vary but whose result must keep
// the budget's contract (at least one request, never above the configured
// budget) and come from what was measured. LlmStage's use of it too.
#include "server/llm_pass_tuning.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/catalog.h"
#include "server/llm_stage.h"
#include "server/metrics.h"
#include "tests/model/hybrid/test_parts.h"

namespace sasrecllm::server {
namespace {

using ::testing::HasSubstr;

TEST(ChoosePassRequestsTest, KeepsTheFastestPerRequest) {
  EXPECT_EQ(ChoosePassRequests({{1, 1.0}, {2, 0.7}, {4, 0.8}}), 2);
  EXPECT_EQ(ChoosePassRequests({{1, 1.0}, {2, 0.7}, {4, 0.5}}), 4);
}

TEST(ChoosePassRequestsTest, OnePassWhenLargerOnesAreSlower) {
  EXPECT_EQ(ChoosePassRequests({{1, 1.0}, {2, 1.2}}), 1);
  EXPECT_EQ(ChoosePassRequests({{1, 1.0}}), 1);
}

TEST(ChoosePassRequestsTest, ALargerPassMustWinByFivePercent) {
  EXPECT_EQ(ChoosePassRequests({{1, 1.0}, {2, 0.97}}), 1);  // noise: keep the smaller
  EXPECT_EQ(ChoosePassRequests({{1, 1.0}, {2, 0.94}}), 2);
  // Compared with the best so far, not with the previous size.
  EXPECT_EQ(ChoosePassRequests({{1, 1.0}, {2, 0.9}, {4, 0.88}}), 2);
}

constexpr int64_t kItems = 30;

hybrid::RerankQuery Query(int history, int candidates) {
  hybrid::RerankQuery q;
  for (int i = 1; i <= history; ++i) {
    q.history.push_back(i);
    q.history_titles.push_back("Film " + std::to_string(i));
  }
  for (int c = 0; c < candidates; ++c) {
    q.candidates.push_back({history + 1 + c, "Film " + std::to_string(history + 1 + c)});
  }
  return q;
}

std::shared_ptr<hybrid::HybridModel> TinyModel() {
  auto model = hybrid::HybridModel::Create(hybrid::testing::TinyParts(kItems));
  EXPECT_TRUE(model.ok()) << model.status();
  return std::shared_ptr<hybrid::HybridModel>(std::move(model).value());
}

// Items 1..kItems titled "Film <i>", as Query names them.
StatusOr<model::Catalog> TinyCatalog() {
  std::vector<model::CatalogEntry> entries;
  for (int64_t i = 1; i <= kItems; ++i) {
    entries.push_back({i, "i" + std::to_string(i), "Film " + std::to_string(i)});
  }
  return model::Catalog::FromEntries(entries);
}

TEST(LlmPassTunerTest, MeasuresPowersOfTwoAndKeepsTheBudgetsContract) {
  hybrid::HybridReranker reranker(TinyModel(), {.max_batch_tokens = 100000});
  LlmPassTuner tuner({.max_requests = 4});
  auto tuning = tuner.Tune(&reranker, Query(5, 4));
  ASSERT_TRUE(tuning.ok()) << tuning.status();
  ASSERT_FALSE(tuning->measured.empty());
  for (size_t i = 0; i < tuning->measured.size(); ++i) {
    EXPECT_EQ(tuning->measured[i].requests, 1 << i);
    EXPECT_GT(tuning->measured[i].seconds_per_request, 0);
  }
  EXPECT_LE(tuning->measured.back().requests, 4);
  EXPECT_EQ(tuning->requests_per_pass, ChoosePassRequests(tuning->measured));
  EXPECT_GT(tuning->tokens_per_request, 0);
  EXPECT_GE(tuning->max_batch_tokens, tuning->tokens_per_request);
  EXPECT_LE(tuning->max_batch_tokens, 100000);
  EXPECT_THAT(tuning->Summary(), HasSubstr("per pass"));
}

TEST(LlmPassTunerTest, NeverTriesAPassTheConfiguredBudgetWouldSplit) {
  hybrid::HybridReranker probe(TinyModel(), {});
  hybrid::RerankStats stats;
  ASSERT_TRUE(probe.YesLogits({Query(5, 4)}, nullptr, &stats).ok());
  // Room for one request and a half: passes of 2 would be split, so only 1 is timed.
  hybrid::HybridReranker reranker(TinyModel(),
                                  {.max_batch_tokens = stats.budget_tokens * 3 / 2});
  auto tuning = LlmPassTuner({.max_requests = 8}).Tune(&reranker, Query(5, 4));
  ASSERT_TRUE(tuning.ok()) << tuning.status();
  ASSERT_EQ(tuning->measured.size(), 1u);
  EXPECT_EQ(tuning->requests_per_pass, 1);
  EXPECT_EQ(tuning->tokens_per_request, stats.budget_tokens);
  EXPECT_LE(tuning->max_batch_tokens, stats.budget_tokens * 3 / 2);
}

TEST(LlmPassTunerTest, LlmStageServesWithTheTunedBudget) {
  auto catalog = TinyCatalog();
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  Metrics metrics({"test", "cpu", "float32"});
  LlmStage stage(TinyModel(), {.max_batch_tokens = 100000}, &*catalog, &metrics, nullptr,
                 {.enabled = true, .max_requests = 2, .candidates = 4, .history = 5});
  EXPECT_FALSE(stage.pass_tuning().has_value());
  ASSERT_TRUE(stage.Warmup().ok());
  auto tuning = stage.pass_tuning();
  ASSERT_TRUE(tuning.has_value());
  EXPECT_EQ(stage.options().max_batch_tokens, tuning->max_batch_tokens);
  EXPECT_LE(stage.options().max_batch_tokens, 100000);
  // Passes of 1 (or 2 when not still improving at 2): batches of that many.
  const int largest = tuning->measured.back().requests;
  if (tuning->requests_per_pass == 2 && largest == 2) {
    EXPECT_EQ(stage.BatchSizeLimit(), 0);
  } else {
    EXPECT_EQ(stage.BatchSizeLimit(), tuning->requests_per_pass);
  }
}

TEST(LlmPassTunerTest, LlmStageWithoutTuningKeepsTheConfiguredBudget) {
  auto catalog = TinyCatalog();
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  Metrics metrics({"test", "cpu", "float32"});
  LlmStage stage(TinyModel(), {.max_batch_tokens = 1234}, &*catalog, &metrics);
  ASSERT_TRUE(stage.Warmup().ok());
  EXPECT_FALSE(stage.pass_tuning().has_value());
  EXPECT_EQ(stage.options().max_batch_tokens, 1234);
  EXPECT_EQ(stage.BatchSizeLimit(), 0);
}

}  // namespace
}  // namespace sasrecllm::server
