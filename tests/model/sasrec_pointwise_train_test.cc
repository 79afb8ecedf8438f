// TrainSasrecPointwise (model/sasrec_pointwise_trainer.h) on a small CoLLM-like
// split with planted preferences: 40 items in 4 genres of 10; each user likes
// one genre; a history holds liked items of that genre; a row is liked when its
// item is of the user's genre (10% of labels flipped).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "base/auc.h"
#include "model/sasrec_pointwise.h"
#include "model/sasrec_pointwise_trainer.h"
#include "model/sasrec_trainer.h"
#include "tests/model/llm/shared_data.h"

namespace sasrecllm::model {
namespace {

using llm::testing::TempDir;

constexpr int64_t kItems = 40;
constexpr int64_t kGenres = 4;

int64_t Genre(int64_t item) { return (item - 1) / (kItems / kGenres); }

std::vector<CollmRow> PlantedRows(int64_t users, int64_t rows_per_user, uint64_t seed,
                                  int64_t first_user = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> any_item(1, kItems);
  std::uniform_int_distribution<int64_t> in_genre(0, kItems / kGenres - 1);
  std::bernoulli_distribution flip(0.1);
  std::vector<CollmRow> rows;
  for (int64_t u = first_user; u < first_user + users; ++u) {
    const int64_t genre = u % kGenres;
    std::vector<int64_t> history;
    for (int i = 0; i < 3; ++i) history.push_back(1 + genre * (kItems / kGenres) + in_genre(rng));
    for (int64_t k = 0; k < rows_per_user; ++k) {
      CollmRow r;
      r.user_id = u;
      r.item_id = any_item(rng);
      r.label = (Genre(r.item_id) == genre) != flip(rng) ? 1 : 0;
      r.warm = k % 2 == 0;
      r.history = history;
      r.line = static_cast<int64_t>(rows.size()) + 2;
      rows.push_back(r);
      if (r.label == 1) history.push_back(r.item_id);
    }
  }
  return rows;
}

SasrecConfig SmallConfig() {
  SasrecConfig c = CollmPointwiseSasrecConfig();
  c.item_num = kItems;
  c.maxlen = 6;
  c.hidden_units = 16;
  return c;
}

PointwiseTrainOptions SmallOptions(int64_t epochs) {
  PointwiseTrainOptions o;
  o.max_epochs = epochs;
  o.batch_size = 64;
  o.lr = 1e-2;
  o.weight_decay = 1e-4;
  o.patience = 1000;
  return o;
}

struct Splits {
  std::vector<CollmRow> train = PlantedRows(40, 20, 1);
  std::vector<CollmRow> valid = PlantedRows(40, 6, 2);
};

bool SameWeights(Sasrec a, Sasrec b) {
  const auto sa = a->StateDict(), sb = b->StateDict();
  if (sa.size() != sb.size()) return false;
  for (const auto& [name, t] : sa) {
    if (!sb.count(name) || !torch::equal(t, sb.at(name))) return false;
  }
  return true;
}

TEST(SasrecPointwiseTrainTest, LearnsPlantedPreferencesAndKeepsTheBestOnValidation) {
  torch::set_num_threads(1);
  Splits s;
  TempDir dir;
  PointwiseTrainOptions o = SmallOptions(15);
  o.out_dir = dir.path() + "/run";
  StatusOr<PointwiseTrainResult> r = TrainSasrecPointwise(s.train, s.valid, SmallConfig(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->history.size(), 15u);
  EXPECT_FALSE(r->stopped_early);
  // Random scores give 0.5; a perfect genre scorer, with 10% of labels
  // flipped, 0.857 (0.18 / 0.21 of the (positive, negative) pairs).
  EXPECT_GT(r->best_valid.all.auc, 0.75);
  EXPECT_LT(r->history.back().loss, r->history.front().loss);
  double best = -1;
  for (const PointwiseEpochRecord& e : r->history) best = std::max(best, e.valid.all.auc);
  EXPECT_DOUBLE_EQ(r->best_valid.all.auc, best);
  EXPECT_DOUBLE_EQ(r->history[r->best_epoch - 1].valid.all.auc, best);

  // The folder holds that model: it scores the same AUC, and the returned
  // model is it.
  StatusOr<Sasrec> saved = LoadSasrecCheckpoint(o.out_dir);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  EXPECT_TRUE(SameWeights(*saved, r->model));
  StatusOr<std::vector<float>> scores = SasrecPointwiseScores(*saved, s.valid, 100);
  ASSERT_TRUE(scores.ok());
  StatusOr<PointwiseReport> report = EvaluatePointwise(*scores, s.valid);
  ASSERT_TRUE(report.ok());
  EXPECT_NEAR(report->all.auc, best, 1e-9);
  EXPECT_TRUE(std::filesystem::exists(o.out_dir + "/train_log.json"));
  EXPECT_TRUE(std::filesystem::exists(o.out_dir + "/last/optimizer.pt"));
}

TEST(SasrecPointwiseTrainTest, IsDeterministicAndAResumedRunEqualsAnUninterruptedOne) {
  torch::set_num_threads(1);
  Splits s;
  TempDir dir;
  PointwiseTrainOptions o = SmallOptions(4);
  o.out_dir = dir.path() + "/whole";
  StatusOr<PointwiseTrainResult> whole = TrainSasrecPointwise(s.train, s.valid, SmallConfig(), o);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();

  o.out_dir = dir.path() + "/again";
  StatusOr<PointwiseTrainResult> again = TrainSasrecPointwise(s.train, s.valid, SmallConfig(), o);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(SameWeights(whole->model, again->model));

  // Two epochs, then a second process resumes to four.
  o.out_dir = dir.path() + "/resumed";
  o.max_epochs = 2;
  ASSERT_TRUE(TrainSasrecPointwise(s.train, s.valid, SmallConfig(), o).ok());
  o.max_epochs = 4;
  o.resume = true;
  StatusOr<PointwiseTrainResult> resumed = TrainSasrecPointwise(s.train, s.valid, SmallConfig(), o);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  ASSERT_EQ(resumed->history.size(), 4u);
  EXPECT_EQ(resumed->best_epoch, whole->best_epoch);
  for (size_t e = 0; e < 4; ++e) {
    EXPECT_DOUBLE_EQ(resumed->history[e].loss, whole->history[e].loss) << "epoch " << e + 1;
    EXPECT_DOUBLE_EQ(resumed->history[e].valid.all.auc, whole->history[e].valid.all.auc);
  }
  EXPECT_TRUE(SameWeights(whole->model, resumed->model));
  StatusOr<Sasrec> last_whole = LoadSasrecCheckpoint(dir.path() + "/whole/last");
  StatusOr<Sasrec> last_resumed = LoadSasrecCheckpoint(dir.path() + "/resumed/last");
  ASSERT_TRUE(last_whole.ok() && last_resumed.ok());
  EXPECT_TRUE(SameWeights(*last_whole, *last_resumed));

  // The comparison can fail: another seed trains other weights.
  o.out_dir = "";
  o.resume = false;
  o.seed = 43;
  StatusOr<PointwiseTrainResult> other = TrainSasrecPointwise(s.train, s.valid, SmallConfig(), o);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(SameWeights(whole->model, other->model));
}

TEST(SasrecPointwiseTrainTest, StopsAfterPatienceEpochsWithoutABetterValidationAuc) {
  torch::set_num_threads(1);
  Splits s;
  PointwiseTrainOptions o = SmallOptions(300);
  o.patience = 3;
  StatusOr<PointwiseTrainResult> r = TrainSasrecPointwise(s.train, s.valid, SmallConfig(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->stopped_early);
  ASSERT_LT(r->history.size(), 300u);
  EXPECT_EQ(static_cast<int64_t>(r->history.size()), r->best_epoch + 3);
  for (size_t e = r->best_epoch; e < r->history.size(); ++e) {
    EXPECT_LE(r->history[e].valid.all.auc, r->best_valid.all.auc);
  }
}

TEST(SasrecPointwiseTrainTest, StartsFromTheGivenModel) {
  torch::set_num_threads(1);
  Splits s;
  StatusOr<PointwiseTrainResult> first =
      TrainSasrecPointwise(s.train, s.valid, SmallConfig(), SmallOptions(10));
  ASSERT_TRUE(first.ok());
  // A learning rate too small to move the weights: epoch 1 of the new run
  // scores what the initial model scores; a random start would be near 0.5.
  PointwiseTrainOptions o = SmallOptions(1);
  o.lr = 1e-12;
  o.weight_decay = 0;
  StatusOr<PointwiseTrainResult> from =
      TrainSasrecPointwise(s.train, s.valid, SmallConfig(), o, first->model);
  ASSERT_TRUE(from.ok()) << from.status().ToString();
  EXPECT_NEAR(from->best_valid.all.auc, first->best_valid.all.auc, 1e-3);
  EXPECT_GT(from->best_valid.all.auc, 0.75);

  // A model to train with more items than the initial one knows (a next-item
  // run's catalog is smaller): the known rows are copied, the others start
  // random, and the known items score as before.
  SasrecConfig more_items = SmallConfig();
  more_items.item_num += 5;
  StatusOr<PointwiseTrainResult> wider =
      TrainSasrecPointwise(s.train, s.valid, more_items, o, first->model);
  ASSERT_TRUE(wider.ok()) << wider.status().ToString();
  EXPECT_NEAR(wider->best_valid.all.auc, first->best_valid.all.auc, 1e-3);
  const torch::Tensor known = first->model->ItemEmbeddings().detach();  // [item_num + 1, d]
  EXPECT_TRUE(torch::allclose(wider->model->ItemEmbeddings().detach().narrow(0, 0, known.size(0)),
                              known, 0, 1e-6));
  SasrecConfig fewer_items = SmallConfig();
  fewer_items.item_num -= 1;
  StatusOr<PointwiseTrainResult> narrower =
      TrainSasrecPointwise(s.train, s.valid, fewer_items, o, first->model);
  ASSERT_FALSE(narrower.ok());
  EXPECT_NE(narrower.status().message().find("item_num may not be larger"), std::string::npos)
      << narrower.status().message();

  SasrecConfig other = SmallConfig();
  other.hidden_units = 8;
  StatusOr<PointwiseTrainResult> mismatched =
      TrainSasrecPointwise(s.train, s.valid, other, o, first->model);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mismatched.status().message().find("the initial model"), std::string::npos)
      << mismatched.status().message();
}

TEST(SasrecPointwiseTrainTest, RefusesInputItCannotTrainOnNamingTheProblem) {
  torch::set_num_threads(1);
  Splits s;
  const PointwiseTrainOptions o = SmallOptions(1);
  auto message = [&](const std::vector<CollmRow>& train, const std::vector<CollmRow>& valid,
                     PointwiseTrainOptions opts) {
    StatusOr<PointwiseTrainResult> r = TrainSasrecPointwise(train, valid, SmallConfig(), opts);
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.status().message();
  };
  std::vector<CollmRow> beyond = s.train;
  beyond[5].item_id = kItems + 1;
  EXPECT_NE(message(beyond, s.valid, o).find("item_id 41 is outside the model's 1..40"),
            std::string::npos);
  std::vector<CollmRow> one_class = s.valid;
  for (CollmRow& r : one_class) r.label = 1;
  EXPECT_NE(message(s.train, one_class, o).find("both labels"), std::string::npos);
  EXPECT_NE(message({}, s.valid, o).find("no training rows"), std::string::npos);
  PointwiseTrainOptions bad = o;
  bad.patience = 0;
  EXPECT_NE(message(s.train, s.valid, bad).find("patience must be >= 1"), std::string::npos);
}

}  // namespace
}  // namespace sasrecllm::model
