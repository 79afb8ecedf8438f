// Training SASRecLLM end to end on a tiny model and planted data: the loss
// goes down, each strategy changes exactly the parts it trains, and a saved
// checkpoint (adapter kept or merged) scores like the model in training.
#include "model/hybrid/hybrid_trainer.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/file.h"
#include "model/bundle.h"
#include "model/hybrid/hybrid_bundle.h"
#include "model/hybrid/hybrid_checkpoint.h"
#include "model/safetensors.h"
#include "tests/model/hybrid/test_parts.h"

namespace sasrecllm::hybrid {
namespace {

using testing::PlantedExamples;
using testing::TempDir;

constexpr int64_t kItems = 20;

class HybridTrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::WriteTinyLlmFolder(llm_dir_.path()));
    auto llm = llm::LlamaModel::Load(llm_dir_.path(), {});
    ASSERT_TRUE(llm.ok()) << llm.status();
    auto tok = llm::LoadTokenizer(llm_dir_.path(), 260);
    ASSERT_TRUE(tok.ok()) << tok.status();
    base_.llm = std::move(llm).value();
    base_.tokenizer = std::move(tok).value();
    base_.sasrec = testing::TinySasrec(kItems);
    torch::manual_seed(13);
    base_.mapping = MappingLayer(16, 32);
    base_.max_titles = 3;
    train_ = PlantedExamples(320, kItems, 1);
    valid_ = PlantedExamples(80, kItems, 2);
  }

  HybridTrainOptions Options(const std::string& out) {
    HybridTrainOptions o;
    o.out_dir = out;
    o.llm_dir = llm_dir_.path();
    o.epochs = 2;
    o.batch_size = 16;
    o.lr_lora = 5e-3;
    o.lr_mapping = 5e-3;
    o.lr_sasrec = 1e-3;
    o.warmup_steps = 5;
    o.patience = 5;
    o.log = [](const std::string&) {};
    return o;
  }

  static double MeanBce(HybridModel& model, const std::vector<HybridExample>& rows) {
    auto p = ScoreExamples(model, rows, 64);
    EXPECT_TRUE(p.ok()) << p.status();
    double sum = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const double q = std::clamp<double>((*p)[i], 1e-7, 1 - 1e-7);
      sum -= rows[i].label > 0.5 ? std::log(q) : std::log(1 - q);
    }
    return sum / rows.size();
  }

  // Exports a hybrid checkpoint as a bundle with a catalog of the test's items.
  static Status Export(const std::string& checkpoint, const std::string& bundle_dir) {
    std::vector<model::CatalogEntry> entries;
    for (int64_t i = 1; i <= kItems; ++i) {
      entries.push_back({i, std::to_string(i), "Item " + std::to_string(i)});
    }
    SASRECLLM_ASSIGN_OR_RETURN(auto catalog, model::Catalog::FromEntries(entries));
    model::BundleManifest manifest;
    manifest.model_version = "test-hybrid";
    return ExportHybridBundle(checkpoint, bundle_dir, catalog, manifest);
  }

  static std::map<std::string, torch::Tensor> Read(const std::string& path) {
    auto t = model::ReadSafetensors(path);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : std::map<std::string, torch::Tensor>{};
  }

  static bool Same(const std::map<std::string, torch::Tensor>& a,
                   const std::map<std::string, torch::Tensor>& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [name, t] : a) {
      if (b.count(name) == 0 || !torch::equal(t, b.at(name))) return false;
    }
    return true;
  }

  TempDir llm_dir_;
  HybridModel::Parts base_;
  std::vector<HybridExample> train_, valid_;
};

