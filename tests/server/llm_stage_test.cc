// LlmStage: scores what it is given, and does no LLM work for requests that
// are cancelled, expired, or whose deadline is closer than its batches take.
// Run is called directly (the pipeline's queue is pipeline_test's business);
// a fake clock (which only moves when told) makes the deadline cases exact.
#include "server/llm_stage.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/catalog.h"
#include "server/clock.h"
#include "server/metrics.h"
#include "tests/model/hybrid/test_parts.h"

namespace sasrecllm::server {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kItems = 20;

// A sink that is cancelled or not; the stage only asks.
class FakeSink : public RequestSink {
 public:
  explicit FakeSink(bool cancelled) : cancelled_(cancelled) {}
  void Finish(std::unique_ptr<Request>, const absl::Status&) override {}
  bool IsCancelled() const override { return cancelled_; }
  void SetQueuedAt(uint64_t) override {}

 private:
  bool cancelled_;
};

class LlmStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<model::CatalogEntry> entries;
    for (int64_t i = 1; i <= kItems; ++i) {
      entries.push_back({i, "i" + std::to_string(i), "Film " + std::to_string(i)});
    }
    auto catalog = model::Catalog::FromEntries(entries);
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = std::make_unique<model::Catalog>(std::move(catalog).value());
    auto model = hybrid::HybridModel::Create(hybrid::testing::TinyParts(kItems));
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = std::shared_ptr<hybrid::HybridModel>(std::move(model).value());
    stage_ = std::make_unique<LlmStage>(model_, hybrid::RerankOptions{}, catalog_.get(),
                                        &metrics_, &clock_);
  }

  // A HYBRID request: history items 1..3, `candidates` candidates from item 4 on.
  Request MakeRequest(int candidates, absl::Time deadline, FakeSink* sink) {
    Request r;
    r.mode = v1::RANKING_MODE_HYBRID;
    for (int64_t i : {1, 2, 3}) {
      r.history.push_back(i);
      r.history_titles.push_back(catalog_->FindByIndex(i)->title);
    }
    for (int c = 0; c < candidates; ++c) {
      r.candidates.push_back(Candidate{catalog_->FindByIndex(4 + c % (kItems - 4))});
    }
    r.deadline = deadline;
    r.sink = sink;
    return r;
  }

  // Runs `request` alone through the stage; its status.
  absl::Status RunOne(Request* request) {
    std::vector<absl::Status> statuses(1);
    stage_->Run({request}, &statuses);
    return statuses[0];
  }

  int64_t PrefillTokens() {
    const std::string text = metrics_.SerializeText();
    const std::string series = "sasrecllm_llm_tokens_total{kind=\"prefill\"} ";
    return std::stoll(text.substr(text.find(series) + series.size()));
  }

  FakeClock clock_;
  FakeSink live_{false};
  FakeSink cancelled_{true};
  Metrics metrics_{{"test", "cpu", "float32"}};
  std::unique_ptr<model::Catalog> catalog_;
  std::shared_ptr<hybrid::HybridModel> model_;
  std::unique_ptr<LlmStage> stage_;
};

TEST_F(LlmStageTest, WantsHybridRequestsWithCandidatesOnly) {
  Request r = MakeRequest(2, absl::InfiniteFuture(), &live_);
  EXPECT_TRUE(stage_->Wants(r));
  r.mode = v1::RANKING_MODE_SEQUENTIAL_ONLY;
  EXPECT_FALSE(stage_->Wants(r));
  Request empty = MakeRequest(0, absl::InfiniteFuture(), &live_);
  EXPECT_FALSE(stage_->Wants(empty));
}

