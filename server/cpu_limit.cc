#include "server/cpu_limit.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <thread>

namespace sasrecllm::server {
namespace {

int CpusOfQuota(double quota_us, double period_us) {
  return std::max(1, static_cast<int>(std::ceil(quota_us / period_us)));
}

}  // namespace

std::optional<int> CgroupCpuQuota(const std::string& cgroup_root) {
  // cgroup v2: one file, "max 100000" (no limit) or "200000 100000".
  if (std::ifstream v2(cgroup_root + "/cpu.max"); v2) {
    std::string quota;
    double period = 0;
    if (!(v2 >> quota >> period) || quota == "max" || period <= 0) return std::nullopt;
    try {
      const double q = std::stod(quota);
      return q > 0 ? std::optional<int>(CpusOfQuota(q, period)) : std::nullopt;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  // cgroup v1: quota -1 means no limit.
  std::ifstream quota_file(cgroup_root + "/cpu/cpu.cfs_quota_us");
  std::ifstream period_file(cgroup_root + "/cpu/cpu.cfs_period_us");
  double quota = 0, period = 0;
  if (!(quota_file >> quota) || !(period_file >> period) || quota <= 0 || period <= 0) {
    return std::nullopt;
  }
  return CpusOfQuota(quota, period);
}

int AvailableCpus() {
  int cpus = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof(mask), &mask) == 0) cpus = std::min(cpus, CPU_COUNT(&mask));
  if (std::optional<int> quota = CgroupCpuQuota("/sys/fs/cgroup")) cpus = std::min(cpus, *quota);
  return std::max(1, cpus);
}

}  // namespace sasrecllm::server
