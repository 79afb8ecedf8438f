#include "model/llm/llama_config.h"

#include <gtest/gtest.h>

namespace sasrecllm::llm {
namespace {

Json ParseOrDie(const std::string& text) {
  StatusOr<Json> j = ParseJson(text, "test");
  EXPECT_TRUE(j.ok()) << j.status();
  return j.ok() ? *j : Json();
}

TEST(LlamaConfigTest, ParsesTinyLlamaStyleConfigWithDefaults) {
  StatusOr<LlamaConfig> c = LlamaConfig::FromJson(ParseOrDie(R"({
    "model_type": "llama", "hidden_size": 2048, "intermediate_size": 5632,
    "num_hidden_layers": 22, "num_attention_heads": 32, "num_key_value_heads": 4,
    "vocab_size": 32000, "max_position_embeddings": 2048, "rms_norm_eps": 1e-05,
    "tie_word_embeddings": false, "torch_dtype": "bfloat16", "bos_token_id": 1,
    "eos_token_id": 2})"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->head_dim(), 64);
  EXPECT_EQ(c->kv_dim(), 256);
  EXPECT_DOUBLE_EQ(c->rope_theta, 10000.0);
  EXPECT_FALSE(c->attention_bias);
  EXPECT_EQ(c->torch_dtype, "bfloat16");
}

TEST(LlamaConfigTest, WhatTheRuntimeDoesNotImplementIsRefused) {
  const std::string base = R"("hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
    "num_attention_heads": 2, "vocab_size": 16)";
  EXPECT_TRUE(LlamaConfig::FromJson(ParseOrDie("{" + base + R"(, "hidden_act": "silu",
    "mlp_bias": false})")).ok());
  for (const char* extra : {R"("hidden_act": "gelu")", R"("hidden_act": 3)",
                            R"("mlp_bias": true)"}) {
    StatusOr<LlamaConfig> c = LlamaConfig::FromJson(ParseOrDie("{" + base + ", " + extra + "}"));
    ASSERT_FALSE(c.ok()) << extra;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("not supported"), std::string::npos) << c.status();
  }
}

TEST(LlamaConfigTest, Qwen2ImpliesAttentionBiasAndLlama3RopeScalingParses) {
  StatusOr<LlamaConfig> c = LlamaConfig::FromJson(ParseOrDie(R"({
    "model_type": "qwen2", "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "vocab_size": 100, "tie_word_embeddings": true, "rope_theta": 1000000.0,
    "eos_token_id": [7, 8],
    "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                     "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->attention_bias);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_EQ(c->eos_token_id, 7);
  EXPECT_EQ(c->rope_scaling.rope_type, "llama3");
  EXPECT_DOUBLE_EQ(c->rope_scaling.factor, 32.0);
  // Round trip through ToJson.
  StatusOr<LlamaConfig> again = LlamaConfig::FromJson(c->ToJson());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->hidden_size, 64);
  EXPECT_TRUE(again->attention_bias);
  EXPECT_DOUBLE_EQ(again->rope_theta, 1000000.0);
  EXPECT_EQ(again->rope_scaling.original_max_position_embeddings, 8192);
}

TEST(LlamaConfigTest, ValidateNamesTheOffendingField) {
  StatusOr<LlamaConfig> c = LlamaConfig::FromJson(ParseOrDie(R"({
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
    "num_attention_heads": 6, "num_key_value_heads": 4, "vocab_size": 100})"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("num_attention_heads"), std::string::npos)
      << c.status();
  StatusOr<LlamaConfig> missing = LlamaConfig::FromJson(ParseOrDie(R"({"hidden_size": 64})"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("intermediate_size"), std::string::npos)
      << missing.status();
}

}  // namespace
}  // namespace sasrecllm::llm
