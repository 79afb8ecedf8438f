#include "base/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "base/file_digest.h"
#include "tests/base/full_disk.h"

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

TEST(FileTest, SymbolicLinksMustStayInTheirFolder) {
  const fs::path base = fs::temp_directory_path() / "sasrecllm_links_test";
  fs::remove_all(base);
  const fs::path dir = base / "bundle";
  fs::create_directories(dir / "llm");
  ASSERT_TRUE(WriteStringToFile((dir / "catalog.tsv").string(), "x").ok());
  ASSERT_TRUE(WriteStringToFile((base / "secret").string(), "s").ok());
  // A folder whose name starts like the bundle's: outside, though a string
  // prefix would say inside.
  fs::create_directories(base / "bundle-evil");
  ASSERT_TRUE(WriteStringToFile((base / "bundle-evil" / "x").string(), "e").ok());

  // Links that stay inside, and the folder itself reached through a link.
  fs::create_symlink("../catalog.tsv", dir / "llm" / "same.tsv");
  fs::create_directory_symlink("llm", dir / "llm2");
  fs::create_directory_symlink("bundle", base / "current");
  EXPECT_TRUE(CheckLinksStayInFolder(dir.string()).ok());
  EXPECT_TRUE(CheckLinksStayInFolder((base / "current").string()).ok());

  struct Case {
    std::string link, target, needle;
  };
  // Each link is made in bundle/llm/.
  for (const Case& c : {Case{"out", "../../secret", "outside"},
                        Case{"abs", (base / "secret").string(), "outside"},
                        Case{"sibling", "../../bundle-evil/x", "outside"},
                        Case{"up", "../..", "outside"},
                        Case{"dangling", "nothing-here", "leads nowhere"}}) {
    const fs::path link = dir / "llm" / c.link;
    fs::create_symlink(c.target, link);
    const Status s = CheckLinksStayInFolder(dir.string());
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.link;
    EXPECT_NE(s.message().find("llm/" + c.link), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.needle), std::string::npos) << s.message();
    fs::remove(link);
  }
  fs::remove_all(base);
}

// FIPS 180-2's test vectors, as `sha256sum` prints them.
TEST(FileTest, DigestsAreSha256) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const fs::path dir = fs::temp_directory_path() / "sasrecllm_file_test_digest";
  fs::remove_all(dir);
  fs::create_directories(dir);
  // Longer than DigestFile's 1 MiB buffer: the million-'a' vector.
  const std::string path = (dir / "a.txt").string();
  ASSERT_TRUE(WriteStringToFile(path, std::string(1000000, 'a')).ok());
  auto d = DigestFile(path);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->bytes, 1000000);
  EXPECT_EQ(d->sha256, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(DigestFile((dir / "nope").string()).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(DigestFile(dir.string()).status().code(), StatusCode::kInvalidArgument);
  fs::remove_all(dir);
}

class ReplaceFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One folder per test: ctest runs them side by side.
    root_ = fs::temp_directory_path() /
            ("sasrecllm_replace_folder_" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    dir_ = (root_ / "bundle").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  // Writes `files` (name -> contents) into the staging folder.
  static std::function<Status(const std::string&)> Writes(std::map<std::string, std::string> files) {
    return [files](const std::string& staging) -> Status {
      for (const auto& [name, contents] : files) {
        SASRECLLM_RETURN_IF_ERROR(WriteStringToFile(staging + "/" + name, contents));
      }
      return OkStatus();
    };
  }
  // Everything under root_, for "nothing left behind" checks.
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::recursive_directory_iterator(root_)) {
      names.push_back(fs::relative(e.path(), root_).generic_string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path root_;
  std::string dir_;
};

TEST_F(ReplaceFolderTest, CreatesThenReplacesTheFolderWhole) {
  ASSERT_TRUE(ReplaceFolderAtomically(dir_, Writes({{"a", "1"}, {"b", "2"}})).ok());
  EXPECT_EQ(Entries(), (std::vector<std::string>{"bundle", "bundle/a", "bundle/b"}));
  // The second version has no "b": the folder is replaced, not merged.
  ASSERT_TRUE(ReplaceFolderAtomically(dir_ + "/", Writes({{"a", "3"}, {"c", "4"}})).ok());
  EXPECT_EQ(Entries(), (std::vector<std::string>{"bundle", "bundle/a", "bundle/c"}));
  EXPECT_EQ(*ReadFileToString(dir_ + "/a"), "3");
  auto listed = ListFilesRecursively(root_.string());
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, (std::vector<std::string>{"bundle/a", "bundle/c"}));
}

TEST_F(ReplaceFolderTest, AFailedWriteLeavesThePreviousFolderAsItWas) {
  ASSERT_TRUE(ReplaceFolderAtomically(dir_, Writes({{"a", "old"}})).ok());
  const Status s = ReplaceFolderAtomically(dir_, [](const std::string& staging) {
    EXPECT_TRUE(WriteStringToFile(staging + "/a", "new").ok());
    return DataLossError("the second file failed");
  });
  EXPECT_EQ(s.message(), "the second file failed");
  EXPECT_EQ(Entries(), (std::vector<std::string>{"bundle", "bundle/a"}));  // no staging left
  EXPECT_EQ(*ReadFileToString(dir_ + "/a"), "old");
}

TEST_F(ReplaceFolderTest, AStagingFolderLeftByADeadProcessIsRemoved) {
  // PID 999999999 is above any pid_max: no such process. Ours (alive) stays.
  const std::string dead = dir_ + ".partial.999999999";
  const std::string live = dir_ + ".partial.1";  // init: always running
  const std::string other = dir_ + ".partial.notapid";
  for (const std::string& d : {dead, live, other}) ASSERT_TRUE(fs::create_directories(d));
  ASSERT_TRUE(ReplaceFolderAtomically(dir_, Writes({{"a", "1"}})).ok());
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(other));
}

TEST_F(ReplaceFolderTest, AFullDiskLeavesThePreviousFolderAsItWas) {
  ASSERT_TRUE(ReplaceFolderAtomically(dir_, Writes({{"a", "old"}, {"b", "old"}})).ok());
  Status s;
  {
    testing::ScopedFullDisk full(/*bytes=*/100);
    s = ReplaceFolderAtomically(dir_, Writes({{"a", "new"}, {"b", std::string(1000, 'x')}}));
  }
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("File too large"), std::string::npos) << s;
  EXPECT_EQ(Entries(), (std::vector<std::string>{"bundle", "bundle/a", "bundle/b"}));
  EXPECT_EQ(*ReadFileToString(dir_ + "/a"), "old");
  EXPECT_EQ(*ReadFileToString(dir_ + "/b"), "old");
}

}  // namespace
}  // namespace sasrecllm
