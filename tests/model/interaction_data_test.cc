#include "model/interaction_data.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace sasrecllm::model {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("interaction_data_test_" + std::to_string(::getpid()) + "_" +
             std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& contents) const {
    std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << contents;
    return p;
  }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

TEST(SequenceFileTest, ReadsPairsInFileOrderPerUser) {
  TempDir dir;
  std::string p = dir.Write("pairs.txt", "1 5\n2 3\n1 7\n\n1 2\n2 9\n");
  StatusOr<SequenceData> data = ReadSequenceFile(p, SequenceFormat::kAuto);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->user_num, 2);
  EXPECT_EQ(data->item_num, 9);
  EXPECT_THAT(data->sequences[1], ElementsAre(5, 7, 2));
  EXPECT_THAT(data->sequences[2], ElementsAre(3, 9));
  EXPECT_EQ(data->NumInteractions(), 5);
}

TEST(SequenceFileTest, ReadsListsIncludingUsersWithoutItems) {
  TempDir dir;
  std::string p = dir.Write("lists.txt", "1 1 2 3\r\n3 4\n2 \n");
  StatusOr<SequenceData> data = ReadSequenceFile(p, SequenceFormat::kAuto);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->user_num, 3);
  EXPECT_EQ(data->item_num, 4);
  EXPECT_THAT(data->sequences[1], ElementsAre(1, 2, 3));
  EXPECT_TRUE(data->sequences[2].empty());
  EXPECT_THAT(data->sequences[3], ElementsAre(4));
}

TEST(SequenceFileTest, PairsLayoutRejectsLongLinesNamingFileAndLine) {
  TempDir dir;
  std::string p = dir.Write("bad.txt", "1 2\n1 2 3\n");
  StatusOr<SequenceData> data = ReadSequenceFile(p, SequenceFormat::kPairs);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(), HasSubstr(p + ":2:"));
}

TEST(SequenceFileTest, BadItemIdNamesFileLineAndValue) {
  TempDir dir;
  std::string p = dir.Write("bad.txt", "1 2 3\n2 4 x7\n");
  StatusOr<SequenceData> data = ReadSequenceFile(p, SequenceFormat::kLists);
  ASSERT_FALSE(data.ok());
  EXPECT_THAT(data.status().message(), HasSubstr(p + ":2:"));
  EXPECT_THAT(data.status().message(), HasSubstr("\"x7\""));
  StatusOr<SequenceData> zero = ParseSequences("1 0\n", SequenceFormat::kPairs, "mem");
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(zero.status().message(), HasSubstr("mem:1:"));
}

TEST(SequenceFileTest, IdsFarBeyondTheFilesSizeAreRefusedNotAllocated) {
  // Found by fuzz/sequences_fuzzer: a user id of 10^18 made a table of 10^18
  // rows (std::length_error, an abort).
  for (const char* text : {"1000000000000000000 5\n", "1 2\n2 200000000\n"}) {
    StatusOr<SequenceData> data = ParseSequences(text, SequenceFormat::kAuto, "mem");
    ASSERT_FALSE(data.ok()) << text;
    EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(data.status().message(), HasSubstr("ids must be dense")) << data.status();
  }
  // Within the slack: sparse but small ids still load.
  StatusOr<SequenceData> sparse = ParseSequences("1 900000\n", SequenceFormat::kPairs, "mem");
  ASSERT_TRUE(sparse.ok()) << sparse.status();
  EXPECT_EQ(sparse->item_num, 900000);
}

TEST(SequenceFileTest, MissingFileIsNotFound) {
  StatusOr<SequenceData> data = ReadSequenceFile("/nonexistent/seq.txt", SequenceFormat::kAuto);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(data.status().message(), HasSubstr("/nonexistent/seq.txt"));
}

TEST(SequenceFileTest, WriteThenReadRoundTrips) {
  TempDir dir;
  SequenceData data;
  data.sequences = {{}, {3, 1, 2}, {}, {2}};
  data.user_num = 3;
  data.item_num = 3;
  std::string p = dir.path() + "/seq.txt";
  ASSERT_TRUE(WriteSequenceFile(p, data).ok());
  StatusOr<SequenceData> back = ReadSequenceFile(p, SequenceFormat::kLists);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->sequences, data.sequences);
}

TEST(SequenceFormatTest, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(*ParseSequenceFormat("pairs"), SequenceFormat::kPairs);
  EXPECT_EQ(*ParseSequenceFormat("lists"), SequenceFormat::kLists);
  EXPECT_EQ(*ParseSequenceFormat("auto"), SequenceFormat::kAuto);
  EXPECT_FALSE(ParseSequenceFormat("csv").ok());
}

