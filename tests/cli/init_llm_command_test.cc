// `sasrecllm init-llm` (and `generate` on its output), run as the built
// binary: the folder it writes loads and runs, reproducible from the seed; bad
// flags are usage errors (exit 2), a missing tokenizer a run-time error (1).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "base/file.h"
#include "base/json.h"
#include "model/llm/llama_model.h"
#include "model/llm/random_init.h"
#include "tests/model/llm/shared_data.h"

namespace sasrecllm::llm {
namespace {

// Runs build/sasrecllm with `args` (quoted for the shell); returns its exit code.
int RunTool(const std::vector<std::string>& args) {
  std::string command = SASRECLLM_TOOL;
  for (const std::string& a : args) command += " '" + a + "'";
  command += " >/dev/null 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(InitLlmCommandTest, WritesAFolderThatLoadsAndGenerates) {
  const std::string tok = testing::Stories260kDir() + "/tok512.bin";
  SASRECLLM_REQUIRE_SHARED(tok);
  testing::TempDir dir;
  const std::string out = dir.path() + "/reranker";
  ASSERT_EQ(RunTool({"init-llm", "--out", out, "--hidden-size", "32", "--layers", "2", "--heads",
                     "4", "--kv-heads", "2", "--intermediate-size", "48", "--tokenizer", tok,
                     "--seed", "7"}),
            0);
  StatusOr<LlamaConfig> config = LlamaConfig::FromFile(out + "/config.json");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->vocab_size, 512);  // tok512.bin's token count
  EXPECT_EQ(config->num_key_value_heads, 2);
  EXPECT_EQ(ReadFileToString(out + "/tokenizer.bin").value(), ReadFileToString(tok).value());

  auto model = LlamaModel::Load(out, LlamaModel::Options());
  ASSERT_TRUE(model.ok()) << model.status();
  auto expected = RandomLlamaWeights(*config, 7);
  ASSERT_TRUE(expected.ok());
  auto direct = LlamaModel::Create(*config, *expected, LlamaModel::Options());
  ASSERT_TRUE(direct.ok());
  const torch::Tensor ids = torch::tensor({{1, 300, 42, 7}}, torch::kLong);  // [1, 4]
  EXPECT_TRUE(torch::equal((*model)->Forward(ids, nullptr).value(),
                           (*direct)->Forward(ids, nullptr).value()));

  EXPECT_EQ(RunTool({"generate", "--model", out, "--steps", "12", "--temperature", "0",
                     "--prompt", "Once upon"}),
            0);
}

TEST(InitLlmCommandTest, BadFlagsAreUsageErrors) {
  testing::TempDir dir;
  EXPECT_EQ(RunTool({"init-llm"}), 2);  // no --out
  EXPECT_EQ(RunTool({"init-llm", "--out", dir.path(), "--heads", "5", "--hidden-size", "32"}), 2);
  EXPECT_EQ(RunTool({"init-llm", "--out", dir.path(), "--layers", "0"}), 2);
  EXPECT_EQ(RunTool({"init-llm", "--out", dir.path(), "--dtype", "q4"}), 2);
  EXPECT_EQ(RunTool({"init-llm", "--out", dir.path(), "--tokenizer", dir.path() + "/missing.bin"}),
            1);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/config.json"));
}

}  // namespace
}  // namespace sasrecllm::llm
