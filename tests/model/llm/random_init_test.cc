// RandomLlamaWeights / WriteLlamaFolder: the weights are what Create expects,
// reproducible from the seed, normal(0, 0.02) with unit norms (the init-llm
// command itself: tests/cli/init_llm_command_test.cc).
#include "base/file.h"
#include "model/llm/random_init.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "base/json.h"
#include "model/llm/llama_model.h"
#include "tests/model/llm/shared_data.h"
#include "tests/model/llm/tiny_model.h"

namespace sasrecllm::llm {
namespace {

using ::testing::HasSubstr;

LlamaConfig SmallConfig() {
  return testing::SmallLlamaConfig(/*hidden=*/32, /*intermediate=*/48, /*vocab=*/40,
                                   /*max_positions=*/64);
}

int64_t Numel(const std::map<std::string, torch::Tensor>& weights) {
  int64_t n = 0;
  for (const auto& [name, t] : weights) n += t.numel();
  return n;
}

TEST(RandomInitTest, WeightsAreWhatCreateExpectsForEveryVariant) {
  for (bool tied : {false, true}) {
    for (bool bias : {false, true}) {
      LlamaConfig c = SmallConfig();
      c.tie_word_embeddings = tied;
      c.attention_bias = bias;
      StatusOr<std::map<std::string, torch::Tensor>> w = RandomLlamaWeights(c, 1);
      ASSERT_TRUE(w.ok()) << w.status();
      EXPECT_EQ(Numel(*w), CountLlamaParameters(c).total) << tied << bias;
      EXPECT_EQ(w->count("lm_head.weight"), tied ? 0u : 1u);
      StatusOr<std::unique_ptr<LlamaModel>> m = LlamaModel::Create(c, *w, LlamaModel::Options());
      ASSERT_TRUE(m.ok()) << m.status();
    }
  }
}

TEST(RandomInitTest, SameSeedGivesSameWeightsAndOtherSeedsDiffer) {
  const LlamaConfig c = SmallConfig();
  auto a = RandomLlamaWeights(c, 7), b = RandomLlamaWeights(c, 7), d = RandomLlamaWeights(c, 8);
  ASSERT_TRUE(a.ok() && b.ok() && d.ok());
  for (const auto& [name, t] : *a) {
    EXPECT_TRUE(torch::equal(t, b->at(name))) << name;
    if (name.find("norm") == std::string::npos) {
      EXPECT_FALSE(torch::equal(t, d->at(name))) << name;
    }
  }
  // torch's global generator is neither used nor disturbed.
  torch::manual_seed(3);
  const torch::Tensor before = torch::rand({4});
  torch::manual_seed(3);
  ASSERT_TRUE(RandomLlamaWeights(c, 9).ok());
  EXPECT_TRUE(torch::equal(before, torch::rand({4})));
}

TEST(RandomInitTest, ProjectionsAreNormal002AndNormsAreOne) {
  LlamaConfig c = SmallConfig();
  c.hidden_size = 256;
  c.intermediate_size = 512;
  c.num_attention_heads = 8;
  c.num_key_value_heads = 8;
  c.attention_bias = true;
  auto w = RandomLlamaWeights(c, 0);
  ASSERT_TRUE(w.ok());
  for (const char* name :
       {"model.embed_tokens.weight", "lm_head.weight", "model.layers.1.self_attn.q_proj.weight",
        "model.layers.0.mlp.down_proj.weight"}) {
    const torch::Tensor& t = w->at(name);
    EXPECT_NEAR(t.std().item<double>(), 0.02, 0.001) << name;
    EXPECT_NEAR(t.mean().item<double>(), 0.0, 0.001) << name;
  }
  EXPECT_TRUE(torch::equal(w->at("model.norm.weight"), torch::ones({256})));
  EXPECT_TRUE(
      torch::equal(w->at("model.layers.1.post_attention_layernorm.weight"), torch::ones({256})));
  EXPECT_EQ(w->at("model.layers.0.self_attn.q_proj.bias").abs().sum().item<double>(), 0.0);
}

TEST(RandomInitTest, DtypeIsTheRoundedFloat32Draw) {
  const LlamaConfig c = SmallConfig();
  auto f32 = RandomLlamaWeights(c, 4), bf16 = RandomLlamaWeights(c, 4, torch::kBFloat16);
  ASSERT_TRUE(f32.ok() && bf16.ok());
  const torch::Tensor& q = bf16->at("model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(q.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(
      torch::equal(q, f32->at("model.layers.0.self_attn.q_proj.weight").to(torch::kBFloat16)));
}

TEST(RandomInitTest, BadArgumentsAreInvalidArgument) {
  LlamaConfig c = SmallConfig();
  EXPECT_EQ(RandomLlamaWeights(c, 0, torch::kFloat32, 0.0).status().code(),
            StatusCode::kInvalidArgument);
  c.num_attention_heads = 5;
  StatusOr<std::map<std::string, torch::Tensor>> w = RandomLlamaWeights(c, 0);
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.status().message(), HasSubstr("num_attention_heads"));
}

TEST(RandomInitTest, DefaultConfigHas134MParameters) {
  const LlamaConfig c = DefaultRandomLlamaConfig();
  ASSERT_TRUE(c.Validate().ok());
  const LlamaParameterCount n = CountLlamaParameters(c);
  EXPECT_EQ(n.layer_matmul, 12 * (4 * 768 * 768 + 3 * 768 * 2048));  // 84,934,656
  EXPECT_EQ(n.embedding, 32000 * 768);
  EXPECT_EQ(n.total, n.layers + 2 * 32000 * 768 + 768);
  EXPECT_EQ(n.total, 134105856);
}

TEST(RandomInitTest, WrittenFolderLoadsWithTheSameOutputs) {
  const LlamaConfig c = SmallConfig();
  auto w = RandomLlamaWeights(c, 2);
  ASSERT_TRUE(w.ok());
  testing::TempDir dir;
  ASSERT_TRUE(WriteLlamaFolder(dir.path() + "/llm", c, *w).ok());
  auto loaded = LlamaModel::Load(dir.path() + "/llm", LlamaModel::Options());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto direct = LlamaModel::Create(c, *w, LlamaModel::Options());
  ASSERT_TRUE(direct.ok());
  const torch::Tensor ids = torch::arange(3, 15, torch::kLong).view({2, 6});  // [2, 6]
  auto a = (*loaded)->Forward(ids, nullptr), b = (*direct)->Forward(ids, nullptr);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(torch::equal(*a, *b));
  EXPECT_GT(a->std().item<double>(), 0.0);
}

TEST(RandomInitTest, WriteRefusesAFolderWhoseIndexWouldShadowTheWeights) {
  const LlamaConfig c = SmallConfig();
  auto w = RandomLlamaWeights(c, 2);
  ASSERT_TRUE(w.ok());
  testing::TempDir dir;
  ASSERT_TRUE(WriteStringToFile(dir.path() + "/model.safetensors.index.json", "{}").ok());
  Status s = WriteLlamaFolder(dir.path(), c, *w);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("model.safetensors.index.json"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/config.json"));
}

}  // namespace
}  // namespace sasrecllm::llm
