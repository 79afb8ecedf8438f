#include "client/util.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sasrecllm::client {
namespace {

TEST(UtilTest, IdListKeepsEmptyElementsForTheServerToReject) {
  EXPECT_TRUE(ParseIdList("").empty());
  EXPECT_EQ(ParseIdList("1,2,3"), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(ParseIdList("1,,2"), (std::vector<std::string>{"1", "", "2"}));
}

TEST(UtilTest, ParsesModesAndRejectsOthers) {
  EXPECT_EQ(*ParseMode("sequential"), v1::RANKING_MODE_SEQUENTIAL_ONLY);
  EXPECT_EQ(*ParseMode("hybrid"), v1::RANKING_MODE_HYBRID);
  EXPECT_EQ(*ParseMode("auto"), v1::RANKING_MODE_AUTO);
  EXPECT_FALSE(ParseMode("llm").ok());
  EXPECT_EQ(ModeName(v1::RANKING_MODE_SEQUENTIAL_ONLY), "sequential");
}

TEST(UtilTest, NamesStatusCodesCanonically) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(StatusCodeName(static_cast<grpc::StatusCode>(99)), "CODE_99");
}

TEST(UtilTest, EscapesJsonStrings) {
  EXPECT_EQ(JsonString("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

}  // namespace
}  // namespace sasrecllm::client