TEST_F(HybridTrainerTest, JointTrainingLowersTheLossAndCheckpointsScoreTheSame) {
  auto before_model = HybridModel::Create(base_);
  ASSERT_TRUE(before_model.ok());
  const double before = MeanBce(**before_model, train_);
  TempDir out;
  auto result = TrainHybrid(Strategy::kJoint, base_, train_, valid_, Options(out.path()));
  ASSERT_TRUE(result.ok()) << result.status();

  HybridLoadOptions keep;
  auto trained = LoadHybridCheckpoint(result->final_dir, keep);
  ASSERT_TRUE(trained.ok()) << trained.status();
  const double after = MeanBce(**trained, train_);
  EXPECT_LT(after, before - 0.02) << "before " << before << " after " << after;

  // The checkpoint with its adapter merged into the LLM (what export and
  // the server use) scores within 1e-5 of the unmerged one.
  HybridLoadOptions merge;
  merge.merge_lora = true;
  auto merged = LoadHybridCheckpoint(result->final_dir, merge);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_FALSE((*merged)->parts().lora.has_value());
  auto a = ScoreExamples(**trained, valid_, 32);
  auto b = ScoreExamples(**merged, valid_, 7);
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t i = 0; i < valid_.size(); ++i) EXPECT_NEAR((*a)[i], (*b)[i], 1e-5);

  // export -> load the bundle -> the same scores as in training.
  TempDir bundle;
  Status exported = Export(result->final_dir, bundle.path());
  ASSERT_TRUE(exported.ok()) << exported;
  auto served = LoadBundleHybridModel(bundle.path(), {});
  ASSERT_TRUE(served.ok()) << served.status();
  auto c = ScoreExamples(**served, valid_, 16);
  ASSERT_TRUE(c.ok());
  for (size_t i = 0; i < valid_.size(); ++i) EXPECT_NEAR((*a)[i], (*c)[i], 1e-5);

  // The manifest lists the LLM's files too; one changed byte in the LLM's
  // weights and the bundle is refused, by name, before it is loaded.
  auto loaded = model::Bundle::Load({bundle.path()});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Json& files = (*loaded)->manifest().files;
  for (const char* name : {"mapping.safetensors", "llm/config.json", "llm/model.safetensors"}) {
    EXPECT_NE(FindKey(files, name), nullptr) << name << " not in " << DumpJson(files);
  }
  const std::string weights = bundle.path() + "/llm/model.safetensors";
  std::string bytes = *ReadFileToString(weights);
  bytes[bytes.size() - 3] ^= 0x10;
  ASSERT_TRUE(WriteStringToFile(weights, bytes).ok());
  auto corrupted = LoadBundleHybridModel(bundle.path(), {});
  ASSERT_FALSE(corrupted.ok());
  EXPECT_NE(corrupted.status().message().find(weights), std::string::npos) << corrupted.status();
  EXPECT_NE(corrupted.status().message().find("SHA-256"), std::string::npos) << corrupted.status();
}

TEST_F(HybridTrainerTest, HistoryItemSlotsTrainAndSurviveExport) {
  HybridModel::Parts parts = base_;
  parts.prompt_template = PromptTemplate::CollmMovieHistoryIds();
  parts.max_history_ids = 2;
  auto before_model = HybridModel::Create(parts);  // before training moves the shared parts
  ASSERT_TRUE(before_model.ok()) << before_model.status();
  const double before = MeanBce(**before_model, train_);
  TempDir out;
  HybridTrainOptions options = Options(out.path());
  options.prompt_template = "collm_movie_history_ids";
  options.epochs = 1;
  auto result = TrainHybrid(Strategy::kJoint, parts, train_, valid_, options);
  ASSERT_TRUE(result.ok()) << result.status();

  auto trained = LoadHybridCheckpoint(result->final_dir, {});
  ASSERT_TRUE(trained.ok()) << trained.status();
  const HybridModel::Parts& got = (*trained)->parts();
  EXPECT_TRUE(got.prompt_template.has_history_slots());
  EXPECT_EQ(got.max_history_ids, 2);
  EXPECT_LT(MeanBce(**trained, train_), before - 0.02);

  TempDir bundle;
  Status exported = Export(result->final_dir, bundle.path());
  ASSERT_TRUE(exported.ok()) << exported;
  auto served = LoadBundleHybridModel(bundle.path(), {});
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ((*served)->parts().max_history_ids, 2);
  auto a = ScoreExamples(**trained, valid_, 32);
  auto b = ScoreExamples(**served, valid_, 16);
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t i = 0; i < valid_.size(); ++i) EXPECT_NEAR((*a)[i], (*b)[i], 1e-5);
}