TEST(SplitTest, LeavesLastTwoOutForUsersWithAtLeastThree) {
  SequenceData data;
  data.sequences = {{}, {1, 2, 3, 4}, {5, 6}, {7, 8, 9}};
  data.user_num = 3;
  data.item_num = 9;
  SplitData s = SplitLeaveLastTwo(data);
  EXPECT_THAT(s.train[1], ElementsAre(1, 2));
  EXPECT_EQ(s.valid[1], 3);
  EXPECT_EQ(s.test[1], 4);
  EXPECT_THAT(s.train[2], ElementsAre(5, 6));
  EXPECT_EQ(s.valid[2], 0);
  EXPECT_EQ(s.test[2], 0);
  EXPECT_THAT(s.train[3], ElementsAre(7));
  EXPECT_EQ(s.valid[3], 8);
  EXPECT_EQ(s.test[3], 9);
}

TEST(CollmTest, ReadsRowsAndBuildsPositiveSequencesInTimeOrder) {
  TempDir dir;
  std::string items = dir.Write("items.tsv", "item_id\ttitle\n1\tA (1990)\n2\tB\n3\tC\n4\tD\n");
  std::string train = dir.Write("train.tsv",
                                "user_id\titem_id\tlabel\ttimestamp\twarm\thistory\n"
                                "1\t2\t1\t200\t1\t\n"
                                "1\t1\t1\t100\t0\t\n"
                                "1\t3\t0\t150\t1\t1\n"
                                "2\t3\t1\t50\t1\t2 1\n");
  StatusOr<std::vector<ItemTitle>> it = ReadItemsTsv(items);
  ASSERT_TRUE(it.ok()) << it.status();
  ASSERT_EQ(it->size(), 4u);
  EXPECT_EQ((*it)[0].title, "A (1990)");
  StatusOr<std::vector<CollmRow>> rows = ReadCollmSplit(train);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[2].label, 0);
  EXPECT_TRUE((*rows)[0].warm);
  EXPECT_THAT((*rows)[3].history, ElementsAre(2, 1));
  SequenceData seq = SequencesFromCollmRows(*rows, *it);
  EXPECT_EQ(seq.item_num, 4);
  EXPECT_THAT(seq.sequences[1], ElementsAre(1, 2));
  EXPECT_THAT(seq.sequences[2], ElementsAre(3));
}

TEST(CollmTest, MalformedRowNamesFileAndLine) {
  TempDir dir;
  std::string train = dir.Write("train.tsv",
                                "user_id\titem_id\tlabel\ttimestamp\twarm\thistory\n"
                                "1\t2\t1\t200\t1\t\n"
                                "1\t2\t7\t200\t1\t\n");
  StatusOr<std::vector<CollmRow>> rows = ReadCollmSplit(train);
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(), HasSubstr(train + ":3:"));
  EXPECT_THAT(rows.status().message(), HasSubstr("label"));
}

TEST(CollmTest, ReadsTheSharedSplitWhenPresent) {
  const char* env = std::getenv("SASRECLLM_SHARED");
  std::string shared = env ? env : std::string(SASRECLLM_SOURCE_DIR) + "/../shared";
  std::string dir = shared + "/data/collm-ml1m";
  if (!fs::exists(dir + "/train.tsv")) GTEST_SKIP() << dir << " not present";
  StatusOr<std::vector<CollmRow>> rows = ReadCollmSplit(dir + "/train.tsv");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 33891u);  // data/README.md
  StatusOr<std::vector<ItemTitle>> items = ReadItemsTsv(dir + "/items.tsv");
  ASSERT_TRUE(items.ok()) << items.status();
  EXPECT_EQ(SequencesFromCollmRows(*rows, *items).item_num, 3255);
}

TEST(MovieLensTest, ConvertsLatin1RemapsIdsAndOrdersByTime) {
  TempDir dir;
  // "Cité" in latin-1 (0xE9).
  std::string movies = dir.Write("movies.dat",
                                 "10::Toy Story (1995)::Animation\n"
                                 "20::La Cit\xE9 des enfants perdus (1995)::Drama\n"
                                 "30::Heat (1995)::Action\n");
  std::string ratings = dir.Write("ratings.dat",
                                  "7::20::5::300\n"
                                  "7::10::4::100\n"
                                  "7::30::2::200\n"
                                  "9::30::5::50\n");
  MovieLensOptions opts;
  opts.min_rating = 4;
  StatusOr<MovieLensData> ml = ReadMovieLens(ratings, movies, opts);
  ASSERT_TRUE(ml.ok()) << ml.status();
  // Kept: (7,20,300) (7,10,100) (9,30,50) -> users 7->1, 9->2; items 20->1, 10->2, 30->3.
  EXPECT_EQ(ml->sequences.user_num, 2);
  EXPECT_EQ(ml->sequences.item_num, 3);
  EXPECT_THAT(ml->sequences.sequences[1], ElementsAre(2, 1));  // by timestamp
  EXPECT_THAT(ml->sequences.sequences[2], ElementsAre(3));
  ASSERT_EQ(ml->items.size(), 3u);
  EXPECT_EQ(ml->items[0].item_id, 1);
  EXPECT_EQ(ml->items[0].title, "La Cit\xC3\xA9 des enfants perdus (1995)");
  EXPECT_EQ(ml->items[0].source_id, "20");
  EXPECT_EQ(ml->items[2].title, "Heat (1995)");
}

