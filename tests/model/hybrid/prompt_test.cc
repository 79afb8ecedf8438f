// The prompt builder: the CoLLM text, slot positions, prefix independence.
#include "model/hybrid/prompt.h"

#include <gtest/gtest.h>

#include "tests/model/hybrid/test_parts.h"

namespace sasrecllm::hybrid {
namespace {

using testing::ByteTokenizer;

TEST(PromptTest, CollmTemplateRendersTheLastTitlesQuoted) {
  ByteTokenizer tok;
  PromptBuilder builder(PromptTemplate::CollmMovie(), &tok, /*max_titles=*/2);
  const std::string text = builder.Render({"A (1990)", "B (1991)", "C (1992)"}, "D (1993)");
  EXPECT_EQ(text,
            "#Question: A user has given high ratings to the following movies: \"B (1991)\", "
            "\"C (1992)\". Additionally, we have information about the user's preferences "
            "encoded in the feature <UserID>. Using all available information, make a "
            "prediction about whether the user would enjoy the movie titled D (1993) with the "
            "feature <TargetItemID>? Answer with \"Yes\" or \"No\". \n#Answer:");
}

TEST(PromptTest, PrefixAndSuffixTokensSpellThePromptWithOneTokenPerSlot) {
  ByteTokenizer tok;
  PromptBuilder builder(PromptTemplate::CollmMovie(), &tok, 10, 10, /*slot_token_id=*/0);
  StatusOr<PromptTokens> prefix = builder.BuildPrefix({"Heat (1995)"});
  StatusOr<PromptTokens> suffix = builder.BuildSuffix("Up (2009)");
  ASSERT_TRUE(prefix.ok() && suffix.ok());
  ASSERT_GE(prefix->slot, 0);
  ASSERT_GE(suffix->slot, 0);
  EXPECT_EQ(prefix->ids.front(), tok.bos_id());
  EXPECT_EQ(prefix->ids[prefix->slot], 0);
  EXPECT_EQ(suffix->ids[suffix->slot], 0);
  // Decoding (slot id 0 decodes to nothing) gives the text without the slot
  // names; the prefix carries the leading space, the suffix none.
  std::string rendered = builder.Render({"Heat (1995)"}, "Up (2009)");
  for (const std::string slot : {"<UserID>", "<TargetItemID>"}) {
    rendered.erase(rendered.find(slot), slot.size());
  }
  std::vector<int> all = prefix->ids;
  all.insert(all.end(), suffix->ids.begin(), suffix->ids.end());
  EXPECT_EQ(tok.Decode(all), " " + rendered);
  // The prefix ends just before the target title.
  EXPECT_EQ(tok.Decode(suffix->ids).rfind("Up (2009) with the feature ", 0), 0u);
}

TEST(PromptTest, PrefixDoesNotDependOnTheTarget) {
  ByteTokenizer tok;
  PromptBuilder builder(PromptTemplate::CollmMovie(), &tok);
  auto a = builder.BuildPrefix({"X", "Y"});
  auto b = builder.BuildPrefix({"X", "Y"});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->ids, b->ids);
  auto empty = builder.BuildPrefix({});
  ASSERT_TRUE(empty.ok());
  EXPECT_NE(tok.Decode(empty->ids).find("movies: . Additionally"), std::string::npos);
}

TEST(PromptTest, TextOnlyTemplateHasNoSlots) {
  ByteTokenizer tok;
  PromptBuilder builder(PromptTemplate::TallrecMovie(), &tok);
  EXPECT_FALSE(PromptTemplate::TallrecMovie().has_user_slot());
  EXPECT_FALSE(PromptTemplate::TallrecMovie().has_item_slot());
  auto prefix = builder.BuildPrefix({"X"});
  auto suffix = builder.BuildSuffix("Y");
  ASSERT_TRUE(prefix.ok() && suffix.ok());
  EXPECT_EQ(prefix->slot, -1);
  EXPECT_EQ(suffix->slot, -1);
}

TEST(PromptTest, TitlesCannotInjectSlotsAndBadTemplatesAreRefused) {
  ByteTokenizer tok;
  PromptBuilder builder(PromptTemplate::CollmMovie(), &tok);
  auto prefix = builder.BuildPrefix({"Evil <UserID> title"});
  ASSERT_TRUE(prefix.ok());
  EXPECT_NE(tok.Decode(prefix->ids).find("\"Evil  title\""), std::string::npos);

  EXPECT_FALSE(PromptTemplate::Parse("no target here").ok());
  EXPECT_FALSE(PromptTemplate::Parse("<TargetItemTitle> then <UserID>").ok());
  EXPECT_FALSE(PromptTemplate::Parse("<TargetItemID> <TargetItemTitle>").ok());
  EXPECT_FALSE(PromptTemplate::Parse("<UserID> <UserID> <TargetItemTitle>").ok());
  EXPECT_TRUE(PromptTemplate::Parse("<ItemTitleList> <UserID> <TargetItemTitle>?").ok());
  EXPECT_FALSE(PromptTemplate::Named("nope").ok());
  EXPECT_FALSE(PromptTemplate::Parse("<HistoryItemIDs> <HistoryItemIDs> <TargetItemTitle>").ok());
  EXPECT_FALSE(PromptTemplate::Parse("<TargetItemTitle> <HistoryItemIDs>").ok());
  EXPECT_TRUE(PromptTemplate::Parse("<HistoryItemIDs> <TargetItemTitle>").ok());
}

TEST(PromptTest, HistoryItemIdsAreOneSlotPerRecentHistoryItem) {
  ByteTokenizer tok;
  const PromptTemplate with_ids = PromptTemplate::CollmMovieHistoryIds();
  EXPECT_TRUE(with_ids.has_history_slots() && with_ids.has_feature_slots());
  EXPECT_FALSE(PromptTemplate::CollmMovie().has_history_slots());
  EXPECT_TRUE(PromptTemplate::Named("collm_movie_history_ids").ok());
  PromptBuilder builder(with_ids, &tok, /*max_titles=*/10, /*max_history_ids=*/3,
                        /*slot_token_id=*/0);
  const std::vector<std::string> titles = {"A", "B", "C", "D", "E"};

  // Five items, at most three shown: three slot tokens in a row, before the
  // user slot; the text around them is the template's.
  auto prefix = builder.BuildPrefix(titles);
  ASSERT_TRUE(prefix.ok()) << prefix.status();
  ASSERT_EQ(prefix->history_slots.size(), 3u);
  EXPECT_EQ(prefix->history_slots[1], prefix->history_slots[0] + 1);
  EXPECT_EQ(prefix->history_slots[2], prefix->history_slots[0] + 2);
  EXPECT_LT(prefix->history_slots[2], prefix->slot);
  for (int col : prefix->history_slots) EXPECT_EQ(prefix->ids[col], 0);
  const std::string text = tok.Decode(prefix->ids);  // slot id 0 decodes to nothing
  EXPECT_NE(text.find("\"E\", with the features . Additionally"), std::string::npos) << text;

  // The count follows the history's length where it differs from the
  // titles' (a server knows titles SASRec does not), capped at three.
  EXPECT_EQ(builder.BuildPrefix(titles, 2)->history_slots.size(), 2u);
  EXPECT_EQ(builder.BuildPrefix(titles, 0)->history_slots.size(), 0u);
  EXPECT_EQ(builder.BuildPrefix({}, 7)->history_slots.size(), 3u);
  EXPECT_TRUE(builder.BuildPrefix({})->history_slots.empty());
  // The suffix never has any; CoLLM's template neither.
  EXPECT_TRUE(builder.BuildSuffix("Z")->history_slots.empty());
  PromptBuilder collm(PromptTemplate::CollmMovie(), &tok);
  EXPECT_TRUE(collm.BuildPrefix(titles)->history_slots.empty());
}

}  // namespace
}  // namespace sasrecllm::hybrid
