// LoRA: on-the-fly adapters, merging, PEFT files and what gradients reach.
#include "base/file.h"
#include "model/llm/lora.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/json.h"
#include "model/llm/llama_model.h"
#include "model/safetensors.h"
#include "tests/model/llm/shared_data.h"
#include "tests/model/llm/tiny_model.h"

namespace sasrecllm::llm {
namespace {

using testing::RandomWeights;
using testing::TempDir;
using testing::TinyConfig;

std::unique_ptr<LlamaModel> TinyModel() {
  StatusOr<std::unique_ptr<LlamaModel>> m =
      LlamaModel::Create(TinyConfig(), RandomWeights(TinyConfig()), LlamaModel::Options());
  EXPECT_TRUE(m.ok()) << m.status();
  return std::move(m).value();
}

// An adapter on every module with non-zero B (a fresh one has B = 0 and
// changes nothing), so merged and unmerged outputs can differ if wrong.
LoraAdapter TrainedAdapter(const LlamaConfig& config, std::vector<std::string> modules) {
  LoraConfig lc;
  lc.target_modules = std::move(modules);
  StatusOr<LoraAdapter> lora = LoraAdapter::Init(config, lc, /*seed=*/7);
  EXPECT_TRUE(lora.ok()) << lora.status();
  torch::manual_seed(11);
  torch::NoGradGuard no_grad;
  for (torch::Tensor& p : lora->parameters()) p.copy_(torch::randn_like(p) * 0.2);
  return std::move(lora).value();
}

torch::Tensor Logits(const LlamaModel& model, const torch::Tensor& ids, const LoraAdapter* lora) {
  ForwardArgs args;
  args.input_ids = ids;
  args.lora = lora;
  StatusOr<torch::Tensor> out = model.Forward(args, nullptr);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : torch::Tensor();
}

TEST(LoraTest, FreshAdapterLeavesTheModelUnchanged) {
  auto model = TinyModel();
  StatusOr<LoraAdapter> lora = LoraAdapter::Init(model->config(), LoraConfig(), 1);
  ASSERT_TRUE(lora.ok()) << lora.status();
  torch::Tensor ids = torch::randint(0, model->config().vocab_size, {2, 9}, torch::kLong);
  EXPECT_TRUE(torch::allclose(Logits(*model, ids, &*lora), Logits(*model, ids, nullptr)));
}

TEST(LoraTest, MergedAdapterGivesTheSameLogitsAsTheUnmergedOne) {
  auto model = TinyModel();
  for (const auto& modules : std::vector<std::vector<std::string>>{
           {"q_proj", "v_proj"}, LoraModuleNames()}) {
    LoraAdapter lora = TrainedAdapter(model->config(), modules);
    StatusOr<std::unique_ptr<LlamaModel>> merged = model->Merged(lora);
    ASSERT_TRUE(merged.ok()) << merged.status();
    torch::Tensor ids = torch::randint(0, model->config().vocab_size, {3, 12}, torch::kLong);
    torch::Tensor unmerged_logits = Logits(*model, ids, &lora);
    torch::Tensor merged_logits = Logits(**merged, ids, nullptr);
    torch::Tensor base_logits = Logits(*model, ids, nullptr);
    EXPECT_LT((merged_logits - unmerged_logits).abs().max().item<float>(), 1e-4);
    // The adapter matters (so the equality above is not vacuous) and the
    // base model was not modified by merging.
    EXPECT_GT((merged_logits - base_logits).abs().max().item<float>(), 1e-2);
    EXPECT_TRUE(torch::equal(Logits(*model, ids, nullptr), base_logits));
  }
}

TEST(LoraTest, GradientsReachOnlyTheAdapter) {
  auto model = TinyModel();
  LoraAdapter lora = TrainedAdapter(model->config(), {"q_proj", "v_proj"});
  ForwardArgs args;
  torch::Tensor ids = torch::randint(0, model->config().vocab_size, {2, 7}, torch::kLong);
  StatusOr<torch::Tensor> embeds = model->Embed(ids);
  ASSERT_TRUE(embeds.ok());
  args.inputs_embeds = embeds->detach().clone().set_requires_grad(true);
  args.lora = &lora;
  args.train = true;
  args.logits = LogitsMode::kLast;
  args.logit_ids = torch::tensor({int64_t{3}});
  StatusOr<torch::Tensor> logit = model->Forward(args, nullptr);  // [2, 1, 1]
  ASSERT_TRUE(logit.ok()) << logit.status();
  EXPECT_EQ(logit->sizes(), (std::vector<int64_t>{2, 1, 1}));
  logit->sum().backward();
  for (const torch::Tensor& p : lora.parameters()) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_GT(p.grad().abs().sum().item<float>(), 0.0f);
  }
  EXPECT_GT(args.inputs_embeds.grad().abs().sum().item<float>(), 0.0f);
}

TEST(LoraTest, LogitIdsSelectColumnsOfTheFullLogits) {
  auto model = TinyModel();
  torch::Tensor ids = torch::randint(0, model->config().vocab_size, {2, 5}, torch::kLong);
  ForwardArgs args;
  args.input_ids = ids;
  args.logits = LogitsMode::kLast;
  StatusOr<torch::Tensor> all = model->Forward(args, nullptr);  // [2, 1, V]
  args.logit_ids = torch::tensor({int64_t{4}, int64_t{1}});
  StatusOr<torch::Tensor> some = model->Forward(args, nullptr);  // [2, 1, 2]
  ASSERT_TRUE(all.ok() && some.ok());
  EXPECT_TRUE(torch::allclose(*some, all->index_select(2, args.logit_ids), 1e-5, 1e-6));
  args.logit_ids = torch::tensor({int64_t{999}});
  EXPECT_EQ(model->Forward(args, nullptr).status().code(), StatusCode::kInvalidArgument);
}

// A folder with a PEFT adapter written in PEFT's own tensor naming (built
// here by hand, not by SavePeft) loads and is merged by LlamaModel::Load.
TEST(LoraTest, PeftAdapterInAModelFolderIsMergedAtLoad) {
  TempDir dir;
  const LlamaConfig config = TinyConfig();
  ASSERT_TRUE(WriteStringToFile(dir.path() + "/config.json", DumpJson(config.ToJson(), 2)).ok());
  ASSERT_TRUE(model::WriteSafetensors(dir.path() + "/model.safetensors", RandomWeights(config)).ok());
  LoraAdapter lora = TrainedAdapter(config, {"q_proj", "v_proj"});

  std::map<std::string, torch::Tensor> peft;
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    for (const char* m : {"q_proj", "v_proj"}) {
      const std::string prefix =
          "base_model.model.model.layers." + std::to_string(l) + ".self_attn." + m;
      peft[prefix + ".lora_A.weight"] = lora.Find(l, m)->a.detach();
      // Older PEFT versions keep the adapter name in B's key.
      peft[prefix + ".lora_B.default.weight"] = lora.Find(l, m)->b.detach();
    }
  }
  ASSERT_TRUE(model::WriteSafetensors(dir.path() + "/adapter_model.safetensors", peft).ok());
  ASSERT_TRUE(WriteStringToFile(dir.path() + "/adapter_config.json",
                                R"({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 8,
                                    "lora_alpha": 16, "lora_dropout": 0.05, "bias": "none",
                                    "target_modules": ["q_proj", "v_proj"]})")
                  .ok());

  StatusOr<std::unique_ptr<LlamaModel>> loaded = LlamaModel::Load(dir.path(), {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  LlamaModel::Options no_merge;
  no_merge.merge_adapter = false;
  StatusOr<std::unique_ptr<LlamaModel>> base = LlamaModel::Load(dir.path(), no_merge);
  ASSERT_TRUE(base.ok()) << base.status();
  torch::Tensor ids = torch::randint(0, config.vocab_size, {2, 10}, torch::kLong);
  EXPECT_LT((Logits(**loaded, ids, nullptr) - Logits(**base, ids, &lora)).abs().max().item<float>(),
            1e-4);

  // Our own writer round-trips too.
  TempDir out;
  ASSERT_TRUE(lora.SavePeft(out.path(), "tiny").ok());
  StatusOr<LoraAdapter> reread = LoraAdapter::LoadPeft(out.path(), config);
  ASSERT_TRUE(reread.ok()) << reread.status();
  EXPECT_TRUE(torch::equal(reread->Find(1, "v_proj")->b, lora.Find(1, "v_proj")->b));
}

TEST(LoraTest, BadAdaptersAreRefusedNamingTheProblem) {
  TempDir dir;
  const LlamaConfig config = TinyConfig();
  LoraAdapter lora = TrainedAdapter(config, {"q_proj"});
  ASSERT_TRUE(lora.SavePeft(dir.path()).ok());

  // A tensor of the wrong shape.
  auto tensors = lora.NamedTensors();
  const std::string victim = "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight";
  ASSERT_EQ(tensors.count(victim), 1u);
  tensors[victim] = torch::zeros({3, 8});
  ASSERT_TRUE(model::WriteSafetensors(dir.path() + "/adapter_model.safetensors", tensors).ok());
  StatusOr<LoraAdapter> bad = LoraAdapter::LoadPeft(dir.path(), config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(victim), std::string::npos) << bad.status();

  // A missing tensor.
  tensors = lora.NamedTensors();
  tensors.erase(victim);
  ASSERT_TRUE(model::WriteSafetensors(dir.path() + "/adapter_model.safetensors", tensors).ok());
  bad = LoraAdapter::LoadPeft(dir.path(), config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("missing tensor"), std::string::npos) << bad.status();

  // A rank the weights file does not back is refused before anything is
  // allocated for it (r = 10^12 would be 8 TB of float32 A and B).
  ASSERT_TRUE(lora.SavePeft(dir.path()).ok());
  ASSERT_TRUE(WriteStringToFile(dir.path() + "/adapter_config.json",
                                R"({"peft_type": "LORA", "r": 1000000000000, "lora_alpha": 16,
                                    "target_modules": ["q_proj"]})")
                  .ok());
  bad = LoraAdapter::LoadPeft(dir.path(), config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("expected [1000000000000, 16]"), std::string::npos)
      << bad.status();

  // Not a LoRA adapter, and an unknown target module.
  ASSERT_TRUE(WriteStringToFile(dir.path() + "/adapter_config.json",
                                R"({"peft_type": "IA3", "r": 8, "lora_alpha": 16,
                                    "target_modules": ["q_proj"]})")
                  .ok());
  EXPECT_EQ(LoraAdapter::LoadPeft(dir.path(), config).status().code(), StatusCode::kUnimplemented);
  LoraConfig lc;
  lc.target_modules = {"qkv_proj"};
  EXPECT_EQ(LoraAdapter::Init(config, lc, 0).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sasrecllm::llm
