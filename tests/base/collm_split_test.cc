#include "base/collm_split.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace sasrecllm {
namespace {

constexpr char kHeader[] = "user_id\titem_id\tlabel\ttimestamp\twarm\thistory\n";

TEST(CollmSplitTest, ReadsRowsWithTheirLinesAndEmptyHistories) {
  StatusOr<std::vector<CollmRow>> rows = ParseCollmSplit(
      std::string(kHeader) + "4\t96\t1\t1040544350\t1\t38 39 40\n\n5\t12\t0\t1040544351\t0\t\r\n",
      "split.tsv");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  const CollmRow& a = (*rows)[0];
  EXPECT_EQ(a.user_id, 4);
  EXPECT_EQ(a.item_id, 96);
  EXPECT_EQ(a.label, 1);
  EXPECT_EQ(a.timestamp, 1040544350);
  EXPECT_TRUE(a.warm);
  EXPECT_EQ(a.history, (std::vector<int64_t>{38, 39, 40}));
  EXPECT_EQ(a.line, 2);
  const CollmRow& b = (*rows)[1];
  EXPECT_EQ(b.label, 0);
  EXPECT_FALSE(b.warm);
  EXPECT_TRUE(b.history.empty());
  EXPECT_EQ(b.line, 4);
}

TEST(CollmSplitTest, ErrorsNameTheFileLineAndValue) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::string h = kHeader;
  for (const Case& c : {Case{"4\t96\t1\t0\t1\t\n", "f.tsv:1: expected the header"},
                        Case{"", "f.tsv:1: empty file"},
                        Case{h + "4\t96\t1\t0\t1\n", "f.tsv:2: expected 6 tab-separated fields"},
                        Case{h + "4\t96\t2\t0\t1\t\n", "label must be 0 or 1, got \"2\""},
                        Case{h + "4\t96\t1\t0\tx\t\n", "warm must be 0 or 1, got \"x\""},
                        Case{h + "u4\t96\t1\t0\t1\t\n", "user_id must be a positive integer"},
                        Case{h + "4\t0\t1\t0\t1\t\n", "item_id must be a positive integer"},
                        Case{h + "4\t9\t1\tt\t1\t\n", "bad timestamp \"t\""},
                        Case{h + "4\t9\t1\t0\t1\t1 x\n", "history item must be a positive"}}) {
    StatusOr<std::vector<CollmRow>> rows = ParseCollmSplit(c.text, "f.tsv");
    ASSERT_FALSE(rows.ok()) << c.text;
    EXPECT_EQ(rows.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(rows.status().message().find(c.message), std::string::npos) << rows.status();
  }
}

TEST(CollmSplitTest, ReadsAFileAndSaysNotFoundForAMissingOne) {
  const std::string path = ::testing::TempDir() + "/collm_split_test.tsv";
  std::ofstream(path) << kHeader << "1\t2\t1\t3\t0\t5\n";
  StatusOr<std::vector<CollmRow>> rows = ReadCollmSplit(path);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 1u);
  EXPECT_EQ(ReadCollmSplit(path + ".missing").status().code(), StatusCode::kNotFound);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace sasrecllm
