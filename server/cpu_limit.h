// How many CPUs this process may use: the smallest of the machine's cores,
// the CPU affinity mask and the cgroup CPU quota (what a Kubernetes CPU limit
// becomes). The server sizes its model thread pool from it when --threads is
// unset, so that a pod limited to 2 CPUs on a 64-core node runs 1 model thread,
// not 63 threads that the kernel throttles.
//
// Thread safety: pure functions of the files they read.
#ifndef SASRECLLM_SERVER_CPU_LIMIT_H_
#define SASRECLLM_SERVER_CPU_LIMIT_H_

#include <optional>
#include <string>

namespace sasrecllm::server {

// The cgroup CPU quota in CPUs (quota / period, rounded up, at least 1) under
// the cgroup file system mounted at `cgroup_root` (normally /sys/fs/cgroup):
// cgroup v2's cpu.max ("QUOTA PERIOD" or "max PERIOD"), else cgroup v1's
// cpu/cpu.cfs_quota_us and cpu/cpu.cfs_period_us (quota -1 = none). nullopt
// when there is no quota or the files are missing or unreadable.
std::optional<int> CgroupCpuQuota(const std::string& cgroup_root);

// min(hardware threads, CPUs in the affinity mask, CgroupCpuQuota of
// /sys/fs/cgroup), at least 1.
int AvailableCpus();

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_CPU_LIMIT_H_
