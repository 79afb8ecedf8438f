// LlamaModel::ForwardBranches: each branch gives the logits of running its
// row's prefix followed by that branch alone, with no cache at all.
#include <gtest/gtest.h>

#include "model/llm/llama_model.h"
#include "tests/model/llm/tiny_model.h"

namespace sasrecllm::llm {
namespace {

std::unique_ptr<LlamaModel> Tiny() {
  auto m = LlamaModel::Create(testing::TinyConfig(), testing::RandomWeights(testing::TinyConfig()),
                              LlamaModel::Options());
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(m).value() : nullptr;
}

// Logits after the last token of `ids`, computed from scratch.
torch::Tensor FullRecompute(const LlamaModel& model, const std::vector<int64_t>& ids) {
  auto logits = model.Forward(torch::tensor(ids, torch::kLong).view({1, -1}), nullptr);
  EXPECT_TRUE(logits.ok()) << logits.status();
  return (*logits)[0][static_cast<int64_t>(ids.size()) - 1];  // [V]
}

TEST(LlamaBranchesTest, BranchesEqualPrefixPlusBranchComputedAlone) {
  std::unique_ptr<LlamaModel> model = Tiny();
  ASSERT_NE(model, nullptr);
  // Two rows with prefixes of 5 and 3 tokens (right-padded to 5), each
  // continued by up to 3 branches of 1..4 tokens (padded to 4).
  const std::vector<std::vector<int64_t>> prefixes = {{1, 4, 2, 7, 3}, {5, 9, 6}};
  const std::vector<std::vector<std::vector<int64_t>>> branches = {
      {{2, 3, 4, 5}, {8}, {6, 6}}, {{10, 1, 2}, {3, 3, 3, 3}}};
  const int64_t r = 2, p = 5, c = 3, l = 4;
  torch::Tensor prefix_ids = torch::zeros({r, p}, torch::kLong);
  torch::Tensor prefix_mask = torch::zeros({r, p}, torch::kBool);
  torch::Tensor ids = torch::zeros({r, c, l}, torch::kLong);
  torch::Tensor positions = torch::zeros({r, c, l}, torch::kLong);
  torch::Tensor last = torch::zeros({r, c}, torch::kLong);
  for (int64_t i = 0; i < r; ++i) {
    for (size_t j = 0; j < prefixes[i].size(); ++j) {
      prefix_ids[i][j] = prefixes[i][j];
      prefix_mask[i][j] = true;
    }
    for (size_t b = 0; b < branches[i].size(); ++b) {
      for (int64_t j = 0; j < l; ++j) {
        if (j < static_cast<int64_t>(branches[i][b].size())) ids[i][b][j] = branches[i][b][j];
        positions[i][b][j] = static_cast<int64_t>(prefixes[i].size()) + j;
      }
      last[i][b] = static_cast<int64_t>(branches[i][b].size()) - 1;
    }
  }
  auto cache = model->NewCache(r, p);
  ASSERT_TRUE(cache.ok());
  ForwardArgs prefill;
  prefill.input_ids = prefix_ids;
  prefill.logits = LogitsMode::kNone;
  ASSERT_TRUE(model->Forward(prefill, &*cache).ok());

  BranchArgs args;
  auto embeds = model->Embed(ids.view({r, c * l}));
  ASSERT_TRUE(embeds.ok());
  args.inputs_embeds = embeds->view({r, c, l, -1});
  args.position_ids = positions;
  args.prefix_mask = prefix_mask;
  args.last_positions = last;
  auto logits = model->ForwardBranches(args, *cache);
  ASSERT_TRUE(logits.ok()) << logits.status();
  ASSERT_EQ(logits->sizes(), (std::vector<int64_t>{r, c, testing::TinyConfig().vocab_size}));
  EXPECT_EQ(cache->length(), p);  // read, not extended

  for (int64_t i = 0; i < r; ++i) {
    for (size_t b = 0; b < branches[i].size(); ++b) {
      std::vector<int64_t> full = prefixes[i];
      full.insert(full.end(), branches[i][b].begin(), branches[i][b].end());
      torch::Tensor expected = FullRecompute(*model, full);
      EXPECT_LT(((*logits)[i][b] - expected).abs().max().item<float>(), 1e-5) << i << "/" << b;
    }
  }

  // logit_ids picks columns of the same logits.
  args.logit_ids = torch::tensor({3, 7}, torch::kLong);
  auto some = model->ForwardBranches(args, *cache);
  ASSERT_TRUE(some.ok());
  EXPECT_LT(((*some).select(2, 1) - (*logits).select(2, 7)).abs().max().item<float>(), 1e-6);
}

TEST(LlamaBranchesTest, BadShapesAreRefused) {
  std::unique_ptr<LlamaModel> model = Tiny();
  ASSERT_NE(model, nullptr);
  auto cache = model->NewCache(1, 4);
  ASSERT_TRUE(cache.ok());
  BranchArgs args;
  args.inputs_embeds = torch::zeros({1, 2, 3, 16});
  args.position_ids = torch::zeros({1, 2, 3}, torch::kLong);
  args.prefix_mask = torch::ones({1, 0}, torch::kBool);
  args.last_positions = torch::zeros({1, 2}, torch::kLong);
  EXPECT_TRUE(model->ForwardBranches(args, *cache).ok());  // an empty prefix is allowed
  args.last_positions = torch::full({1, 2}, 3, torch::kLong);  // beyond L
  EXPECT_EQ(model->ForwardBranches(args, *cache).status().code(), StatusCode::kInvalidArgument);
  args.last_positions = torch::zeros({1, 2}, torch::kLong);
  args.prefix_mask = torch::ones({1, 4}, torch::kBool);  // the cache holds 0 positions
  EXPECT_EQ(model->ForwardBranches(args, *cache).status().code(), StatusCode::kInvalidArgument);
  args.prefix_mask = torch::ones({1, 0}, torch::kBool);
  args.inputs_embeds = torch::zeros({1, 2, 3, 15});
  EXPECT_EQ(model->ForwardBranches(args, *cache).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sasrecllm::llm
