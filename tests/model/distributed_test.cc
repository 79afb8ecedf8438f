// Data-parallel training (model/distributed.h): the collectives between two
// ranks on loopback (threads of this process, each with its own Gloo group),
// the sampler's shards, and two worker processes training SASRec the way one
// process does with the global batch.
#include "model/distributed.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "base/file.h"
#include "base/json.h"
#include "model/interaction_data.h"
#include "model/safetensors.h"
#include "model/sasrec_trainer.h"
#include "tests/model/data_parallel_workers.h"
#include "tests/model/tiny_sasrec.h"

namespace sasrecllm::model {
namespace {

namespace fs = std::filesystem;

TEST(ShardOfTest, SplitsRowsContiguouslyInRankOrderWithSizesWithinOne) {
  for (int64_t world : {1, 2, 3, 4}) {
    for (int64_t n : {0, 1, 3, 7, 16, 33}) {
      int64_t next = 0;
      for (int64_t r = 0; r < world; ++r) {
        ShardRange s = ShardOf(n, r, world);
        EXPECT_EQ(s.begin, next) << "n " << n << " world " << world << " rank " << r;
        EXPECT_GE(s.size(), n / world);
        EXPECT_LE(s.size(), n / world + 1);
        next = s.end;
      }
      EXPECT_EQ(next, n);
    }
  }
}

// Sets environment variables for one test and restores them after.
class ScopedEnv {
 public:
  void Set(const std::string& name, const char* value) {
    const char* old = std::getenv(name.c_str());
    saved_.emplace_back(name, old == nullptr ? std::nullopt : std::optional<std::string>(old));
    if (value == nullptr) {
      unsetenv(name.c_str());
    } else {
      setenv(name.c_str(), value, 1);
    }
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second.has_value()) {
        setenv(it->first.c_str(), it->second->c_str(), 1);
      } else {
        unsetenv(it->first.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(LaunchEnvironmentTest, ReadsTorchrunVariablesAndNamesTheBadOne) {
  ScopedEnv env;
  for (const char* v : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}) {
    env.Set(v, nullptr);
  }
  StatusOr<LaunchEnvironment> none = LaunchEnvironment::FromEnvironment();
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->world_size, 1);
  // No WORLD_SIZE: no process group at all.
  StatusOr<std::unique_ptr<DataParallel>> single = DataParallel::CreateFromEnvironment({});
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ(*single, nullptr);

  env.Set("WORLD_SIZE", "4");
  env.Set("RANK", "3");
  env.Set("LOCAL_RANK", "1");
  env.Set("MASTER_ADDR", "10.0.0.7");
  env.Set("MASTER_PORT", "29511");
  StatusOr<LaunchEnvironment> four = LaunchEnvironment::FromEnvironment();
  ASSERT_TRUE(four.ok()) << four.status();
  EXPECT_EQ(four->world_size, 4);
  EXPECT_EQ(four->rank, 3);
  EXPECT_EQ(four->local_rank, 1);
  EXPECT_EQ(four->master_addr, "10.0.0.7");
  EXPECT_EQ(four->master_port, 29511);

  env.Set("RANK", "4");
  StatusOr<LaunchEnvironment> bad_rank = LaunchEnvironment::FromEnvironment();
  ASSERT_FALSE(bad_rank.ok());
  EXPECT_NE(bad_rank.status().message().find("RANK=4"), std::string::npos) << bad_rank.status();
  env.Set("RANK", "x1");
  EXPECT_EQ(LaunchEnvironment::FromEnvironment().status().code(), StatusCode::kInvalidArgument);
  env.Set("RANK", nullptr);
  EXPECT_EQ(LaunchEnvironment::FromEnvironment().status().code(),
            StatusCode::kFailedPrecondition);
  env.Set("RANK", "0");
  env.Set("MASTER_PORT", "70000");
  EXPECT_EQ(LaunchEnvironment::FromEnvironment().status().code(), StatusCode::kInvalidArgument);
}

// Two ranks in two threads of this process, each with its own TCPStore
// client and Gloo group; rank 0 listens on a port the kernel picks and
// tells rank 1. body(dp) runs on each rank's thread.
void RunTwoRanks(int64_t bucket_bytes, const std::function<void(DataParallel&)>& body) {
  std::promise<int64_t> port;
  auto run = [&](int64_t rank, int64_t master_port) {
    DataParallelOptions o;
    o.rank = rank;
    o.world_size = 2;
    o.master_port = master_port;
    o.timeout = std::chrono::seconds(30);
    o.bucket_bytes = bucket_bytes;
    if (rank == 0) o.on_store_listening = [&](int64_t p) { port.set_value(p); };
    StatusOr<std::unique_ptr<DataParallel>> dp = DataParallel::Create(o);
    if (!dp.ok() && rank == 0) port.set_value(-1);
    ASSERT_TRUE(dp.ok()) << dp.status();
    EXPECT_EQ((*dp)->rank(), rank);
    EXPECT_EQ((*dp)->backend_name(), "gloo");
    body(**dp);
  };
  std::thread rank0(run, 0, 0);
  const int64_t p = port.get_future().get();
  if (p > 0) {
    std::thread rank1(run, 1, p);
    rank1.join();
  }
  rank0.join();
}

TEST(DataParallelTest, AveragesGradientsAcrossBucketsAndCountsMissingOnesAsZero) {
  // 64-byte buckets: the 3x5 weight alone fills several; each one reduced.
  RunTwoRanks(64, [](DataParallel& dp) {
    const double r = static_cast<double>(dp.rank());
    torch::Tensor w = torch::zeros({3, 5}, torch::requires_grad());
    torch::Tensor b = torch::zeros({5}, torch::requires_grad());
    torch::Tensor frozen = torch::zeros({2});  // no grad: skipped
    torch::Tensor unused = torch::zeros({4}, torch::requires_grad());
    w.mutable_grad() = torch::arange(15, torch::kFloat).reshape({3, 5}) * (r + 1);
    b.mutable_grad() = torch::full({5}, 10.0 * (r + 1));
    if (dp.rank() == 1) unused.mutable_grad() = torch::full({4}, 8.0);
    ASSERT_TRUE(dp.AllReduceGradients({w, b, frozen, unused}).ok());
    // Mean of (1x, 2x): 1.5x.
    EXPECT_TRUE(torch::allclose(w.grad(), torch::arange(15, torch::kFloat).reshape({3, 5}) * 1.5));
    EXPECT_TRUE(torch::allclose(b.grad(), torch::full({5}, 15.0)));
    EXPECT_FALSE(frozen.grad().defined());
    ASSERT_TRUE(unused.grad().defined());
    EXPECT_TRUE(torch::allclose(unused.grad(), torch::full({4}, 4.0)));
  });
}

TEST(DataParallelTest, BroadcastsRankZerosParametersStringsAndOptimizerState) {
  RunTwoRanks(25 << 20, [](DataParallel& dp) {
    torch::manual_seed(100 + dp.rank());  // different weights on each rank
    torch::nn::Linear layer(4, 3);
    torch::Tensor expected = torch::arange(12, torch::kFloat).reshape({3, 4});
    if (dp.IsRankZero()) {
      torch::NoGradGuard no_grad;
      layer->weight.copy_(expected);
    }
    ASSERT_TRUE(dp.BroadcastParameters(layer->parameters()).ok());
    EXPECT_TRUE(torch::equal(layer->weight, expected));

    std::string s = dp.IsRankZero() ? std::string("{\"epoch\": 7}\0x", 15) : "other";
    ASSERT_TRUE(dp.BroadcastString(&s).ok());
    EXPECT_EQ(s, std::string("{\"epoch\": 7}\0x", 15));
    bool flag = dp.IsRankZero();
    ASSERT_TRUE(dp.BroadcastBool(&flag).ok());
    EXPECT_TRUE(flag);

    // Rank 0 has taken two Adam steps; rank 1 none. After the broadcast,
    // one more identical step gives identical weights.
    torch::optim::Adam adam(layer->parameters(), torch::optim::AdamOptions(0.1));
    if (dp.IsRankZero()) {
      for (int i = 0; i < 2; ++i) {
        adam.zero_grad();
        layer->forward(torch::ones({2, 4})).sum().backward();
        adam.step();
      }
    }
    ASSERT_TRUE(dp.BroadcastParameters(layer->parameters()).ok());
    ASSERT_TRUE(dp.BroadcastOptimizer(adam).ok());
    adam.zero_grad();
    layer->forward(torch::ones({2, 4})).sum().backward();
    adam.step();
    torch::Tensor mine = layer->weight.detach().clone();
    torch::Tensor theirs = mine.clone();
    ASSERT_TRUE(dp.Broadcast({theirs}).ok());  // rank 0's
    EXPECT_TRUE(torch::equal(mine, theirs));
    EXPECT_TRUE(dp.Barrier().ok());
  });
}

TEST(SamplerShardTest, ShardsOfABatchAreItsRowsAndDrawTheSameRandomNumbers) {
  SyntheticOptions so;
  so.num_users = 60;
  so.num_items = 40;
  so.seed = 4;
  StatusOr<SyntheticData> data = GenerateSynthetic(so);
  ASSERT_TRUE(data.ok()) << data.status();
  SplitData split = SplitLeaveLastTwo(data->sequences);
  SasrecBatchSampler whole(split, 6, 21);
  std::vector<SasrecBatchSampler> ranks;
  for (int r = 0; r < 3; ++r) ranks.emplace_back(split, 6, 21);
  for (int step = 0; step < 5; ++step) {  // 5 x 25 rows: passes of ~58 users cut mid-batch
    SasrecBatch full = whole.Next(25);
    std::vector<SasrecBatch> parts;
    for (int r = 0; r < 3; ++r) {
      parts.push_back(ranks[r].Next(25, ShardOf(25, r, 3)));
      EXPECT_EQ(parts.back().targets, full.targets);
    }
    EXPECT_EQ(full.targets, full.pos.ne(0).sum().item<int64_t>());
    EXPECT_TRUE(torch::equal(torch::cat({parts[0].seq, parts[1].seq, parts[2].seq}), full.seq));
    EXPECT_TRUE(torch::equal(torch::cat({parts[0].pos, parts[1].pos, parts[2].pos}), full.pos));
    EXPECT_TRUE(torch::equal(torch::cat({parts[0].neg, parts[1].neg, parts[2].neg}), full.neg));
    EXPECT_TRUE(
        torch::equal(torch::cat({parts[0].users, parts[1].users, parts[2].users}), full.users));
  }
}

// The training both sides run: a tiny SASRec on planted data, dropout 0 (so
// that nothing random differs between one and two processes).
SplitData TinySplit() {
  SyntheticOptions so;
  so.num_users = 120;
  so.num_items = 50;
  so.num_clusters = 4;
  so.min_length = 6;
  so.max_length = 12;
  so.seed = 8;
  StatusOr<SyntheticData> data = GenerateSynthetic(so);
  EXPECT_TRUE(data.ok()) << data.status();
  return SplitLeaveLastTwo(data->sequences);
}

SasrecTrainOptions TinyTrainOptions(const std::string& out_dir) {
  SasrecTrainOptions o;
  o.epochs = 6;
  o.batch_size = 20;  // the global batch: 6 steps per epoch
  o.lr = 0.005;
  o.l2_emb = 0.001;
  o.seed = 17;
  o.eval_every = 3;
  o.out_dir = out_dir;
  return o;
}

// One rank of the two-process run below (skipped in a normal run).
TEST(DataParallelWorker, TrainsTinySasrec) {
  const char* out = std::getenv(testing::kWorkerOutEnv);
  if (out == nullptr) GTEST_SKIP() << "runs as a worker of TwoWorkersTrainAsOneWithTheGlobalBatch";
  torch::set_num_threads(1);
  DataParallelOptions dpo;
  dpo.timeout = std::chrono::seconds(60);
  StatusOr<std::unique_ptr<DataParallel>> dp = DataParallel::CreateFromEnvironment(dpo);
  ASSERT_TRUE(dp.ok()) << dp.status();
  ASSERT_NE(*dp, nullptr);
  SplitData split = TinySplit();
  SasrecTrainOptions o = TinyTrainOptions(out);
  o.data_parallel = dp->get();
  o.epochs = std::atoi(std::getenv("SASRECLLM_TEST_EPOCHS"));
  o.resume = true;
  StatusOr<SasrecTrainResult> r =
      TrainSasrec(split, testing::TinySasrecConfig(split.item_num, 16, 0.0, 8), o);
  ASSERT_TRUE(r.ok()) << r.status();
}

struct RunRecord {
  std::map<std::string, torch::Tensor> weights;  // out/last/model.safetensors
  Json log;                                     // out/train_log.json
};

RunRecord ReadRun(const std::string& dir) {
  RunRecord r;
  StatusOr<std::map<std::string, torch::Tensor>> w = ReadSafetensors(dir + "/last/model.safetensors");
  EXPECT_TRUE(w.ok()) << w.status();
  if (w.ok()) r.weights = *w;
  StatusOr<Json> log = ReadJsonFile(dir + "/train_log.json");
  EXPECT_TRUE(log.ok()) << log.status();
  if (log.ok()) r.log = *log;
  return r;
}

// Two worker processes with half the batch each train what one process does
// with the global batch: the same loss per epoch (within 1e-4), the same
// validation metrics at epochs 3 and 6 (HR@10 within 0.02: 10^-5 weight
// differences may move a user across the top-10 line), the same weights
// (within 1e-3; float sums in another order, amplified a little by Adam).
// Then a resume: the two-process run stopped at epoch 4 and continued by one
// process (the checkpoint does not depend on the world size) matches too.
TEST(DataParallelTrainTest, TwoWorkersTrainAsOneWithTheGlobalBatch) {
  torch::set_num_threads(1);
  const std::string root = (fs::temp_directory_path() /
                            ("distributed_test_" + std::to_string(getpid()))).string();
  fs::remove_all(root);
  SplitData split = TinySplit();
  const SasrecConfig config = testing::TinySasrecConfig(split.item_num, 16, 0.0, 8);

  SasrecTrainOptions one = TinyTrainOptions(root + "/one");
  ASSERT_TRUE(TrainSasrec(split, config, one).ok());
  const RunRecord ref = ReadRun(one.out_dir);

  std::string error = testing::RunDataParallelWorkers(
      "DataParallelWorker.TrainsTinySasrec", 2,
      {{testing::kWorkerOutEnv, root + "/two"}, {"SASRECLLM_TEST_EPOCHS", "6"}},
      std::chrono::seconds(120));
  ASSERT_EQ(error, "");
  const RunRecord two = ReadRun(root + "/two");
  EXPECT_EQ(two.log["options"]["world_size"], 2);

  auto compare = [&](const RunRecord& a, const RunRecord& b, const std::string& what) {
    ASSERT_EQ(a.log["epochs"].size(), b.log["epochs"].size()) << what;
    for (size_t e = 0; e < a.log["epochs"].size(); ++e) {
      const Json& x = a.log["epochs"][e];
      const Json& y = b.log["epochs"][e];
      EXPECT_NEAR(x["loss"].get<double>(), y["loss"].get<double>(), 1e-4) << what << " epoch " << e + 1;
      // (The resumed run also validated at epoch 4, the end of its first part.)
      if (x.contains("valid") && y.contains("valid")) {
        EXPECT_NEAR(x["valid"]["hr@10"].get<double>(), y["valid"]["hr@10"].get<double>(), 0.02)
            << what << " epoch " << e + 1;
        EXPECT_NEAR(x["valid"]["ndcg@10"].get<double>(), y["valid"]["ndcg@10"].get<double>(), 0.02)
            << what << " epoch " << e + 1;
      }
    }
    ASSERT_EQ(a.weights.size(), b.weights.size()) << what;
    for (const auto& [name, t] : a.weights) {
      ASSERT_EQ(b.weights.count(name), 1u) << what << ": " << name;
      torch::Tensor diff = (t - b.weights.at(name)).abs();
      if (name.find("in_proj_bias") != std::string::npos) {
        // The key bias [H, 2H) has a zero gradient in exact arithmetic (it
        // adds q.b to every key's score: softmax ignores it), so its
        // gradient is rounding noise, which Adam scales up to lr-sized
        // steps in any direction: it differs between any two summation
        // orders and changes no output. The query and value biases count.
        const int64_t h = t.size(0) / 3;
        diff = torch::cat({diff.narrow(0, 0, h), diff.narrow(0, 2 * h, h)});
      }
      EXPECT_LT(diff.max().item<double>(), 1e-3) << what << ": " << name;
    }
  };
  compare(ref, two, "2 workers");
  // The loss went down: the comparison is of a run that learns.
  EXPECT_LT(ref.log["epochs"].back()["loss"].get<double>(),
            ref.log["epochs"].front()["loss"].get<double>());

  // Two workers to epoch 4, then one process resumes to epoch 6.
  error = testing::RunDataParallelWorkers(
      "DataParallelWorker.TrainsTinySasrec", 2,
      {{testing::kWorkerOutEnv, root + "/resumed"}, {"SASRECLLM_TEST_EPOCHS", "4"}},
      std::chrono::seconds(120));
  ASSERT_EQ(error, "");
  SasrecTrainOptions rest = TinyTrainOptions(root + "/resumed");
  rest.resume = true;
  ASSERT_TRUE(TrainSasrec(split, config, rest).ok());
  compare(ref, ReadRun(root + "/resumed"), "2 workers then 1");
  fs::remove_all(root);
}

}  // namespace
}  // namespace sasrecllm::model
