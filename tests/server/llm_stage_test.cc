// LlmStage: scores what it is given, and does no LLM work for requests that
// are cancelled, expired, or whose deadline is closer than its batches take.
// A fake clock (which only moves when told) makes the deadline cases exact.
#include "server/llm_stage.h"

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/clock.h"
#include "server/metrics.h"
#include "tests/hybrid/test_parts.h"

namespace sasrecllm::server {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kItems = 20;

hybrid::RerankQuery Query(int candidates) {
  hybrid::RerankQuery q;
  for (int64_t i : {1, 2, 3}) {
    q.history.push_back(i);
    q.history_titles.push_back("Film " + std::to_string(i));
  }
  for (int c = 0; c < candidates; ++c) {
    const int64_t item = 4 + c % (kItems - 4);
    q.candidates.push_back({item, "Candidate film " + std::to_string(item)});
  }
  return q;
}

class LlmStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = hybrid::HybridModel::Create(hybrid::testing::TinyParts(kItems));
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = std::shared_ptr<hybrid::HybridModel>(std::move(model).value());
    LlmStage::Options options;
    options.batcher.max_queue_delay = absl::ZeroDuration();
    auto stage = LlmStage::Create(options, model_, &metrics_, &clock_);
    ASSERT_TRUE(stage.ok()) << stage.status();
    stage_ = std::move(stage).value();
  }

  // Enqueues `query` and waits for its answer.
  absl::StatusOr<std::vector<float>> Run(hybrid::RerankQuery query, absl::Time deadline,
                                         bool cancelled = false) {
    std::promise<absl::StatusOr<std::vector<float>>> answer;
    LlmWork work;
    work.query = std::move(query);
    work.deadline = deadline;
    work.is_cancelled = [cancelled] { return cancelled; };
    work.done = [&answer](absl::StatusOr<std::vector<float>> r) { answer.set_value(std::move(r)); };
    stage_->Enqueue(std::move(work));
    return answer.get_future().get();
  }

  int64_t PrefillTokens() {
    const std::string text = metrics_.SerializeText();
    const std::string series = "sasrecllm_llm_tokens_total{kind=\"prefill\"} ";
    return std::stoll(text.substr(text.find(series) + series.size()));
  }

  FakeClock clock_;
  Metrics metrics_{{"test", "cpu", "float32"}};
  std::shared_ptr<hybrid::HybridModel> model_;
  std::unique_ptr<LlmStage> stage_;
};

TEST_F(LlmStageTest, ScoresLikeTheRerankerAndCountsTokens) {
  auto logits = Run(Query(3), absl::InfiniteFuture());
  ASSERT_TRUE(logits.ok()) << logits.status();
  hybrid::HybridReranker reranker(model_, {});
  auto direct = reranker.YesLogits({Query(3)});
  ASSERT_TRUE(direct.ok());
  ASSERT_EQ(logits->size(), 3u);
  for (size_t c = 0; c < 3; ++c) EXPECT_NEAR((*logits)[c], (*direct)[0][c], 1e-6);
  EXPECT_GT(PrefillTokens(), 0);
}

TEST_F(LlmStageTest, CancelledAndExpiredWorkIsNotComputed) {
  auto cancelled = Run(Query(3), absl::InfiniteFuture(), /*cancelled=*/true);
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled);
  auto expired = Run(Query(3), clock_.Now());
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(PrefillTokens(), 0);
}

TEST_F(LlmStageTest, ADeadlineCloserThanRecentBatchesTookIsRefusedWithoutWork) {
  // Before any batch was measured there is no estimate: a tight deadline runs.
  ASSERT_TRUE(Run(Query(12), clock_.Now() + absl::Nanoseconds(1)).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Run(Query(12), absl::InfiniteFuture()).ok());
  const int64_t before = PrefillTokens();
  // The fake clock stands still, so 1 ns is left however long the batch takes.
  auto tight = Run(Query(12), clock_.Now() + absl::Nanoseconds(1));
  EXPECT_EQ(tight.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(tight.status().message(), HasSubstr("cannot be met"));
  EXPECT_EQ(PrefillTokens(), before);
  // A roomy deadline still runs.
  EXPECT_TRUE(Run(Query(12), clock_.Now() + absl::Hours(1)).ok());
}

TEST_F(LlmStageTest, WorkAfterShutdownIsRefused) {
  stage_->Shutdown();
  auto refused = Run(Query(1), absl::InfiniteFuture());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sasrecllm::server