TEST_F(LlmStageTest, ScoresLikeTheRerankerAndCountsTokensAndSequences) {
  Request a = MakeRequest(3, absl::InfiniteFuture(), &live_);
  Request b = MakeRequest(2, absl::InfiniteFuture(), &live_);
  std::vector<absl::Status> statuses(2);
  EXPECT_EQ(stage_->Run({&a, &b}, &statuses), 5u);  // sequences
  ASSERT_TRUE(statuses[0].ok()) << statuses[0];
  ASSERT_TRUE(statuses[1].ok()) << statuses[1];
  hybrid::HybridReranker reranker(model_, {});
  hybrid::RerankQuery query;
  query.history = a.history;
  query.history_titles = a.history_titles;
  for (const Candidate& c : a.candidates) query.candidates.push_back({c.entry->index, c.entry->title});
  auto direct = reranker.YesLogits({query});
  ASSERT_TRUE(direct.ok());
  for (size_t c = 0; c < 3; ++c) {
    ASSERT_TRUE(a.candidates[c].llm_score.has_value());
    EXPECT_NEAR(*a.candidates[c].llm_score, (*direct)[0][c], 1e-6);
  }
  EXPECT_GT(PrefillTokens(), 0);
}

TEST_F(LlmStageTest, CancelledAndExpiredWorkIsNotComputed) {
  Request cancelled = MakeRequest(3, absl::InfiniteFuture(), &cancelled_);
  EXPECT_EQ(RunOne(&cancelled).code(), absl::StatusCode::kCancelled);
  Request expired = MakeRequest(3, clock_.Now(), &live_);
  EXPECT_EQ(RunOne(&expired).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(PrefillTokens(), 0);
  EXPECT_FALSE(expired.candidates[0].llm_score.has_value());
}

TEST_F(LlmStageTest, ADeadlineCloserThanRecentBatchesTookIsRefusedWithoutWork) {
  // Before any batch was measured there is no estimate: a tight deadline runs.
  Request first = MakeRequest(12, clock_.Now() + absl::Nanoseconds(1), &live_);
  ASSERT_TRUE(RunOne(&first).ok());
  for (int i = 0; i < 3; ++i) {
    Request r = MakeRequest(12, absl::InfiniteFuture(), &live_);
    ASSERT_TRUE(RunOne(&r).ok());
  }
  const int64_t before = PrefillTokens();
  // The fake clock stands still, so 1 ns is left however long the batch takes.
  Request tight = MakeRequest(12, clock_.Now() + absl::Nanoseconds(1), &live_);
  const absl::Status status = RunOne(&tight);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("cannot be met"));
  EXPECT_EQ(PrefillTokens(), before);
  // A roomy deadline still runs.
  Request roomy = MakeRequest(12, clock_.Now() + absl::Hours(1), &live_);
  EXPECT_TRUE(RunOne(&roomy).ok());
}

TEST_F(LlmStageTest, TokenizesEveryCatalogTitleAtLoad) {
  ASSERT_NE(stage_->prompt_cache(), nullptr);
  EXPECT_EQ(stage_->prompt_cache()->suffixes(), static_cast<size_t>(kItems));
  const hybrid::PromptBuilder& builder = model_->prompt_builder();
  for (const model::CatalogEntry& e : catalog_->entries()) {
    EXPECT_EQ(stage_->prompt_cache()->Suffix(e.title)->ids, builder.BuildSuffix(e.title)->ids);
  }
}

TEST_F(LlmStageTest, WarmsUpOnTheCatalog) { EXPECT_TRUE(stage_->Warmup().ok()); }

// After Warmup, a request of a user without history prefills only its
// candidates' suffixes: the empty-history prefix was run at load.
TEST_F(LlmStageTest, WarmupRunsTheEmptyHistoryPrefixOnce) {
  ASSERT_TRUE(stage_->Warmup().ok());
  Request cold = MakeRequest(3, absl::InfiniteFuture(), &live_);
  cold.history.clear();
  cold.history_titles.clear();
  const int64_t before = PrefillTokens();
  ASSERT_TRUE(RunOne(&cold).ok());
  int64_t suffixes = 0;
  for (const Candidate& c : cold.candidates) {
    suffixes += static_cast<int64_t>(model_->prompt_builder().BuildSuffix(c.entry->title)->ids.size());
  }
  EXPECT_EQ(PrefillTokens() - before, suffixes);
}

}  // namespace
}  // namespace sasrecllm::server