TEST_F(HybridTrainerTest, AFusedTextOnlyCheckpointScoresTheSameSavedAndServed) {
  HybridModel::Parts parts = base_;
  parts.prompt_template = PromptTemplate::TallrecMovie();
  parts.mapping = nullptr;
  parts.fusion = ScoreFusion{0.5, 1.25, -0.1};
  auto model = HybridModel::Create(parts);
  ASSERT_TRUE(model.ok()) << model.status();
  TempDir checkpoint;
  Json info = Json::object();
  info["llm"] = llm_dir_.path();
  ASSERT_TRUE(SaveHybridCheckpoint(checkpoint.path(), **model, info).ok());
  EXPECT_TRUE(std::filesystem::exists(checkpoint.path() + "/sasrec/model.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(checkpoint.path() + "/mapping.safetensors"));

  auto loaded = LoadHybridCheckpoint(checkpoint.path(), {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->parts().fusion.sasrec_weight, 1.25);
  auto expected = ScoreExamples(**model, valid_, 32);
  auto got = ScoreExamples(**loaded, valid_, 32);
  ASSERT_TRUE(expected.ok() && got.ok());
  for (size_t i = 0; i < valid_.size(); ++i) EXPECT_NEAR((*expected)[i], (*got)[i], 1e-6);

  TempDir bundle;
  Status exported = Export(checkpoint.path(), bundle.path());
  ASSERT_TRUE(exported.ok()) << exported;
  model::BundleLoadOptions load;
  load.dir = bundle.path();
  auto loaded_bundle = model::Bundle::Load(load);
  ASSERT_TRUE(loaded_bundle.ok()) << loaded_bundle.status();
  EXPECT_EQ((*loaded_bundle)->manifest().components,
            (std::vector<std::string>{"sasrec", "llm"}));
  auto served = LoadBundleHybridModel(**loaded_bundle, {});
  ASSERT_TRUE(served.ok()) << served.status();
  auto served_scores = ScoreExamples(**served, valid_, 16);
  ASSERT_TRUE(served_scores.ok());
  for (size_t i = 0; i < valid_.size(); ++i) EXPECT_NEAR((*expected)[i], (*served_scores)[i], 1e-5);

  // Without the fusion a text-only checkpoint has no SASRec to serve stage 1.
  parts.fusion = ScoreFusion();
  auto text_only = HybridModel::Create(parts);
  ASSERT_TRUE(text_only.ok());
  TempDir plain;
  ASSERT_TRUE(SaveHybridCheckpoint(plain.path(), **text_only, info).ok());
  TempDir refused;
  Status not_exported = Export(plain.path(), refused.path());
  EXPECT_EQ(not_exported.code(), StatusCode::kFailedPrecondition) << not_exported;

  // A fusion that does not parse is named with its file.
  auto bad_info = ReadJsonFile(checkpoint.path() + "/hybrid.json");
  ASSERT_TRUE(bad_info.ok());
  (*bad_info)["fusion"]["bias"] = "high";
  ASSERT_TRUE(WriteStringToFile(checkpoint.path() + "/hybrid.json", DumpJson(*bad_info)).ok());
  auto bad = LoadHybridCheckpoint(checkpoint.path(), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("hybrid.json"), std::string::npos) << bad.status();
  EXPECT_NE(bad.status().message().find("bias"), std::string::npos) << bad.status();
}

TEST_F(HybridTrainerTest, EachStrategyChangesExactlyThePartsItTrains) {
  const auto sasrec0 = base_.sasrec->StateDict();
  const auto mapping0 = base_.mapping->StateDict();
  struct Case {
    Strategy strategy;
    bool lora_after_stage1_frozen;  // two-stage: stage 2 must keep stage 1's adapter
    bool sasrec_changes;
  };
  for (const Case& c : {Case{Strategy::kTwoStage, true, false},
                        Case{Strategy::kTwoStageTuneEncoder, true, true},
                        Case{Strategy::kJoint, false, false}}) {
    SCOPED_TRACE(StrategyName(c.strategy));
    HybridModel::Parts parts = base_;
    parts.sasrec = testing::TinySasrec(kItems);  // fresh copies: training writes in place
    torch::manual_seed(13);
    parts.mapping = MappingLayer(16, 32);
    ASSERT_TRUE(Same(parts.sasrec->StateDict(), sasrec0));
    ASSERT_TRUE(Same(parts.mapping->StateDict(), mapping0));
    HybridTrainOptions o = Options("");
    TempDir out;
    o.out_dir = out.path();
    o.epochs = 1;
    auto result = TrainHybrid(c.strategy, parts, train_, valid_, o);
    ASSERT_TRUE(result.ok()) << result.status();
    const std::string final_dir = result->final_dir;

    // The LLM's own weights are never trained: only the adapter is.
    auto lora = Read(final_dir + "/lora/adapter_model.safetensors");
    double b_norm = 0;
    for (const auto& [name, t] : lora) {
      if (name.find("lora_B") != std::string::npos) b_norm += t.abs().sum().item<double>();
    }
    EXPECT_GT(b_norm, 0) << "LoRA B starts at 0 and must have been trained";
    if (c.lora_after_stage1_frozen) {
      EXPECT_TRUE(Same(lora, Read(out.path() + "/1-text-lora/best/lora/adapter_model.safetensors")));
    }
    EXPECT_FALSE(Same(Read(final_dir + "/mapping.safetensors"), mapping0));
    EXPECT_EQ(!Same(Read(final_dir + "/sasrec/model.safetensors"), sasrec0), c.sasrec_changes);
  }
}

TEST_F(HybridTrainerTest, ResumingAFinishedRunRetrainsNothing) {
  TempDir out;
  HybridTrainOptions o = Options(out.path());
  o.epochs = 1;
  o.max_train_samples = 64;
  ASSERT_TRUE(TrainHybrid(Strategy::kJoint, base_, train_, valid_, o).ok());
  const auto first = Read(out.path() + "/final/lora/adapter_model.safetensors");
  std::vector<std::string> lines;
  o.log = [&](const std::string& s) { lines.push_back(s); };
  auto again = TrainHybrid(Strategy::kJoint, base_, train_, valid_, o);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.front().find("already done"), std::string::npos) << lines.front();
  EXPECT_TRUE(Same(first, Read(out.path() + "/final/lora/adapter_model.safetensors")));
}

// A fixed seed (and thread count) gives the same weights bit for bit, also
// when the run is stopped mid-epoch and resumed; another seed does not.
TEST_F(HybridTrainerTest, TrainingIsDeterministicAlsoAcrossAResume) {
  auto fresh_parts = [&] {
    HybridModel::Parts parts = base_;
    parts.sasrec = testing::TinySasrec(kItems);  // fresh copies: training writes in place
    torch::manual_seed(13);
    parts.mapping = MappingLayer(16, 32);
    return parts;
  };
  HybridTrainOptions o = Options("");
  o.epochs = 2;
  o.max_train_samples = 96;  // 6 batches per epoch, 12 steps
  o.eval_every = 4;
  o.lora.dropout = 0.3;      // so that the dropout draws matter
  auto train = [&](const std::string& out, uint64_t seed, int64_t max_steps) {
    HybridTrainOptions run = o;
    run.out_dir = out;
    run.seed = seed;
    run.max_steps_this_run = max_steps;
    auto result = TrainHybrid(Strategy::kJoint, fresh_parts(), train_, valid_, run);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() && result->interrupted;
  };
  auto weights = [&](const std::string& out) {
    auto w = Read(out + "/1-joint/last/lora/adapter_model.safetensors");
    for (auto& [name, t] : Read(out + "/1-joint/last/mapping.safetensors")) w["mapping." + name] = t;
    return w;
  };
  TempDir first, second, resumed, other_seed;
  EXPECT_FALSE(train(first.path(), 7, 0));
  EXPECT_FALSE(train(second.path(), 7, 0));
  EXPECT_TRUE(Same(weights(first.path()), weights(second.path())));

  // Stopped after step 5 (mid-epoch, between validations), then resumed.
  EXPECT_TRUE(train(resumed.path(), 7, 5));
  EXPECT_FALSE(std::filesystem::exists(resumed.path() + "/final"));
  EXPECT_FALSE(train(resumed.path(), 7, 0));
  EXPECT_TRUE(Same(weights(first.path()), weights(resumed.path())));
  auto first_log = ReadFileToString(first.path() + "/log.jsonl");
  auto resumed_log = ReadFileToString(resumed.path() + "/log.jsonl");
  ASSERT_TRUE(first_log.ok() && resumed_log.ok());
  EXPECT_EQ(*first_log, *resumed_log);  // the same validations, the same AUCs

  EXPECT_FALSE(train(other_seed.path(), 8, 0));
  EXPECT_FALSE(Same(weights(first.path()), weights(other_seed.path())));
}

TEST(StrategyTest, NamesParseAndStagesTrainWhatTheDesignSays) {
  EXPECT_EQ(*ParseStrategy("joint"), Strategy::kJoint);
  EXPECT_FALSE(ParseStrategy("three-stage").ok());
  auto two = StagesOf(Strategy::kTwoStage);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_TRUE(two[0].text_only && two[0].train_lora && !two[0].train_mapping);
  EXPECT_TRUE(!two[1].text_only && !two[1].train_lora && two[1].train_mapping &&
              !two[1].train_sasrec);
  EXPECT_TRUE(StagesOf(Strategy::kTwoStageTuneEncoder)[1].train_sasrec);
  auto joint = StagesOf(Strategy::kJoint);
  ASSERT_EQ(joint.size(), 1u);
  EXPECT_TRUE(joint[0].train_lora && joint[0].train_mapping && !joint[0].train_sasrec);
}

}  // namespace
}  // namespace sasrecllm::hybrid
