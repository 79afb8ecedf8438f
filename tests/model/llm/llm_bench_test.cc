// The bench-llm measurements on a tiny random model: FLOP counts by hand,
// and prefix sharing giving the recomputed logits (the benchmark's check).
#include "model/llm/llm_bench.h"

#include <gtest/gtest.h>

#include "model/llm/random_init.h"
#include "tests/model/llm/tiny_model.h"

namespace sasrecllm::llm {
namespace {

LlamaConfig Tiny() {
  return testing::SmallLlamaConfig(/*hidden=*/16, /*intermediate=*/24, /*vocab=*/50,
                                   /*max_positions=*/256);
}

TEST(LlmBenchTest, ForwardFlopsCountsProjectionsLmHeadAndCausalAttention) {
  const LlamaConfig c = Tiny();
  // Per layer per token: q, o 16x16; k, v 8x16; gate, up, down 24x16.
  const double matmul = 2 * (2 * 256 + 2 * 128 + 3 * 384);
  const double lm_head = 50 * 16;
  // One decode step after 9 cached positions: 10 keys, 4 heads x 4 dims.
  EXPECT_DOUBLE_EQ(ForwardFlops(c, 1, 9, 1, 1), 2 * matmul + 2 * lm_head + 4.0 * 2 * 4 * 4 * 10);
  // A 3-token prefill of 2 rows, no logits: keys 1 + 2 + 3.
  EXPECT_DOUBLE_EQ(ForwardFlops(c, 2, 0, 3, 0), 2 * 3 * 2 * matmul + 2 * 4.0 * 2 * 4 * 4 * 6);
}

TEST(LlmBenchTest, PrefixSharingMatchesRecomputation) {
  const LlamaConfig c = Tiny();
  auto weights = RandomLlamaWeights(c, 11);
  ASSERT_TRUE(weights.ok());
  auto model = LlamaModel::Create(c, *weights, LlamaModel::Options());
  ASSERT_TRUE(model.ok()) << model.status();
  StatusOr<PrefixSharingTiming> t = BenchPrefixSharing(**model, 30, 5, 4, 1);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_LT(t->max_abs_logit_diff, 1e-5);
  EXPECT_GT(t->recompute_flops, t->shared_flops);

  StatusOr<PrefillDecodeTiming> pd = BenchPrefillDecode(**model, 3, 8, 4, 1);
  ASSERT_TRUE(pd.ok()) << pd.status();
  EXPECT_EQ(pd->prefill_tokens, 24);
  EXPECT_EQ(pd->decode_tokens, 12);
  EXPECT_GT(pd->prefill_seconds, 0.0);
  EXPECT_EQ(BenchPrefillDecode(**model, 0, 8, 4, 1).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sasrecllm::llm
