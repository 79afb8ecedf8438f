#include "base/file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace sasrecllm {
namespace {

namespace fs = std::filesystem;

TEST(FileTest, FilesAreWrittenAtomicallyAndReadBack) {
  const fs::path dir = fs::temp_directory_path() / "sasrecllm_file_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "f.json").string();
  EXPECT_FALSE(FileExists(path));
  ASSERT_TRUE(WriteStringToFile(path, "hello\n").ok());
  EXPECT_TRUE(FileExists(path));
  ASSERT_TRUE(WriteStringToFile(path, std::string("a\0b", 3)).ok());  // replaces
  auto back = ReadFileToString(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, std::string("a\0b", 3));
  int files = 0;
  for (auto& e : fs::directory_iterator(dir)) ++files, (void)e;
  EXPECT_EQ(files, 1);  // no temp file left behind
  auto missing = ReadFileToString((dir / "nope").string());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  EXPECT_FALSE(WriteStringToFile((dir / "no/such/dir/x").string(), "x").ok());
  fs::remove_all(dir);
}

TEST(FileTest, StreamedWriteFailureLeavesNoFile) {
  const fs::path dir = fs::temp_directory_path() / "sasrecllm_file_test_fail";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "x.bin").string();
  Status s = WriteFileAtomically(path, [](std::FILE*) { return false; });
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find(path), std::string::npos);
  EXPECT_TRUE(fs::is_empty(dir));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sasrecllm
