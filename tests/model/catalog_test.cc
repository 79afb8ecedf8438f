#include "base/file.h"
#include "model/catalog.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/json.h"

namespace sasrecllm::model {
namespace {

namespace fs = std::filesystem;

std::string TempPath(const std::string& name) {
  return (fs::temp_directory_path() / ("sasrecllm_catalog_test_" + name)).string();
}

TEST(CatalogTest, LooksUpByIdAndIndex) {
  auto c = Catalog::FromEntries({{1, "B0001", "Zelda"}, {2, "B0002", ""}, {0, "cold", "New game"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->size(), 3);
  EXPECT_EQ(c->max_index(), 2);
  ASSERT_NE(c->FindById("B0001"), nullptr);
  EXPECT_EQ(c->FindById("B0001")->title, "Zelda");
  EXPECT_EQ(c->FindByIndex(2)->item_id, "B0002");
  EXPECT_EQ(c->FindById("cold")->index, 0);
  EXPECT_EQ(c->FindByIndex(0), nullptr);  // cold items have no SASRec index
  EXPECT_EQ(c->FindByIndex(3), nullptr);
  EXPECT_EQ(c->FindById("nope"), nullptr);
}

TEST(CatalogTest, RefusesDuplicatesAndEmptyIds) {
  auto dup_id = Catalog::FromEntries({{1, "a", ""}, {2, "a", ""}});
  ASSERT_FALSE(dup_id.ok());
  EXPECT_NE(dup_id.status().message().find("\"a\""), std::string::npos) << dup_id.status();
  auto dup_index = Catalog::FromEntries({{1, "a", ""}, {1, "b", ""}});
  ASSERT_FALSE(dup_index.ok());
  EXPECT_NE(dup_index.status().message().find("duplicate index 1"), std::string::npos);
  EXPECT_TRUE(Catalog::FromEntries({{0, "a", ""}, {0, "b", ""}}).ok());  // many cold items
  EXPECT_FALSE(Catalog::FromEntries({{1, "", ""}}).ok());
  EXPECT_FALSE(Catalog::FromEntries({{-1, "x", ""}}).ok());
  EXPECT_FALSE(Catalog::FromEntries({{1, "x", "tab\there"}}).ok());
}

TEST(CatalogTest, TsvRoundTrip) {
  auto c = Catalog::FromEntries(
      {{1, "B0001", "Zelda: Breath of the Wild"}, {2, "B0002", ""}, {0, "cold", "Ünïcode"}});
  ASSERT_TRUE(c.ok());
  const std::string path = TempPath("rt.tsv");
  ASSERT_TRUE(c->WriteTsv(path).ok());
  auto back = Catalog::ReadTsv(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(back->entries()[i].index, c->entries()[i].index);
    EXPECT_EQ(back->entries()[i].item_id, c->entries()[i].item_id);
    EXPECT_EQ(back->entries()[i].title, c->entries()[i].title);
  }
  fs::remove(path);
}

TEST(CatalogTest, ReadTsvErrorsNameFileAndLine) {
  const std::string path = TempPath("bad.tsv");
  struct Case {
    std::string text;
    std::string needle;
  };
  for (const Case& c : {Case{"index\titem_id\ttitle\n1\ta\tx\nzz\tb\ty\n", ":3: bad index"},
                        Case{"index\titem_id\ttitle\n1\ta\tx\ty\tz\n", ":2: expected 3"},
                        Case{"1\ta\tx\n", ":1: expected the header"},
                        Case{"index\titem_id\ttitle\n1\t\tx\n", ":2: empty item id"},
                        Case{"index\titem_id\ttitle\n1\ta\tx\n1\tb\ty\n", "duplicate index"}}) {
    ASSERT_TRUE(WriteStringToFile(path, c.text).ok());
    auto r = Catalog::ReadTsv(path);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status();
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos) << r.status();
  }
  // CRLF line ends and a missing title column are accepted.
  ASSERT_TRUE(WriteStringToFile(path, "index\titem_id\ttitle\r\n3\tq\r\n").ok());
  auto ok = Catalog::ReadTsv(path);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->FindByIndex(3)->item_id, "q");
  EXPECT_EQ(Catalog::ReadTsv(TempPath("missing")).status().code(), StatusCode::kNotFound);
  fs::remove(path);
}

}  // namespace
}  // namespace sasrecllm::model
