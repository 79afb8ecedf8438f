#include "server/validation.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sasrecllm::server {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

RequestLimits Limits() {
  RequestLimits limits;
  limits.max_top_k = 100;
  limits.max_candidates = 3;
  limits.max_history = 4;
  return limits;
}

TEST(ValidationTest, AcceptsAPlainRequest) {
  v1::RecommendRequest request;
  request.add_history("a");
  request.set_top_k(5);
  EXPECT_TRUE(ValidateRecommendRequest(request, Limits()).ok());
}

TEST(ValidationTest, TopKZeroMeansTheDefault) {
  v1::RecommendRequest request;
  EXPECT_TRUE(ValidateRecommendRequest(request, Limits()).ok());
  EXPECT_EQ(EffectiveTopK(request), kDefaultTopK);
  request.set_top_k(7);
  EXPECT_EQ(EffectiveTopK(request), 7);
}

TEST(ValidationTest, RejectsTopKOutOfRangeNamingTheValue) {
  v1::RecommendRequest request;
  request.set_top_k(-1);
  absl::Status s = ValidateRecommendRequest(request, Limits());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("top_k=-1"));
  request.set_top_k(101);
  s = ValidateRecommendRequest(request, Limits());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("top_k=101"), HasSubstr("100")));
  request.set_top_k(100);
  EXPECT_TRUE(ValidateRecommendRequest(request, Limits()).ok());
}

TEST(ValidationTest, RejectsHistoryLongerThanTheLimitInsteadOfTruncating) {
  v1::RecommendRequest request;
  for (const char* id : {"a", "b", "c", "d", "e"}) request.add_history(id);
  absl::Status s = ValidateRecommendRequest(request, Limits());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("history has 5"), HasSubstr("max_history=4")));

  v1::ScoreRequest score;
  score.mutable_history()->CopyFrom(request.history());
  score.add_candidates("x");
  EXPECT_THAT(ValidateScoreRequest(score, Limits()).message(), HasSubstr("max_history=4"));
}

TEST(ValidationTest, RejectsTooManyCandidates) {
  v1::RecommendRequest request;
  for (const char* id : {"a", "b", "c", "d"}) request.add_candidates(id);
  absl::Status s = ValidateRecommendRequest(request, Limits());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("candidates has 4"), HasSubstr("max_candidates=3")));
}

TEST(ValidationTest, RejectsEmptyIdsNamingThePosition) {
  v1::RecommendRequest request;
  request.add_history("a");
  request.add_history("");
  EXPECT_THAT(ValidateRecommendRequest(request, Limits()).message(),
              HasSubstr("history[1] is an empty item id"));

  v1::ScoreRequest score;
  score.add_candidates("x");
  score.add_candidates("");
  absl::Status s = ValidateScoreRequest(score, Limits());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("candidates[1] is an empty item id"));
}

TEST(ValidationTest, ScoreNeedsAtLeastOneCandidate) {
  v1::ScoreRequest score;
  score.add_history("a");
  absl::Status s = ValidateScoreRequest(score, Limits());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("candidates"));
}

TEST(ValidationTest, AutoModeRunsSasrecWhenTheBundleHasNoLlm) {
  EXPECT_EQ(*ResolveMode(v1::RANKING_MODE_AUTO, false), v1::RANKING_MODE_SEQUENTIAL_ONLY);
  EXPECT_EQ(*ResolveMode(v1::RANKING_MODE_SEQUENTIAL_ONLY, false),
            v1::RANKING_MODE_SEQUENTIAL_ONLY);
}

TEST(ValidationTest, HybridModeWithoutAnLlmIsAFailedPrecondition) {
  absl::StatusOr<v1::RankingMode> mode = ResolveMode(v1::RANKING_MODE_HYBRID, false);
  EXPECT_EQ(mode.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(mode.status().message(), HasSubstr("no LLM is loaded"));
}

TEST(ValidationTest, UnknownModeIsAnInvalidArgument) {
  EXPECT_EQ(ResolveMode(static_cast<v1::RankingMode>(42), false).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RequestLimitsTest, ValidateNamesTheField) {
  RequestLimits limits;
  limits.max_top_k = 0;
  EXPECT_THAT(limits.Validate().message(), HasSubstr("max_top_k"));
}

}  // namespace
}  // namespace sasrecllm::server
