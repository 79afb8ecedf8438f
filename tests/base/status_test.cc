#include "base/status.h"

#include <gtest/gtest.h>

namespace sasrecllm {
namespace {

StatusOr<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd value " + std::to_string(x));
  return x / 2;
}

Status QuarterInto(int x, int* out) {
  SASRECLLM_ASSIGN_OR_RETURN(int half, Half(x));
  SASRECLLM_ASSIGN_OR_RETURN(*out, Half(half));
  return OkStatus();
}

TEST(StatusTest, CodesHaveGrpcNames) {
  EXPECT_STREQ(StatusCodeName(StatusCode::kInvalidArgument), "INVALID_ARGUMENT");
  EXPECT_STREQ(StatusCodeName(StatusCode::kResourceExhausted), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(static_cast<int>(StatusCode::kUnavailable), 14);
}

TEST(StatusTest, ToStringJoinsCodeAndMessage) {
  EXPECT_EQ(OkStatus().ToString(), "OK");
  EXPECT_EQ(NotFoundError("no file x").ToString(), "NOT_FOUND: no file x");
  EXPECT_EQ(DataLossError("bad").WithPrefix("a.safetensors").message(), "a.safetensors: bad");
}

TEST(StatusTest, AssignOrReturnPropagatesTheFirstError) {
  int out = -1;
  EXPECT_TRUE(QuarterInto(8, &out).ok());
  EXPECT_EQ(out, 2);
  Status s = QuarterInto(6, &out);  // 6 / 2 = 3 is odd
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd value 3");
}

}  // namespace
}  // namespace sasrecllm
