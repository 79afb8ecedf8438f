#include "server/cpu_limit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace sasrecllm::server {
namespace {

namespace fs = std::filesystem;

// A fake cgroup mount: files written under a fresh temporary folder.
class FakeCgroup {
 public:
  FakeCgroup()
      : root_(fs::temp_directory_path() /
              ("cpu_limit_test_" +
               std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()))) {
    fs::remove_all(root_);
    fs::create_directories(root_ / "cpu");
  }
  ~FakeCgroup() { fs::remove_all(root_); }
  void Write(const std::string& file, const std::string& text) {
    std::ofstream(root_ / file) << text;
  }
  std::string root() const { return root_.string(); }

 private:
  fs::path root_;
};

TEST(CgroupCpuQuotaTest, V2QuotaRoundsUp) {
  FakeCgroup cg;
  cg.Write("cpu.max", "250000 100000\n");
  EXPECT_EQ(CgroupCpuQuota(cg.root()), 3);
  cg.Write("cpu.max", "50000 100000\n");  // half a CPU still runs one thread
  EXPECT_EQ(CgroupCpuQuota(cg.root()), 1);
}

TEST(CgroupCpuQuotaTest, V2WithoutLimitOrGarbageIsNoQuota) {
  FakeCgroup cg;
  cg.Write("cpu.max", "max 100000\n");
  EXPECT_EQ(CgroupCpuQuota(cg.root()), std::nullopt);
  cg.Write("cpu.max", "lots\n");
  EXPECT_EQ(CgroupCpuQuota(cg.root()), std::nullopt);
}

TEST(CgroupCpuQuotaTest, V1QuotaAndUnlimited) {
  FakeCgroup cg;
  cg.Write("cpu/cpu.cfs_quota_us", "400000\n");
  cg.Write("cpu/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(CgroupCpuQuota(cg.root()), 4);
  cg.Write("cpu/cpu.cfs_quota_us", "-1\n");
  EXPECT_EQ(CgroupCpuQuota(cg.root()), std::nullopt);
}

TEST(CgroupCpuQuotaTest, MissingFilesAreNoQuota) {
  EXPECT_EQ(CgroupCpuQuota("/nonexistent/cgroup"), std::nullopt);
}

TEST(AvailableCpusTest, IsBetweenOneAndTheMachinesThreads) {
  const int cpus = AvailableCpus();
  EXPECT_GE(cpus, 1);
  EXPECT_LE(cpus, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace sasrecllm::server
