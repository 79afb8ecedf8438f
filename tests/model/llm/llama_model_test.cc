// LlamaModel on small random weights: Qwen2-style biases, untied lm_head,
// llama3 rope scaling, sharded safetensors and argument errors.
#include "base/file.h"
#include "model/llm/llama_model.h"

#include <gtest/gtest.h>

#include "base/json.h"
#include "model/llm/sampler.h"
#include "model/safetensors.h"
#include "tests/model/llm/shared_data.h"
#include "tests/model/llm/tiny_model.h"

namespace sasrecllm::llm {
namespace {

using testing::RandomWeights;
using testing::TinyConfig;

TEST(LlamaModelTest, BiasedUntiedModelCacheMatchesFullForward) {
  LlamaConfig c = TinyConfig();
  StatusOr<std::unique_ptr<LlamaModel>> m =
      LlamaModel::Create(c, RandomWeights(c), LlamaModel::Options());
  ASSERT_TRUE(m.ok()) << m.status();
  torch::Tensor ids = torch::randint(0, c.vocab_size, {2, 30}, torch::kLong);  // [2, 30]
  StatusOr<torch::Tensor> full = (*m)->Forward(ids, nullptr);                   // [2, 30, V]
  ASSERT_TRUE(full.ok()) << full.status();
  StatusOr<KvCache> cache = (*m)->NewCache(2, 4);
  ASSERT_TRUE(cache.ok());
  std::vector<torch::Tensor> parts;
  for (int start = 0; start < 30; start += 7) {
    const int64_t n = std::min<int64_t>(7, 30 - start);
    StatusOr<torch::Tensor> part = (*m)->Forward(ids.narrow(1, start, n), &*cache);
    ASSERT_TRUE(part.ok()) << part.status();
    parts.push_back(*part);
  }
  EXPECT_LT((torch::cat(parts, 1) - *full).abs().max().item<double>(), 1e-4);
}

// Attention in blocks of query positions gives what all positions at once
// give: without a cache (right padding in one row), through a cache, and in
// the gradients training takes.
TEST(LlamaModelTest, AttentionInBlocksEqualsAllAtOnce) {
  LlamaConfig c = TinyConfig();
  const auto weights = RandomWeights(c);
  LlamaModel::Options whole_options, block_options;
  whole_options.attention_block = 0;
  block_options.attention_block = 5;
  auto whole = LlamaModel::Create(c, weights, whole_options);
  auto blocks = LlamaModel::Create(c, weights, block_options);
  ASSERT_TRUE(whole.ok() && blocks.ok());
  torch::manual_seed(5);
  torch::Tensor ids = torch::randint(0, c.vocab_size, {2, 23}, torch::kLong);  // [2, 23]
  torch::Tensor mask = torch::ones({2, 23}, torch::kLong);                     // [2, 23]
  mask[1].narrow(0, 19, 4).zero_();                                            // right padding

  ForwardArgs args;
  args.input_ids = ids;
  args.attention_mask = mask;
  auto a = (*whole)->Forward(args, nullptr);
  auto b = (*blocks)->Forward(args, nullptr);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_LT((*a - *b).abs().max().item<double>(), 1e-5);

  // Through a cache: 9 positions, then 14 more against them.
  std::vector<torch::Tensor> outs;
  for (const auto* m : {&*whole, &*blocks}) {
    StatusOr<KvCache> cache = (*m)->NewCache(2, 23);
    ASSERT_TRUE(cache.ok());
    ASSERT_TRUE((*m)->Forward(ids.narrow(1, 0, 9), &*cache).ok());
    auto rest = (*m)->Forward(ids.narrow(1, 9, 14), &*cache);
    ASSERT_TRUE(rest.ok()) << rest.status();
    outs.push_back(*rest);
  }
  EXPECT_LT((outs[0] - outs[1]).abs().max().item<double>(), 1e-5);
  // Row 0 has no padding: the same as without a cache.
  EXPECT_LT((outs[0][0] - a->narrow(1, 9, 14)[0]).abs().max().item<double>(), 1e-4);

  // Gradients reaching the input embeddings.
  const torch::Tensor input = torch::randn({2, 23, c.hidden_size});  // [2, 23, D]
  std::vector<torch::Tensor> grads;
  for (const auto* m : {&*whole, &*blocks}) {
    torch::Tensor embeds = input.clone().requires_grad_(true);
    ForwardArgs train;
    train.inputs_embeds = embeds;
    train.attention_mask = mask;
    train.train = true;
    auto out = (*m)->Forward(train, nullptr);
    ASSERT_TRUE(out.ok()) << out.status();
    out->pow(2).mean().backward();
    grads.push_back(embeds.grad());
  }
  ASSERT_TRUE(grads[0].defined() && grads[1].defined());
  EXPECT_LT((grads[0] - grads[1]).abs().max().item<double>(), 1e-6);
}

TEST(LlamaModelTest, LoadsShardedSafetensors) {
  LlamaConfig c = TinyConfig();
  auto weights = RandomWeights(c);
  testing::TempDir dir;
  std::map<std::string, torch::Tensor> shard1, shard2;
  Json map = Json::object();
  int i = 0;
  for (const auto& [name, t] : weights) {
    const bool first = (i++ % 2) == 0;
    (first ? shard1 : shard2)[name] = t;
    map[name] = Json(first ? "model-00001-of-00002.safetensors"
                             : "model-00002-of-00002.safetensors");
  }
  Json index = Json::object();
  index["weight_map"] = map;
  ASSERT_TRUE(WriteStringToFile(dir.path() + "/config.json", DumpJson(c.ToJson(), 2)).ok());
  ASSERT_TRUE(WriteStringToFile(dir.path() + "/model.safetensors.index.json", DumpJson(index)).ok());
  ASSERT_TRUE(
      model::WriteSafetensors(dir.path() + "/model-00001-of-00002.safetensors", shard1).ok());
  ASSERT_TRUE(
      model::WriteSafetensors(dir.path() + "/model-00002-of-00002.safetensors", shard2).ok());
  StatusOr<std::unique_ptr<LlamaModel>> loaded = LlamaModel::Load(dir.path(), LlamaModel::Options());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  StatusOr<std::unique_ptr<LlamaModel>> direct =
      LlamaModel::Create(c, weights, LlamaModel::Options());
  ASSERT_TRUE(direct.ok());
  torch::Tensor ids = torch::tensor({{1, 5, 7, 2}}, torch::kLong);
  StatusOr<torch::Tensor> a = (*loaded)->Forward(ids, nullptr);
  StatusOr<torch::Tensor> b = (*direct)->Forward(ids, nullptr);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(torch::equal(*a, *b));

  // A shard listed in the index but absent: the error names the file.
  ASSERT_EQ(std::remove((dir.path() + "/model-00002-of-00002.safetensors").c_str()), 0);
  loaded = LlamaModel::Load(dir.path(), LlamaModel::Options());
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("model-00002-of-00002"), std::string::npos)
      << loaded.status();
}

TEST(LlamaModelTest, ForwardRejectsBadArguments) {
  LlamaConfig c = TinyConfig();
  StatusOr<std::unique_ptr<LlamaModel>> m =
      LlamaModel::Create(c, RandomWeights(c), LlamaModel::Options());
  ASSERT_TRUE(m.ok());
  ForwardArgs none;
  EXPECT_EQ((*m)->Forward(none, nullptr).status().code(), StatusCode::kInvalidArgument);
  StatusOr<torch::Tensor> oov = (*m)->Forward(torch::tensor({{1, 11}}, torch::kLong), nullptr);
  ASSERT_FALSE(oov.ok());
  EXPECT_NE(oov.status().message().find("11"), std::string::npos) << oov.status();
  StatusOr<KvCache> cache = (*m)->NewCache(1, 8);
  ASSERT_TRUE(cache.ok());
  EXPECT_FALSE((*m)->Forward(torch::tensor({{1, 2}, {3, 4}}, torch::kLong), &*cache).ok());
  EXPECT_FALSE((*m)->Forward(torch::tensor({{1, 2}}, torch::kLong), &*cache, 5).ok());
  ForwardArgs embeds;
  embeds.inputs_embeds = torch::zeros({1, 3, 15});
  EXPECT_FALSE((*m)->Forward(embeds, nullptr).ok());
}

TEST(SamplerTest, GreedyTopPAndSeededDraws) {
  std::vector<float> logits = {0.1f, 3.0f, -1.0f, 2.9f};
  Llama2cSampler greedy(4, 0.0f, 0.9f, 1);
  EXPECT_EQ(greedy.Sample(logits), 1);
  // A tiny nucleus keeps only the most likely token.
  Llama2cSampler narrow(4, 1.0f, 0.01f, 42);
  for (int i = 0; i < 20; ++i) {
    std::vector<float> l = logits;
    EXPECT_EQ(narrow.Sample(l), 1);
  }
  uint64_t s1 = 42, s2 = 42;
  EXPECT_EQ(RandomU32(&s1), RandomU32(&s2));
  const float f = RandomF32(&s1);
  EXPECT_GE(f, 0.0f);
  EXPECT_LT(f, 1.0f);
}

}  // namespace
}  // namespace sasrecllm::llm
