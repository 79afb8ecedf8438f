#include "client/flag_parser.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sasrecllm::client {
namespace {

struct Parsed {
  std::string name = "default";
  int64_t count = 3;
  double rate = 0;
  bool json = false;
};

FlagParser MakeParser(Parsed* p) {
  FlagParser flags("usage: test");
  flags.AddString("name", &p->name, "A name.");
  flags.AddInt("count", &p->count, "A count.");
  flags.AddDouble("rate", &p->rate, "A rate.");
  flags.AddBool("json", &p->json, "JSON.");
  return flags;
}

TEST(FlagParserTest, AcceptsSpaceAndEqualsSpellingsAndBareBooleans) {
  Parsed p;
  FlagParser flags = MakeParser(&p);
  std::vector<std::string> rest;
  ASSERT_TRUE(flags.Parse({"--name", "x", "--count=7", "--rate", "2.5", "--json"}, false, &rest).ok());
  EXPECT_EQ(p.name, "x");
  EXPECT_EQ(p.count, 7);
  EXPECT_DOUBLE_EQ(p.rate, 2.5);
  EXPECT_TRUE(p.json);
  EXPECT_TRUE(rest.empty());
  EXPECT_TRUE(flags.IsSet("count"));
}

TEST(FlagParserTest, KeepsDefaultsOfFlagsNotGiven) {
  Parsed p;
  FlagParser flags = MakeParser(&p);
  std::vector<std::string> rest;
  ASSERT_TRUE(flags.Parse({}, false, &rest).ok());
  EXPECT_EQ(p.name, "default");
  EXPECT_EQ(p.count, 3);
  EXPECT_FALSE(flags.IsSet("count"));
  EXPECT_NE(flags.Help().find("Default: 3."), std::string::npos);
}

TEST(FlagParserTest, RejectsUnknownFlagsMissingValuesAndBadNumbers) {
  Parsed p;
  std::vector<std::string> rest;
  EXPECT_FALSE(MakeParser(&p).Parse({"--bogus"}, false, &rest).ok());
  EXPECT_FALSE(MakeParser(&p).Parse({"--name"}, false, &rest).ok());
  absl::Status s = MakeParser(&p).Parse({"--count", "x7"}, false, &rest);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--count=x7"), absl::string_view::npos);
}

TEST(FlagParserTest, StopsAtTheFirstPositionalWhenAsked) {
  Parsed p;
  FlagParser flags = MakeParser(&p);
  std::vector<std::string> rest;
  ASSERT_TRUE(flags.Parse({"--count", "1", "recommend", "--other", "v"}, true, &rest).ok());
  EXPECT_EQ(rest, (std::vector<std::string>{"recommend", "--other", "v"}));
}

TEST(FlagParserTest, ReportsHelp) {
  Parsed p;
  FlagParser flags = MakeParser(&p);
  std::vector<std::string> rest;
  ASSERT_TRUE(flags.Parse({"--help"}, false, &rest).ok());
  EXPECT_TRUE(flags.help_requested());
}

}  // namespace
}  // namespace sasrecllm::client
