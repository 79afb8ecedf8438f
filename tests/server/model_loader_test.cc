// The server's model loader: a tiny bundle loads (SASRec only), a missing one
// fails naming its folder, and the folder a hot reload loads.
#include "server/model_loader.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"

namespace sasrecllm::server {
namespace {

using ::testing::HasSubstr;

class ModelLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("model_loader_test_", getpid());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path dir_;
};

TEST_F(ModelLoaderTest, LoadsATinyBundleWithoutAnLlm) {
  const std::string bundle_dir = (dir_ / "bundle").string();
  ASSERT_TRUE(testing::WriteTinyBundle({bundle_dir, "tiny-v3", 10, 8,
                                        [](int i) { return absl::StrCat("T", i); }, "cold"})
                  .ok());
  absl::StatusOr<LoadedModel> loaded = LoadModel(bundle_dir, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->bundle->manifest().model_version, "tiny-v3");
  EXPECT_EQ(loaded->llm, nullptr);
}

TEST_F(ModelLoaderTest, AMissingBundleNamesItsFolder) {
  const std::string missing = (dir_ / "no-such-bundle").string();
  absl::StatusOr<LoadedModel> loaded = LoadModel(missing, {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("cannot load bundle " + missing));
}

TEST_F(ModelLoaderTest, ReloadTargetIsTheBundleWithoutAPathFile) {
  absl::StatusOr<std::string> target = ReloadTarget("/models/bundle", "");
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(*target, "/models/bundle");
}

TEST_F(ModelLoaderTest, ReloadTargetIsThePathFilesFirstLineTrimmed) {
  absl::StatusOr<std::string> target =
      ReloadTarget("/models/bundle", WriteFile("path", "  /models/v2 \n/models/v3\n"));
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(*target, "/models/v2");
}

TEST_F(ModelLoaderTest, AnEmptyOrMissingPathFileIsRefused) {
  EXPECT_EQ(ReloadTarget("/b", WriteFile("empty", "\n")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReloadTarget("/b", (dir_ / "missing").string()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sasrecllm::server
