// HybridReranker: prefix-shared scoring equals unshared scoring and
// HybridModel::YesLogits; batching, budgets and skipping change nothing but
// the work done.
#include "model/hybrid/hybrid_reranker.h"

#include <gtest/gtest.h>

#include "tests/model/hybrid/test_parts.h"

namespace sasrecllm::hybrid {
namespace {

using testing::PlantedExamples;
using testing::TextOnlyParts;
using testing::TinyParts;

constexpr int64_t kItems = 20;

std::shared_ptr<HybridModel> TinyModel() {
  auto model = HybridModel::Create(TinyParts(kItems));
  return model.ok() ? std::shared_ptr<HybridModel>(std::move(model).value()) : nullptr;
}

// Four users: histories of 5, 0 and 2 items and one long one; 1 to 6
// candidates each, one of them cold (index 0, title only).
std::vector<RerankQuery> MixedQueries() {
  std::vector<HybridExample> examples = PlantedExamples(4, kItems, 11);
  std::vector<RerankQuery> queries;
  const int candidate_counts[] = {3, 6, 1, 4};
  for (int q = 0; q < 4; ++q) {
    RerankQuery query;
    query.history = examples[q].history;
    query.history_titles = examples[q].history_titles;
    for (int c = 0; c < candidate_counts[q]; ++c) {
      const int64_t item = 1 + (q * 7 + c * 3) % kItems;
      query.candidates.push_back({item, (item % 2 ? "Odd " : "Even ") + std::to_string(item)});
    }
    queries.push_back(std::move(query));
  }
  queries[1].history.clear();  // an empty history
  queries[1].history_titles.clear();
  queries[1].candidates[2] = {0, "A film nobody rated"};  // a cold candidate
  for (int64_t i = 1; i <= 12; ++i) {                     // a long history
    queries[3].history.push_back(i);
    queries[3].history_titles.push_back("Long title number " + std::to_string(i));
  }
  return queries;
}

std::vector<std::vector<float>> Score(const std::shared_ptr<HybridModel>& model,
                                      const std::vector<RerankQuery>& queries,
                                      RerankOptions options, RerankStats* stats = nullptr) {
  HybridReranker reranker(model, options);
  auto logits = reranker.YesLogits(queries, nullptr, stats);
  EXPECT_TRUE(logits.ok()) << logits.status();
  return logits.ok() ? *logits : std::vector<std::vector<float>>();
}

void ExpectSame(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b,
                const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t q = 0; q < a.size(); ++q) {
    ASSERT_EQ(a[q].size(), b[q].size()) << what << " query " << q;
    for (size_t c = 0; c < a[q].size(); ++c) {
      EXPECT_NEAR(a[q][c], b[q][c], 1e-5) << what << " query " << q << " candidate " << c;
    }
  }
}

// The training scorer's example of candidate c of `query`.
HybridExample ExampleOf(const RerankQuery& query, size_t c) {
  HybridExample e;
  e.history = query.history;
  e.history_titles = query.history_titles;
  e.target = query.candidates[c].item;
  e.target_title = query.candidates[c].title;
  return e;
}

// `logits` are what the scorer training and eval-hybrid use
// (HybridModel::YesLogits) gives, one pair at a time.
void ExpectTheTrainingScorersLogits(HybridModel& model, const std::vector<RerankQuery>& queries,
                                    const std::vector<std::vector<float>>& logits) {
  ASSERT_EQ(logits.size(), queries.size());
  for (size_t q = 0; q < queries.size(); ++q) {
    for (size_t c = 0; c < queries[q].candidates.size(); ++c) {
      auto alone = model.YesLogits({ExampleOf(queries[q], c)}, /*train=*/false);
      ASSERT_TRUE(alone.ok()) << alone.status();
      EXPECT_NEAR(logits[q][c], (*alone)[0].item<float>(), 1e-5) << q << "/" << c;
    }
  }
}

TEST(HybridRerankerTest, PrefixSharedScoringEqualsUnsharedAndTheTrainingScorer) {
  std::shared_ptr<HybridModel> model = TinyModel();
  ASSERT_NE(model, nullptr);
  const std::vector<RerankQuery> queries = MixedQueries();
  RerankStats shared_stats, unshared_stats;
  auto shared = Score(model, queries, {.share_prefix = true}, &shared_stats);
  auto unshared = Score(model, queries, {.share_prefix = false}, &unshared_stats);
  ExpectSame(shared, unshared, "shared vs unshared");
  ExpectTheTrainingScorersLogits(*model, queries, shared);
  // The same tokens are scored; sharing ran each prefix once.
  EXPECT_GT(shared_stats.reused_tokens, 0);
  EXPECT_EQ(unshared_stats.reused_tokens, 0);
  EXPECT_EQ(shared_stats.prefill_tokens + shared_stats.reused_tokens,
            unshared_stats.prefill_tokens);
}

TEST(HybridRerankerTest, HistoryItemSlotsScoreAsInTraining) {
  HybridModel::Parts parts = TinyParts(kItems);
  parts.prompt_template = PromptTemplate::CollmMovieHistoryIds();
  parts.max_history_ids = 4;  // the long history shows only its last four
  auto created = HybridModel::Create(std::move(parts));
  ASSERT_TRUE(created.ok()) << created.status();
  std::shared_ptr<HybridModel> model = std::move(created).value();
  std::vector<RerankQuery> queries = MixedQueries();
  // A server lists titles of items SASRec does not know: more titles than
  // history items; the slots follow the history.
  queries[2].history_titles.push_back("A cold item's title");
  auto shared = Score(model, queries, {.share_prefix = true});
  auto unshared = Score(model, queries, {.share_prefix = false});
  ExpectSame(shared, unshared, "shared vs unshared");
  ExpectTheTrainingScorersLogits(*model, queries, shared);
}

TEST(HybridRerankerTest, MixedLongAndShortHistoriesTogetherEqualOneAtATime) {
  std::shared_ptr<HybridModel> model = TinyModel();
  ASSERT_NE(model, nullptr);
  const std::vector<RerankQuery> queries = MixedQueries();
  RerankStats stats;
  auto together = Score(model, queries, {.share_prefix = true, .max_batch_tokens = 1 << 20}, &stats);
  EXPECT_EQ(stats.forward_passes, 1);  // all four users in one batch
  std::vector<std::vector<float>> alone;
  for (const RerankQuery& q : queries) alone.push_back(Score(model, {q}, {})[0]);
  ExpectSame(together, alone, "together vs alone");
}

// A cache holding some of the candidates' titles (the cold one's not) gives
// the same logits, bit for bit, and the same work.
TEST(HybridRerankerTest, APromptCacheChangesNothingButTheTokenizing) {
  std::shared_ptr<HybridModel> model = TinyModel();
  ASSERT_NE(model, nullptr);
  const std::vector<RerankQuery> queries = MixedQueries();
  std::vector<std::string> titles;
  for (const RerankQuery& q : queries) {
    for (const RerankCandidate& c : q.candidates) {
      if (c.item != 0) titles.push_back(c.title);
    }
  }
  auto cache = PromptCache::Build(&model->prompt_builder(), titles);
  ASSERT_TRUE(cache.ok()) << cache.status();
  ASSERT_GT((*cache)->suffixes(), 1u);
  for (bool share : {true, false}) {
    RerankStats plain_stats, cached_stats;
    auto plain = Score(model, queries, {.share_prefix = share}, &plain_stats);
    HybridReranker reranker(model, {.share_prefix = share}, *cache);
    auto cached = reranker.YesLogits(queries, nullptr, &cached_stats);
    ASSERT_TRUE(cached.ok()) << cached.status();
    EXPECT_EQ(*cached, plain) << "share_prefix " << share;
    EXPECT_EQ(cached_stats.prefill_tokens, plain_stats.prefill_tokens);
    EXPECT_EQ(cached_stats.budget_tokens, plain_stats.budget_tokens);
  }
}

// The empty-history prefix run once: users without history get the same
// logits, their prefix is never prefilled again, and the others' work is
// unchanged. The copy made by WithOptions keeps it.
TEST(HybridRerankerTest, APrecomputedEmptyPrefixIsReusedNotRecomputed) {
  std::shared_ptr<HybridModel> model = TinyModel();
  ASSERT_NE(model, nullptr);
  const std::vector<RerankQuery> queries = MixedQueries();  // query 1 has no history
  ASSERT_TRUE(queries[1].history.empty() && queries[1].history_titles.empty());
  HybridReranker reranker(model, {});
  ASSERT_TRUE(reranker.PrecomputeEmptyPrefix().ok());
  ASSERT_TRUE(reranker.has_empty_prefix());
  const int64_t empty_prefix =
      static_cast<int64_t>(model->prompt_builder().BuildPrefix({})->ids.size());
  ASSERT_GT(empty_prefix, 0);
  std::vector<std::vector<float>> plain;
  for (const RerankOptions& options : {RerankOptions{}, RerankOptions{.max_batch_tokens = 300}}) {
    RerankStats plain_stats, stats;
    plain = Score(model, queries, options, &plain_stats);
    HybridReranker r = reranker.WithOptions(options);
    ASSERT_TRUE(r.has_empty_prefix());
    auto logits = r.YesLogits(queries, nullptr, &stats);
    ASSERT_TRUE(logits.ok()) << logits.status();
    ExpectSame(*logits, plain, "budget " + std::to_string(options.max_batch_tokens));
    // The same tokens scored; query 1's prefix (once per piece of it) moved
    // from prefilled to reused.
    EXPECT_EQ(stats.prefill_tokens + stats.reused_tokens,
              plain_stats.prefill_tokens + plain_stats.reused_tokens);
    const int64_t saved = plain_stats.prefill_tokens - stats.prefill_tokens;
    EXPECT_GT(saved, 0);
    EXPECT_EQ(saved % empty_prefix, 0) << saved;
  }
  // Only users without history: one pass, no prefill of any prefix.
  RerankQuery cold = queries[1];
  RerankStats cold_stats;
  auto cold_logits = reranker.YesLogits({cold, cold}, nullptr, &cold_stats);
  ASSERT_TRUE(cold_logits.ok()) << cold_logits.status();
  ExpectSame(*cold_logits, {plain[1], plain[1]}, "two users without history");
  int64_t suffix_tokens = 0;
  for (const RerankCandidate& c : cold.candidates) {
    suffix_tokens += static_cast<int64_t>(model->prompt_builder().BuildSuffix(c.title)->ids.size());
  }
  EXPECT_EQ(cold_stats.prefill_tokens, 2 * suffix_tokens);
  EXPECT_EQ(cold_stats.forward_passes, 1);
}

TEST(HybridRerankerTest, ATightTokenBudgetSplitsTheWorkButNotTheResult) {
  std::shared_ptr<HybridModel> model = TinyModel();
  ASSERT_NE(model, nullptr);
  const std::vector<RerankQuery> queries = MixedQueries();
  auto roomy = Score(model, queries, {.share_prefix = true, .max_batch_tokens = 1 << 20});
  for (int64_t budget : {1, 300, 700}) {
    RerankStats stats;
    auto tight = Score(model, queries, {.share_prefix = true, .max_batch_tokens = budget}, &stats);
    ExpectSame(roomy, tight, "budget " + std::to_string(budget));
    EXPECT_GT(stats.forward_passes, 1) << budget;
    auto unshared = Score(model, queries, {.share_prefix = false, .max_batch_tokens = budget});
    ExpectSame(roomy, unshared, "unshared, budget " + std::to_string(budget));
  }
}

// budget_tokens counts what max_batch_tokens bounds: two copies of a query
// fit one pass exactly when the budget holds twice the query's tokens.
TEST(HybridRerankerTest, BudgetTokensAreWhatTheBudgetCounts) {
  std::shared_ptr<HybridModel> model = TinyModel();
  ASSERT_NE(model, nullptr);
  for (bool share : {true, false}) {
    const RerankQuery query = MixedQueries()[0];
    RerankStats one;
    Score(model, {query}, {.share_prefix = share, .max_batch_tokens = 1 << 20}, &one);
    ASSERT_EQ(one.forward_passes, 1);
    ASSERT_GT(one.budget_tokens, 0);
    RerankStats fits, split;
    Score(model, {query, query}, {.share_prefix = share, .max_batch_tokens = 2 * one.budget_tokens},
          &fits);
    EXPECT_EQ(fits.forward_passes, 1) << share;
    EXPECT_EQ(fits.budget_tokens, 2 * one.budget_tokens) << share;
    Score(model, {query, query},
          {.share_prefix = share, .max_batch_tokens = 2 * one.budget_tokens - 1}, &split);
    EXPECT_GT(split.forward_passes, 1) << share;
    EXPECT_LE(split.budget_tokens, 2 * one.budget_tokens) << share;
  }
}

TEST(HybridRerankerTest, SkippedQueriesAreNotComputed) {
  std::shared_ptr<HybridModel> model = TinyModel();
  ASSERT_NE(model, nullptr);
  const std::vector<RerankQuery> queries = MixedQueries();
  for (bool share : {true, false}) {
    RerankStats all_stats, stats;
    auto all = Score(model, queries, {.share_prefix = share}, &all_stats);
    HybridReranker reranker(model, {.share_prefix = share});
    auto logits = reranker.YesLogits(queries, [](size_t q) { return q == 1; }, &stats);
    ASSERT_TRUE(logits.ok()) << logits.status();
    EXPECT_TRUE((*logits)[1].empty());
    EXPECT_EQ(stats.skipped_queries, 1);
    EXPECT_LT(stats.prefill_tokens, all_stats.prefill_tokens);
    for (size_t q : {0, 2, 3}) {
      ASSERT_EQ((*logits)[q].size(), all[q].size());
      for (size_t c = 0; c < all[q].size(); ++c) EXPECT_NEAR((*logits)[q][c], all[q][c], 1e-5);
    }
  }
}

TEST(HybridRerankerTest, TextOnlyModelsAndQueriesWithoutCandidates) {
  HybridModel::Parts parts = TextOnlyParts(kItems);
  auto created = HybridModel::Create(std::move(parts));
  ASSERT_TRUE(created.ok()) << created.status();
  std::shared_ptr<HybridModel> model(std::move(created).value());
  std::vector<RerankQuery> queries = MixedQueries();
  queries[2].candidates.clear();
  auto shared = Score(model, queries, {.share_prefix = true});
  auto unshared = Score(model, queries, {.share_prefix = false});
  ExpectSame(shared, unshared, "text-only");
  EXPECT_TRUE(shared[2].empty());
}

TEST(HybridRerankerTest, FusedScoresAreTheModelsFusedLogits) {
  for (bool text_only : {false, true}) {
    HybridModel::Parts parts = text_only ? TextOnlyParts(kItems) : TinyParts(kItems);
    parts.sasrec = testing::TinySasrec(kItems);
    parts.fusion = ScoreFusion{0.75, 1.5, 0.125};
    auto created = HybridModel::Create(std::move(parts));
    ASSERT_TRUE(created.ok()) << created.status();
    std::shared_ptr<HybridModel> model(std::move(created).value());
    const std::vector<RerankQuery> queries = MixedQueries();
    for (bool share : {true, false}) {
      HybridReranker reranker(model, {.share_prefix = share});
      // Query 2 is dropped: it stays empty, and the others keep their places.
      auto logits = reranker.Logits(queries, [](size_t q) { return q == 2; });
      ASSERT_TRUE(logits.ok()) << logits.status();
      auto yes = reranker.YesLogits(queries);
      ASSERT_TRUE(yes.ok()) << yes.status();
      EXPECT_TRUE((*logits)[2].empty());
      for (size_t q = 0; q < queries.size(); ++q) {
        if (q == 2) continue;
        ASSERT_EQ((*logits)[q].size(), queries[q].candidates.size());
        for (size_t c = 0; c < queries[q].candidates.size(); ++c) {
          const HybridExample e = ExampleOf(queries[q], c);
          auto alone = model->Logits({e}, /*train=*/false);
          ASSERT_TRUE(alone.ok()) << alone.status();
          EXPECT_NEAR((*logits)[q][c], (*alone)[0].item<float>(), 1e-5)
              << "text_only " << text_only << " share " << share << " " << q << "/" << c;
          // The fusion moved the score: SASRec's logit is in it.
          if (e.target != 0) EXPECT_GT(std::fabs((*logits)[q][c] - (*yes)[q][c]), 1e-4);
        }
      }
    }
  }
}

}  // namespace
}  // namespace sasrecllm::hybrid
