#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "model/interaction_data.h"
#include "model/sasrec_eval.h"
#include "model/sasrec_trainer.h"

namespace sasrecllm::model {
namespace {

namespace fs = std::filesystem;

TEST(MetricsTest, HitRateAndNdcgMatchHandComputedValues) {
  // Ranks 0, 1, 9 hit (< 10); 10 and 50 miss.
  // NDCG = (1/log2(2) + 1/log2(3) + 1/log2(11)) / 5
  //      = (1 + 0.6309298 + 0.2890648) / 5 = 0.3839989.
  RankMetrics m = MetricsFromRanks({0, 1, 9, 10, 50}, 10);
  EXPECT_EQ(m.users, 5);
  EXPECT_DOUBLE_EQ(m.hr, 0.6);
  EXPECT_NEAR(m.ndcg, 0.3839989, 1e-6);
  EXPECT_EQ(MetricsFromRanks({}, 10).users, 0);
}

TEST(MetricsTest, RankCountsOnlyStrictlyHigherScores) {
  const float scores[] = {0.5f, 0.9f, 0.1f, 0.5f, 0.7f};
  EXPECT_EQ(RankOfFirst(scores, 5), 2);
  const float best[] = {3.0f, 1.0f, 2.0f};
  EXPECT_EQ(RankOfFirst(best, 3), 0);
}

SplitData TinySplit() {
  SequenceData data;
  data.sequences = {{}, {1, 2, 3, 4, 5, 6, 7}, {8, 9}, {10, 11, 12}, {3, 5, 1, 9, 12}};
  data.user_num = 4;
  data.item_num = 30;
  return SplitLeaveLastTwo(data);
}

TEST(SamplerTest, AlignsPositivesAndNeverDrawsNegativesFromTheUsersTrainSet) {
  SplitData split = TinySplit();
  const int64_t maxlen = 4;
  SasrecBatchSampler sampler(split, maxlen, 7);
  EXPECT_EQ(sampler.num_eligible_users(), 3);  // user 3 has 1 train item
  for (int rep = 0; rep < 20; ++rep) {
    SasrecBatch b = sampler.Next(16);
    ASSERT_EQ(b.seq.sizes(), (std::vector<int64_t>{16, maxlen}));
    for (int64_t i = 0; i < 16; ++i) {
      const int64_t u = b.users[i].item<int64_t>();
      ASSERT_NE(u, 3);
      const auto& train = split.train[u];
      // The last position's target is the final train item; seq holds the
      // items before it, right-aligned.
      EXPECT_EQ(b.pos[i][maxlen - 1].item<int64_t>(), train.back());
      for (int64_t t = 0; t < maxlen; ++t) {
        const int64_t s = b.seq[i][t].item<int64_t>();
        const int64_t p = b.pos[i][t].item<int64_t>();
        const int64_t n = b.neg[i][t].item<int64_t>();
        if (p == 0) {
          EXPECT_EQ(s, 0);
          EXPECT_EQ(n, 0);
          continue;
        }
        EXPECT_NE(s, 0);
        if (t + 1 < maxlen) EXPECT_EQ(p, b.seq[i][t + 1].item<int64_t>());
        EXPECT_GE(n, 1);
        EXPECT_LE(n, split.item_num);
        EXPECT_EQ(std::count(train.begin(), train.end(), n), 0) << "user " << u << " neg " << n;
      }
    }
  }
  // User 1's train = 1..5 and maxlen 4: seq = 1 2 3 4, pos = 2 3 4 5.
  SasrecBatchSampler again(split, maxlen, 7);
  for (int rep = 0; rep < 50; ++rep) {
    SasrecBatch b = again.Next(1);
    if (b.users[0].item<int64_t>() != 1) continue;
    EXPECT_TRUE(b.seq[0].equal(torch::tensor({1, 2, 3, 4}, torch::kInt64)));
    EXPECT_TRUE(b.pos[0].equal(torch::tensor({2, 3, 4, 5}, torch::kInt64)));
    break;
  }
}

// A synthetic data set of `users` users and 40 items (seed 3), split.
SplitData SyntheticSplit(int64_t users) {
  SyntheticOptions so;
  so.num_users = users;
  so.num_items = 40;
  so.seed = 3;
  StatusOr<SyntheticData> data = GenerateSynthetic(so);
  EXPECT_TRUE(data.ok()) << data.status();
  return data.ok() ? SplitLeaveLastTwo(data->sequences) : SplitData{};
}

TEST(SamplerTest, DrawsEveryEligibleUserOncePerPassInAFreshOrder) {
  SplitData split = SyntheticSplit(50);
  SasrecBatchSampler sampler(split, 5, 11);
  const int64_t n = sampler.num_eligible_users();
  ASSERT_GT(n, 10);
  std::vector<std::vector<int64_t>> passes;
  for (int pass = 0; pass < 3; ++pass) {
    // Batches of 7 do not divide n: passes are cut inside batches.
    std::vector<int64_t> drawn;
    while (static_cast<int64_t>(drawn.size()) < n) {
      SasrecBatch b = sampler.Next(1);
      drawn.push_back(b.users[0].item<int64_t>());
    }
    std::vector<int64_t> sorted = drawn;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end())
        << "a user drawn twice in pass " << pass;
    passes.push_back(drawn);
  }
  EXPECT_NE(passes[0], passes[1]) << "the order must be shuffled again for each pass";
  // Batches that straddle a pass boundary continue the next pass.
  SasrecBatchSampler batched(split, 5, 11);
  std::vector<int64_t> first_two_passes;
  while (static_cast<int64_t>(first_two_passes.size()) < 2 * n) {
    SasrecBatch b = batched.Next(7);
    for (int64_t i = 0; i < 7; ++i) first_two_passes.push_back(b.users[i].item<int64_t>());
  }
  first_two_passes.resize(2 * n);
  std::vector<int64_t> expected = passes[0];
  expected.insert(expected.end(), passes[1].begin(), passes[1].end());
  EXPECT_EQ(first_two_passes, expected);
}

// The users drawn by `batches` batches of `batch_size` (a SasrecBatchSampler
// or a SasrecWarpSampler).
template <typename Sampler>
std::vector<int64_t> DrawnUsers(Sampler& sampler, int64_t batches, int64_t batch_size) {
  std::vector<int64_t> users;
  for (int64_t i = 0; i < batches; ++i) {
    SasrecBatch b = sampler.Next(batch_size);
    for (int64_t r = 0; r < batch_size; ++r) users.push_back(b.users[r].item<int64_t>());
  }
  return users;
}

TEST(SamplerTest, WarpSamplerTakesItsStreamsInTurnSoAnEpochMayRepeatUsers) {
  SplitData split = SyntheticSplit(60);
  ASSERT_GT(split.user_num, 0);
  const int64_t n = SasrecBatchSampler(split, 5, 11).num_eligible_users();
  ASSERT_EQ(n % 6, 0) << "the test wants whole batches of 6 per pass";
  const int64_t epoch_batches = n / 6;

  // One stream is the plain sampler: every user exactly once per epoch.
  SasrecWarpSampler one(split, 5, 11, /*streams=*/1);
  SasrecBatchSampler plain(split, 5, 11);
  const std::vector<int64_t> expected = DrawnUsers(plain, epoch_batches, 6);
  EXPECT_EQ(DrawnUsers(one, epoch_batches, 6), expected);

  // Three streams: batches 0, 3, 6, ... are stream 0's (the plain sampler's),
  // and over an epoch some users come more than once and some not at all.
  SasrecWarpSampler three(split, 5, 11, /*streams=*/3);
  std::vector<int64_t> drawn = DrawnUsers(three, epoch_batches, 6);
  std::vector<int64_t> stream0;
  for (int64_t i = 0; i < epoch_batches; i += 3) {
    stream0.insert(stream0.end(), drawn.begin() + 6 * i, drawn.begin() + 6 * i + 6);
  }
  const std::vector<int64_t> plain_prefix(expected.begin(), expected.begin() + stream0.size());
  EXPECT_EQ(stream0, plain_prefix);
  std::vector<int64_t> sorted = drawn;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NE(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end())
      << "three independent orders should repeat some user within an epoch";
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  EXPECT_LT(static_cast<int64_t>(sorted.size()), n);

  // Deterministic for a seed.
  SasrecWarpSampler again(split, 5, 11, 3);
  EXPECT_EQ(DrawnUsers(again, epoch_batches, 6), drawn);
}

TEST(SasrecTrainTest, TinyRunLowersLossAndBeatsRandomHitRate) {
  torch::set_num_threads(1);  // robust on a shared, oversubscribed machine
  SyntheticOptions so;
  so.num_users = 600;
  so.num_items = 120;
  so.num_clusters = 6;
  so.min_length = 8;
  so.max_length = 20;
  so.seed = 5;
  StatusOr<SyntheticData> data = GenerateSynthetic(so);
  ASSERT_TRUE(data.ok());
  SplitData split = SplitLeaveLastTwo(data->sequences);

  SasrecConfig config;
  config.item_num = split.item_num;
  config.maxlen = 20;
  config.hidden_units = 32;
  config.dropout_rate = 0.2;
  SasrecTrainOptions opts;
  opts.epochs = 25;
  opts.batch_size = 32;
  opts.eval_every = 25;
  opts.seed = 3;
  opts.out_dir = (fs::temp_directory_path() / ("sasrec_train_test_" + std::to_string(getpid())))
                     .string();
  StatusOr<SasrecTrainResult> r = TrainSasrec(split, config, opts);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->history.size(), 25u);
  EXPECT_LT(r->history.back().loss, 0.8 * r->history.front().loss);
  // Random ranking gives HR@10 = 10/101 ~ 0.1.
  EXPECT_GT(r->test_at_best.hr, 0.4);
  EXPECT_EQ(r->best_epoch, 25);

  // The written checkpoint loads and scores the same.
  StatusOr<Sasrec> loaded = LoadSasrecCheckpoint(opts.out_dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EvalOptions eo;
  eo.seed = opts.seed;
  StatusOr<RankMetrics> m = EvaluateSasrec(*loaded, split, eo);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_NEAR(m->hr, r->test_at_best.hr, 1e-9);
  EXPECT_NEAR(m->ndcg, r->test_at_best.ndcg, 1e-6);
  EXPECT_TRUE(fs::exists(opts.out_dir + "/train_log.json"));

  // Resuming continues after epoch 25 from out_dir/last.
  opts.resume = true;
  opts.epochs = 26;
  opts.eval_every = 0;
  StatusOr<SasrecTrainResult> resumed = TrainSasrec(split, config, opts);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->history.size(), 26u);
  EXPECT_GT(resumed->test_at_best.hr, 0.4);
  fs::remove_all(opts.out_dir);
}

}  // namespace
}  // namespace sasrecllm::model
