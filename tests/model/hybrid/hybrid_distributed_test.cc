// Data-parallel SASRecLLM training (HybridTrainOptions::data_parallel): two
// worker processes on loopback, each with half of every batch, train the
// tiny joint model as one process does with the whole batch, also when the
// run was started by one process and resumed by two.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include "base/file.h"
#include "base/json.h"
#include "model/distributed.h"
#include "model/hybrid/hybrid_trainer.h"
#include "model/safetensors.h"
#include "tests/model/data_parallel_workers.h"
#include "tests/model/hybrid/test_parts.h"

namespace sasrecllm::hybrid {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kItems = 20;

// What both sides train: the tiny joint model on planted rows, LoRA dropout
// 0 (nothing random differs between one and two processes).
struct TinyJointRun {
  testing::TempDir llm_dir;
  HybridModel::Parts parts;
  std::vector<HybridExample> train = testing::PlantedExamples(320, kItems, 1);
  std::vector<HybridExample> valid = testing::PlantedExamples(40, kItems, 2);

  TinyJointRun() {
    EXPECT_TRUE(testing::WriteTinyLlmFolder(llm_dir.path()));
    auto llm = llm::LlamaModel::Load(llm_dir.path(), {});
    EXPECT_TRUE(llm.ok()) << llm.status();
    auto tok = llm::LoadTokenizer(llm_dir.path(), 260);
    EXPECT_TRUE(tok.ok()) << tok.status();
    parts.llm = std::move(llm).value();
    parts.tokenizer = std::move(tok).value();
    parts.sasrec = testing::TinySasrec(kItems);
    torch::manual_seed(13);
    parts.mapping = MappingLayer(16, 32);
    parts.max_titles = 3;
  }

  HybridTrainOptions Options(const std::string& out) const {
    HybridTrainOptions o;
    o.out_dir = out;
    o.llm_dir = llm_dir.path();
    o.epochs = 2;
    o.batch_size = 16;
    o.max_train_samples = 42;  // batches of 16, 16 and 10 (8 + 8, 8 + 8, 5 + 5 rows on two ranks)
    o.eval_every = 2;          // steps 2, 3 (epoch end), 4, 6
    o.lr_lora = 5e-3;
    o.lr_mapping = 5e-3;
    o.warmup_steps = 3;
    o.patience = 5;
    o.lora.dropout = 0;
    o.log = [](const std::string&) {};
    return o;
  }
};

// One rank of the runs below (skipped in a normal run).
TEST(HybridDataParallelWorker, TrainsTinyJoint) {
  const char* out = std::getenv(model::testing::kWorkerOutEnv);
  if (out == nullptr) GTEST_SKIP() << "runs as a worker of TwoWorkersTrainAsOneWithTheGlobalBatch";
  torch::set_num_threads(1);
  model::DataParallelOptions dpo;
  dpo.timeout = std::chrono::seconds(60);
  auto dp = model::DataParallel::CreateFromEnvironment(dpo);
  ASSERT_TRUE(dp.ok()) << dp.status();
  ASSERT_NE(*dp, nullptr);
  TinyJointRun setup;
  HybridTrainOptions o = setup.Options(out);
  o.data_parallel = dp->get();
  auto result = TrainHybrid(Strategy::kJoint, setup.parts, setup.train, setup.valid, o);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->interrupted);
}

std::map<std::string, torch::Tensor> Weights(const std::string& out) {
  std::map<std::string, torch::Tensor> w;
  auto lora = model::ReadSafetensors(out + "/1-joint/last/lora/adapter_model.safetensors");
  auto mapping = model::ReadSafetensors(out + "/1-joint/last/mapping.safetensors");
  EXPECT_TRUE(lora.ok() && mapping.ok()) << out;
  if (lora.ok()) w = *lora;
  if (mapping.ok()) {
    for (auto& [name, t] : *mapping) w["mapping." + name] = t;
  }
  return w;
}

// step -> valid AUC, from log.jsonl.
std::map<int64_t, double> ValidAucs(const std::string& out) {
  std::map<int64_t, double> aucs;
  auto text = ReadFileToString(out + "/log.jsonl");
  EXPECT_TRUE(text.ok()) << text.status();
  std::istringstream lines(text.ok() ? *text : "");
  for (std::string line; std::getline(lines, line);) {
    auto j = ParseJson(line, "log.jsonl");
    EXPECT_TRUE(j.ok()) << j.status();
    if (j.ok()) aucs[(*j)["step"].get<int64_t>()] = (*j)["valid_auc"].get<double>();
  }
  return aucs;
}

// Weights within 1e-4 (float sums in another order), the same validations
// with AUCs within 0.005.
void ExpectSameRun(const std::string& a, const std::string& b) {
  auto wa = Weights(a), wb = Weights(b);
  ASSERT_EQ(wa.size(), wb.size());
  ASSERT_FALSE(wa.empty());
  for (const auto& [name, t] : wa) {
    ASSERT_EQ(wb.count(name), 1u) << name;
    EXPECT_LT((t - wb.at(name)).abs().max().item<double>(), 1e-4) << name;
  }
  auto aa = ValidAucs(a), ab = ValidAucs(b);
  ASSERT_EQ(aa.size(), ab.size());
  for (const auto& [step, auc] : aa) {
    ASSERT_EQ(ab.count(step), 1u) << "step " << step;
    EXPECT_NEAR(auc, ab.at(step), 0.005) << "step " << step;
  }
}

TEST(HybridDataParallelTest, TwoWorkersTrainAsOneWithTheGlobalBatch) {
  torch::set_num_threads(1);
  const std::string root =
      (fs::temp_directory_path() / ("hybrid_distributed_test_" + std::to_string(getpid())))
          .string();
  fs::remove_all(root);
  TinyJointRun setup;
  HybridTrainOptions one = setup.Options(root + "/one");
  auto result = TrainHybrid(Strategy::kJoint, setup.parts, setup.train, setup.valid, one);
  ASSERT_TRUE(result.ok()) << result.status();

  std::string error = model::testing::RunDataParallelWorkers(
      "HybridDataParallelWorker.TrainsTinyJoint", 2,
      {{model::testing::kWorkerOutEnv, root + "/two"}}, std::chrono::seconds(120));
  ASSERT_EQ(error, "");
  ExpectSameRun(root + "/one", root + "/two");
  EXPECT_TRUE(fs::exists(root + "/two/final"));

  // One process stops after 1 step (mid-epoch); two workers resume it
  // (rank 0 reads the checkpoint, broadcasts the parts and the optimizer).
  TinyJointRun fresh;  // training writes the parts in place
  HybridTrainOptions first = fresh.Options(root + "/resumed");
  first.max_steps_this_run = 1;
  auto part = TrainHybrid(Strategy::kJoint, fresh.parts, fresh.train, fresh.valid, first);
  ASSERT_TRUE(part.ok()) << part.status();
  ASSERT_TRUE(part->interrupted);
  error = model::testing::RunDataParallelWorkers(
      "HybridDataParallelWorker.TrainsTinyJoint", 2,
      {{model::testing::kWorkerOutEnv, root + "/resumed"}}, std::chrono::seconds(120));
  ASSERT_EQ(error, "");
  ExpectSameRun(root + "/one", root + "/resumed");
  fs::remove_all(root);
}

}  // namespace
}  // namespace sasrecllm::hybrid