TEST(MovieLensTest, MalformedLinesNameFileAndLine) {
  TempDir dir;
  std::string movies = dir.Write("movies.dat", "10::Toy Story (1995)::Animation\n");
  std::string bad_ratings = dir.Write("ratings.dat", "7::10::5::300\n7::10::5\n");
  StatusOr<MovieLensData> ml = ReadMovieLens(bad_ratings, movies, {});
  ASSERT_FALSE(ml.ok());
  EXPECT_THAT(ml.status().message(), HasSubstr(bad_ratings + ":2:"));
  std::string unknown = dir.Write("ratings2.dat", "7::11::5::300\n");
  ml = ReadMovieLens(unknown, movies, {});
  ASSERT_FALSE(ml.ok());
  EXPECT_THAT(ml.status().message(), HasSubstr(unknown + ":1:"));
  EXPECT_THAT(ml.status().message(), HasSubstr("11"));
  std::string bad_movies = dir.Write("movies2.dat", "10::Toy Story\n");
  ml = ReadMovieLens(bad_ratings, bad_movies, {});
  ASSERT_FALSE(ml.ok());
  EXPECT_THAT(ml.status().message(), HasSubstr(bad_movies + ":1:"));
}

TEST(ItemsTsvTest, WriteThenReadKeepsTitlesAndSourceIds) {
  TempDir dir;
  std::string p = dir.path() + "/items.tsv";
  ASSERT_TRUE(WriteItemsTsv(p, {{1, "A\tB", "100"}, {2, "C", "200"}}).ok());
  StatusOr<std::vector<ItemTitle>> items = ReadItemsTsv(p);
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].title, "A B");
  EXPECT_EQ((*items)[1].source_id, "200");
  std::string bad = dir.Write("bad.tsv", "item_id\ttitle\n1\tA\nnotab\n");
  StatusOr<std::vector<ItemTitle>> err = ReadItemsTsv(bad);
  ASSERT_FALSE(err.ok());
  EXPECT_THAT(err.status().message(), HasSubstr(bad + ":3:"));
}

TEST(SyntheticTest, IsDeterministicInTheSeed) {
  SyntheticOptions o;
  o.num_users = 50;
  o.num_items = 40;
  o.num_clusters = 4;
  StatusOr<SyntheticData> a = GenerateSynthetic(o);
  StatusOr<SyntheticData> b = GenerateSynthetic(o);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->sequences.sequences, b->sequences.sequences);
  o.seed = 43;
  StatusOr<SyntheticData> c = GenerateSynthetic(o);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->sequences.sequences, c->sequences.sequences);
  EXPECT_EQ(a->items.size(), 40u);
  for (int64_t u = 1; u <= 50; ++u) {
    const auto& s = a->sequences.sequences[u];
    EXPECT_GE(s.size(), 5u);
    EXPECT_LE(s.size(), 30u);
    for (int64_t item : s) {
      EXPECT_GE(item, 1);
      EXPECT_LE(item, 40);
    }
  }
}

TEST(SyntheticTest, PlantsTheSuccessorStructure) {
  SyntheticOptions o;
  o.num_users = 200;
  o.p_next = 1.0;
  StatusOr<SyntheticData> d = GenerateSynthetic(o);
  ASSERT_TRUE(d.ok());
  // With p_next = 1 every item always has the same successor.
  std::vector<int64_t> next(o.num_items + 1, 0);
  for (int64_t u = 1; u <= o.num_users; ++u) {
    const auto& s = d->sequences.sequences[u];
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      if (next[s[i]] == 0) next[s[i]] = s[i + 1];
      EXPECT_EQ(next[s[i]], s[i + 1]);
    }
  }
  o.num_items = 5;  // fewer than 2 per cluster
  EXPECT_FALSE(GenerateSynthetic(o).ok());
}

}  // namespace
}  // namespace sasrecllm::model
