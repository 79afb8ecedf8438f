#include "base/file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sasrecllm {

StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    int err = errno;
    std::string msg = path + ": cannot open: " + std::strerror(err);
    if (err == ENOENT) return NotFoundError(msg);
    return DataLossError(msg);
  }
  std::string contents;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) contents.append(buf, n);
  bool failed = std::ferror(f) != 0;
  int err = errno;
  std::fclose(f);
  if (failed) return DataLossError(path + ": read error: " + std::strerror(err));
  return contents;
}

Status WriteFileAtomically(const std::string& path,
                           const std::function<bool(std::FILE*)>& write_contents) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    return FailedPreconditionError(path + ": cannot create " + tmp + ": " +
                                   std::strerror(errno));
  }
  errno = 0;
  bool ok = write_contents(f);
  ok = (std::fflush(f) == 0) && ok;
  ok = (::fsync(::fileno(f)) == 0) && ok;
  int err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    return DataLossError(path + ": write failed: " + std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    std::remove(tmp.c_str());
    return DataLossError(path + ": rename from " + tmp + " failed: " + std::strerror(err));
  }
  return OkStatus();
}

Status WriteStringToFile(const std::string& path, std::string_view contents) {
  return WriteFileAtomically(path, [&](std::FILE* f) {
    return contents.empty() || std::fwrite(contents.data(), 1, contents.size(), f) == contents.size();
  });
}

bool FileExists(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  std::fclose(f);
  return true;
}

}  // namespace sasrecllm
