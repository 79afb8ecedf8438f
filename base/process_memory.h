// This process's resident memory, from /proc/self/status (Linux), for the
// benchmarks and tools that report what loading or building something cost.
//
//   ProcessMemory before = ReadProcessMemory();
//   ... build an index ...
//   double grew_mb = (ReadProcessMemory().peak_rss_bytes - before.rss_bytes) / 1e6;
#ifndef SASRECLLM_BASE_PROCESS_MEMORY_H_
#define SASRECLLM_BASE_PROCESS_MEMORY_H_

#include <cstdint>

namespace sasrecllm {

struct ProcessMemory {
  int64_t rss_bytes = 0;       // VmRSS: resident now
  int64_t peak_rss_bytes = 0;  // VmHWM: the most resident at any time so far
  int64_t rss_anon_bytes = 0;  // RssAnon: of rss_bytes, anonymous (heap, copies)
  int64_t rss_file_bytes = 0;  // RssFile: of rss_bytes, file-backed (mapped files)
};

// Zeros where /proc/self/status cannot be read (not Linux).
ProcessMemory ReadProcessMemory();

}  // namespace sasrecllm

#endif  // SASRECLLM_BASE_PROCESS_MEMORY_H_
