// PromptCache: what it holds and what falls through are exactly the
// builder's tokens.
#include "model/hybrid/prompt_cache.h"

#include <gtest/gtest.h>

#include "tests/model/hybrid/test_parts.h"

namespace sasrecllm::hybrid {
namespace {

using testing::ByteTokenizer;

void ExpectSameTokens(const StatusOr<PromptTokens>& got, const StatusOr<PromptTokens>& want,
                      const std::string& what) {
  ASSERT_TRUE(got.ok() && want.ok()) << what;
  EXPECT_EQ(got->ids, want->ids) << what;
  EXPECT_EQ(got->slot, want->slot) << what;
}

TEST(PromptCacheTest, CachedAndUncachedPartsAreTheBuildersTokens) {
  ByteTokenizer tok;
  PromptBuilder builder(PromptTemplate::CollmMovie(), &tok);
  auto cache = PromptCache::Build(&builder, {"Heat (1995)", "Up (2009)", "Heat (1995)", ""});
  ASSERT_TRUE(cache.ok()) << cache.status();
  EXPECT_EQ((*cache)->suffixes(), 3u);  // the repeat is held once

  int64_t tokens = static_cast<int64_t>(builder.BuildPrefix({})->ids.size());
  for (const std::string title : {"Heat (1995)", "Up (2009)", ""}) {
    ExpectSameTokens((*cache)->Suffix(title), builder.BuildSuffix(title), "cached " + title);
    tokens += static_cast<int64_t>(builder.BuildSuffix(title)->ids.size());
  }
  EXPECT_EQ((*cache)->tokens(), tokens);
  ExpectSameTokens((*cache)->Suffix("Alien (1979)"), builder.BuildSuffix("Alien (1979)"),
                   "a title not in the cache");
  ExpectSameTokens((*cache)->Prefix({}), builder.BuildPrefix({}), "empty history");
  ExpectSameTokens((*cache)->Prefix({"Heat (1995)", "Up (2009)"}),
                   builder.BuildPrefix({"Heat (1995)", "Up (2009)"}), "a history");
  ExpectSameTokens((*cache)->Prefix({""}), builder.BuildPrefix({""}),
                   "one untitled item is not an empty history");
}

TEST(PromptCacheTest, TextOnlyTemplatesHaveNoSlots) {
  ByteTokenizer tok;
  PromptBuilder builder(PromptTemplate::TallrecMovie(), &tok);
  auto cache = PromptCache::Build(&builder, {"Heat (1995)"});
  ASSERT_TRUE(cache.ok()) << cache.status();
  EXPECT_EQ((*cache)->Suffix("Heat (1995)")->slot, -1);
  EXPECT_EQ((*cache)->Prefix({})->slot, -1);
}

}  // namespace
}  // namespace sasrecllm::hybrid
