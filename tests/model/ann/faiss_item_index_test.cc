#include "model/ann/faiss_item_index.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "model/sasrec_ranker.h"
#include "tests/model/tiny_sasrec.h"

namespace sasrecllm::ann {
namespace {

namespace fs = std::filesystem;

// [n + 1, h] embeddings (row 0 padding) in `clusters` clusters: centre + 0.3 noise.
torch::Tensor ClusteredEmbeddings(int64_t n, int64_t h, int64_t clusters, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor centres = torch::randn({clusters, h});
  torch::Tensor of = torch::randint(clusters, {n}, torch::kLong);
  torch::Tensor emb = torch::zeros({n + 1, h});
  emb.slice(0, 1).copy_(centres.index_select(0, of) + 0.3 * torch::randn({n, h}));
  return emb;
}

// The exact top-k item indices (1-based) of each row of `users` [B, H].
std::vector<std::vector<int64_t>> ExactTopK(const torch::Tensor& emb, const torch::Tensor& users,
                                            int64_t k) {
  torch::Tensor scores = torch::matmul(users, emb.slice(0, 1).t());  // [B, N]
  torch::Tensor idx = std::get<1>(torch::topk(scores, k, 1)) + 1;    // [B, k]
  std::vector<std::vector<int64_t>> out(users.size(0));
  for (int64_t r = 0; r < users.size(0); ++r) {
    for (int64_t j = 0; j < k; ++j) out[r].push_back(idx[r][j].item<int64_t>());
  }
  return out;
}

double Recall(const std::vector<std::vector<int64_t>>& exact,
              const std::vector<std::vector<model::ScoredItem>>& found) {
  double sum = 0;
  for (size_t r = 0; r < exact.size(); ++r) {
    std::set<int64_t> truth(exact[r].begin(), exact[r].end());
    int64_t hits = 0;
    for (const auto& item : found[r]) hits += truth.count(item.index);
    sum += static_cast<double>(hits) / exact[r].size();
  }
  return sum / exact.size();
}

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("ann_test_" + std::to_string(getpid()))) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

TEST(AutoFactoryTest, IsExactForSmallCatalogsAndIvfNearSqrtNForLargeOnes) {
  EXPECT_EQ(AutoFactory(1000), "Flat");
  EXPECT_EQ(AutoFactory(19999), "Flat");
  EXPECT_EQ(AutoFactory(1000000), "IVF1024,Flat");    // sqrt = 1000
  EXPECT_EQ(AutoFactory(10000000), "IVF4096,Flat");   // sqrt = 3162, log2 = 11.6
}

TEST(FaissItemIndexTest, FlatIndexReturnsTheExactTopKWithItemIndicesAndDotProducts) {
  const torch::Tensor emb = ClusteredEmbeddings(300, 8, 5, 1);
  FaissIndexBuildOptions options;
  options.factory = "Flat";
  auto index = FaissItemIndex::Build(emb, options);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ((*index)->size(), 300);
  EXPECT_EQ((*index)->dim(), 8);
  const torch::Tensor users = torch::randn({6, 8});
  auto found = (*index)->Search(users, 10);
  ASSERT_TRUE(found.ok()) << found.status();
  const auto exact = ExactTopK(emb, users, 10);
  for (size_t r = 0; r < exact.size(); ++r) {
    ASSERT_EQ((*found)[r].size(), 10u);
    for (size_t j = 0; j < 10; ++j) {
      EXPECT_EQ((*found)[r][j].index, exact[r][j]) << "row " << r << " rank " << j;
      const float dot = torch::dot(users[r], emb[(*found)[r][j].index]).item<float>();
      EXPECT_NEAR((*found)[r][j].score, dot, 1e-4);
    }
  }
}

TEST(FaissItemIndexTest, IvfRecallGrowsWithProbesAndIsExactWhenAllListsAreProbed) {
  const torch::Tensor emb = ClusteredEmbeddings(4000, 16, 40, 2);
  FaissIndexBuildOptions options;
  options.factory = "IVF32,Flat";
  auto built = FaissItemIndex::Build(emb, options);
  ASSERT_TRUE(built.ok()) << built.status();
  FaissItemIndex& index = **built;
  const std::vector<std::string> ladder = index.SearchParamLadder();
  ASSERT_EQ(ladder.front(), "nprobe=1");
  ASSERT_EQ(ladder.back(), "nprobe=32");
  // Queries near the data, as SASRec's user vectors are.
  const torch::Tensor users = emb.slice(0, 1, 201) + 0.1 * torch::randn({200, 16});
  const auto exact = ExactTopK(emb, users, 50);
  ASSERT_TRUE(index.SetSearchParams("nprobe=1").ok());
  const double one = Recall(exact, *index.Search(users, 50));
  ASSERT_TRUE(index.SetSearchParams("nprobe=32").ok());
  const double all = Recall(exact, *index.Search(users, 50));
  EXPECT_LT(one, all);
  EXPECT_GT(all, 0.999);  // every list probed: exact up to float ties
  EXPECT_EQ(index.Describe(), "faiss IVF32,Flat nprobe=32");
}

TEST(FaissItemIndexTest, SavedAndLoadedIndexAnswersTheSame) {
  TempDir dir;
  const torch::Tensor emb = ClusteredEmbeddings(2000, 8, 20, 3);
  FaissIndexBuildOptions options;
  options.factory = "IVF16,Flat";
  auto built = FaissItemIndex::Build(emb, options);
  ASSERT_TRUE(built.ok()) << built.status();
  ASSERT_TRUE((*built)->SetSearchParams("nprobe=4").ok());
  ASSERT_TRUE((*built)->Save(dir.file("index.faiss")).ok());
  auto loaded = FaissItemIndex::Load(dir.file("index.faiss"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_TRUE((*loaded)->SetSearchParams("nprobe=4").ok());
  const torch::Tensor users = torch::randn({5, 8});
  auto a = (*built)->Search(users, 20);
  auto b = (*loaded)->Search(users, 20);
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t r = 0; r < 5; ++r) {
    ASSERT_EQ((*a)[r].size(), (*b)[r].size());
    for (size_t j = 0; j < (*a)[r].size(); ++j) EXPECT_EQ((*a)[r][j].index, (*b)[r][j].index);
  }
}

TEST(FaissItemIndexTest, RefusesBadInputsWithMessagesNamingThem) {
  const torch::Tensor emb = ClusteredEmbeddings(100, 8, 4, 4);
  FaissIndexBuildOptions options;
  options.factory = "NoSuchIndex";
  auto bad = FaissItemIndex::Build(emb, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("NoSuchIndex"), std::string::npos) << bad.status();
  options.factory = "IVF256,Flat";  // more lists than items
  bad = FaissItemIndex::Build(emb, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("only 100 items"), std::string::npos) << bad.status();

  options.factory = "Flat";
  auto index = FaissItemIndex::Build(emb, options);
  ASSERT_TRUE(index.ok());
  Status params = (*index)->SetSearchParams("nprobe=4");  // Flat has no nprobe
  EXPECT_EQ(params.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(params.message().find("nprobe=4"), std::string::npos) << params;
  EXPECT_FALSE((*index)->Search(torch::randn({2, 7}), 3).ok());  // wrong width

  TempDir dir;
  const std::string garbage = dir.file("garbage.faiss");
  { std::ofstream(garbage) << "not an index"; }
  auto loaded = FaissItemIndex::Load(garbage);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("garbage.faiss"), std::string::npos);
  EXPECT_EQ(FaissItemIndex::Load(dir.file("missing.faiss")).status().code(),
            StatusCode::kNotFound);
}

TEST(RankerWithIndexTest, AnswersAsTheExactRankerAndStillExcludesTheHistory) {
  torch::manual_seed(5);
  model::Sasrec sasrec(model::testing::TinySasrecConfig(/*item_num=*/200, /*hidden_units=*/16,
                                                         /*dropout_rate=*/0.0));
  sasrec->eval();
  torch::Tensor emb;
  {
    c10::InferenceMode inference;
    emb = sasrec->ItemEmbeddings().clone();
  }
  FaissIndexBuildOptions options;
  options.factory = "Flat";  // exact: the two rankers must agree item for item
  auto index = FaissItemIndex::Build(emb, options);
  ASSERT_TRUE(index.ok()) << index.status();
  model::SasrecRanker exact(sasrec, torch::kCPU);
  model::SasrecRanker with_index(sasrec, torch::kCPU, std::move(*index));

  std::vector<model::RankQuery> queries(3);
  queries[0].history = {3, 9, 27};
  queries[0].exclude = queries[0].history;
  queries[0].top_k = 10;
  queries[1].history = {};  // cold user
  queries[1].top_k = 5;
  queries[2].history = {1, 2};
  queries[2].candidates = {4, 5, 6};  // candidate queries stay exact
  queries[2].top_k = 2;
  // Exclude every item the exact ranker puts first, so the index must look past them.
  auto first = exact.Rank({queries[0]});
  ASSERT_TRUE(first.ok());
  for (const auto& item : (*first)[0]) queries[0].exclude.push_back(item.index);

  auto a = exact.Rank(queries);
  auto b = with_index.Rank(queries);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  for (size_t q = 0; q < queries.size(); ++q) {
    ASSERT_EQ((*a)[q].size(), (*b)[q].size()) << "query " << q;
    ASSERT_EQ(static_cast<int64_t>((*b)[q].size()), queries[q].top_k) << "query " << q;
    for (size_t j = 0; j < (*a)[q].size(); ++j) {
      EXPECT_EQ((*a)[q][j].index, (*b)[q][j].index) << "query " << q << " rank " << j;
      EXPECT_NEAR((*a)[q][j].score, (*b)[q][j].score, 1e-4);
      EXPECT_EQ(std::count(queries[q].exclude.begin(), queries[q].exclude.end(),
                           (*b)[q][j].index), 0);
    }
  }
}

}  // namespace
}  // namespace sasrecllm::ann
