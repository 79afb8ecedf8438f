// ServerFlags: every flag is registered with its SASRECLLM_<FLAG> environment
// variable; the environment sets a value, the command line overrides it, and a
// bad value from the environment is a usage error naming the variable.
#include "server/server_flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace sasrecllm::server {
namespace {

using ::testing::HasSubstr;

// Sets an environment variable for the test's lifetime.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
    setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() { unsetenv(name_.c_str()); }

 private:
  std::string name_;
};

// Parses `args` (after the program name) into `flags`.
void Parse(std::vector<std::string> args, ServerFlags* flags) {
  CLI::App app("test", "sasrecllm-server");
  AddServerFlags(app, flags);
  args.insert(args.begin(), "sasrecllm-server");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  ParseServerFlags(app, static_cast<int>(argv.size()), argv.data());
}

TEST(ServerFlagsTest, EnvNameIsUpperCaseWithUnderscores) {
  EXPECT_EQ(ServerFlagEnvName("metrics-port"), "SASRECLLM_METRICS_PORT");
  EXPECT_EQ(ServerFlagEnvName("bundle"), "SASRECLLM_BUNDLE");
  EXPECT_EQ(ServerFlagEnvName("max-queue-delay-us"), "SASRECLLM_MAX_QUEUE_DELAY_US");
}

TEST(ServerFlagsTest, DefaultsAreTheDocumentedOnes) {
  ServerFlags flags;
  Parse({"--bundle", "b"}, &flags);
  EXPECT_EQ(flags.bundle, "b");
  EXPECT_EQ(flags.host, "0.0.0.0");
  EXPECT_EQ(flags.port, 50051);
  EXPECT_EQ(flags.metrics_port, 9464);
  EXPECT_EQ(flags.device, "cpu");
  EXPECT_EQ(flags.dtype, "float32");
  EXPECT_EQ(flags.max_batch_size, 32);
  EXPECT_EQ(flags.max_queue_delay_us, 500);
  EXPECT_EQ(flags.max_queue_size, 1024);
  EXPECT_EQ(flags.retrieval_k, 20);
  EXPECT_EQ(flags.retrieval, "auto");
  EXPECT_EQ(flags.ann_search_params, "");
  EXPECT_TRUE(flags.llm);
  EXPECT_TRUE(flags.prefix_sharing);
  EXPECT_TRUE(flags.llm_pass_tuning);
  EXPECT_EQ(flags.drain_timeout_s, 30);
}

TEST(ServerFlagsTest, EveryFlagHasItsEnvironmentVariable) {
  ServerFlags flags;
  CLI::App app("test", "sasrecllm-server");
  AddServerFlags(app, &flags);
  int with_env = 0;
  for (const CLI::Option* option : app.get_options()) {
    const std::string name = option->get_name();
    if (name == "--help") continue;
    EXPECT_EQ(option->get_envname(), ServerFlagEnvName(name.substr(2))) << name;
    ++with_env;
  }
  EXPECT_EQ(with_env, 36);  // every field of ServerFlags
  EXPECT_THAT(app.help(), HasSubstr("SASRECLLM_METRICS_PORT"));
}

TEST(ServerFlagsTest, EnvironmentSetsAValue) {
  ScopedEnv bundle("SASRECLLM_BUNDLE", "/env/bundle");
  ScopedEnv port("SASRECLLM_METRICS_PORT", "0");
  ScopedEnv llm("SASRECLLM_LLM", "false");
  ServerFlags flags;
  Parse({}, &flags);
  EXPECT_EQ(flags.bundle, "/env/bundle");
  EXPECT_EQ(flags.metrics_port, 0);
  EXPECT_FALSE(flags.llm);
}

TEST(ServerFlagsTest, CommandLineOverridesEnvironment) {
  ScopedEnv bundle("SASRECLLM_BUNDLE", "/env/bundle");
  ScopedEnv port("SASRECLLM_PORT", "1234");
  ServerFlags flags;
  Parse({"--bundle=/cli/bundle", "--port", "4321"}, &flags);
  EXPECT_EQ(flags.bundle, "/cli/bundle");
  EXPECT_EQ(flags.port, 4321);
}

TEST(ServerFlagsTest, BadEnvironmentValueIsAUsageErrorNamingTheVariable) {
  ScopedEnv port("SASRECLLM_METRICS_PORT", "nine");
  ServerFlags flags;
  try {
    Parse({"--bundle", "b"}, &flags);
    FAIL() << "no error";
  } catch (const CLI::ParseError& e) {
    EXPECT_NE(e.get_exit_code(), 0);
    EXPECT_THAT(std::string(e.what()), HasSubstr("SASRECLLM_METRICS_PORT=nine"));
  }
}

TEST(ServerFlagsTest, BadEnvironmentValueIsIgnoredWhenTheCommandLineGivesTheFlag) {
  ScopedEnv port("SASRECLLM_METRICS_PORT", "nine");
  ServerFlags flags;
  Parse({"--bundle", "b", "--metrics-port", "7"}, &flags);
  EXPECT_EQ(flags.metrics_port, 7);
}

TEST(ServerFlagsTest, BadCommandLineValueNamesTheFlag) {
  ServerFlags flags;
  try {
    Parse({"--bundle", "b", "--max-batch-size", "many"}, &flags);
    FAIL() << "no error";
  } catch (const CLI::ParseError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("--max-batch-size"));
  }
}

TEST(ServerFlagsTest, BundleIsRequired) {
  ServerFlags flags;
  EXPECT_THROW(Parse({"--port", "0"}, &flags), CLI::RequiredError);
}

}  // namespace
}  // namespace sasrecllm::server
