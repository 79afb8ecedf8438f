#include "base/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

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

TEST(FileTest, OnlyRegularFilesWithinTheLimitAreRead) {
  const fs::path dir = fs::temp_directory_path() / "sasrecllm_file_test_limits";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "ten.txt").string();
  ASSERT_TRUE(WriteStringToFile(path, "0123456789").ok());
  EXPECT_TRUE(ReadFileToString(path, 10).ok());
  auto too_big = ReadFileToString(path, 9);
  EXPECT_EQ(too_big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_big.status().message().find("10 bytes, more than the limit of 9"),
            std::string::npos)
      << too_big.status();
  // A folder and a FIFO (which would block a plain open until a writer came).
  EXPECT_EQ(ReadFileToString(dir.string()).status().code(), StatusCode::kInvalidArgument);
  const std::string fifo = (dir / "fifo").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto from_fifo = ReadFileToString(fifo);
  EXPECT_EQ(from_fifo.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(from_fifo.status().message().find("not a regular file"), std::string::npos);
  EXPECT_EQ(CheckRegularFile(fifo).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckRegularFile(path).ok());
  EXPECT_EQ(CheckRegularFile((dir / "nope").string()).code(), StatusCode::kNotFound);
  fs::remove_all(dir);
}

TEST(FileTest, FileNamesFromFilesCannotLeaveTheirFolder) {
  EXPECT_TRUE(CheckFileNameInFolder("model-00001-of-00002.safetensors", "shard").ok());
  for (const char* bad : {"", ".", "..", "../x.safetensors", "/etc/passwd", "a/b"}) {
    const Status s = CheckFileNameInFolder(bad, "weight_map[\"w\"]");
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("weight_map"), std::string::npos) << s.message();
  }
  EXPECT_FALSE(CheckFileNameInFolder(std::string("a\0b", 3), "shard").ok());
}

}  // namespace
}  // namespace sasrecllm
