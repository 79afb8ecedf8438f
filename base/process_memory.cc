#include "base/process_memory.h"

#include <fstream>
#include <sstream>
#include <string>

namespace sasrecllm {

ProcessMemory ReadProcessMemory() {
  ProcessMemory memory;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    std::istringstream fields(line);
    std::string key;
    int64_t kib = 0;
    fields >> key >> kib;
    if (key == "VmRSS:") memory.rss_bytes = kib * 1024;
    if (key == "VmHWM:") memory.peak_rss_bytes = kib * 1024;
    if (key == "RssAnon:") memory.rss_anon_bytes = kib * 1024;
    if (key == "RssFile:") memory.rss_file_bytes = kib * 1024;
  }
  return memory;
}

}  // namespace sasrecllm
