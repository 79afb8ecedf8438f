#include "base/file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace sasrecllm {

StatusOr<std::string> ReadFileToString(const std::string& path, int64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO does not wait for a writer; the check below
  // then refuses it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    std::string msg = path + ": cannot open: " + std::strerror(err);
    if (err == ENOENT) return NotFoundError(msg);
    return DataLossError(msg);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgumentError(path + ": not a regular file");
  }
  if (st.st_size > max_bytes) {
    ::close(fd);
    return InvalidArgumentError(path + ": " + std::to_string(st.st_size) +
                                " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  std::FILE* f = ::fdopen(fd, "rb");
  if (f == nullptr) {
    int err = errno;
    ::close(fd);
    return DataLossError(path + ": cannot open: " + std::strerror(err));
  }
  std::string contents;
  contents.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  size_t n;
  // The file may grow while it is read: stop past the limit.
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    contents.append(buf, n);
    if (static_cast<int64_t>(contents.size()) > max_bytes) {
      std::fclose(f);
      return InvalidArgumentError(path + ": grew past the limit of " +
                                  std::to_string(max_bytes) + " bytes while read");
    }
  }
  bool failed = std::ferror(f) != 0;
  int err = errno;
  std::fclose(f);
  if (failed) return DataLossError(path + ": read error: " + std::strerror(err));
  return contents;
}

Status CheckRegularFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    std::string msg = path + ": cannot open: " + std::strerror(err);
    return err == ENOENT ? NotFoundError(msg) : DataLossError(msg);
  }
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError(path + ": not a regular file");
  return OkStatus();
}

Status CheckFileNameInFolder(std::string_view name, std::string_view what) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return InvalidArgumentError(std::string(what) + ": \"" + std::string(name) +
                                "\" is not a file name in the same folder");
  }
  return OkStatus();
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

StatusOr<std::vector<std::string>> ListFilesRecursively(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return InvalidArgumentError(dir + ": not a folder");
  std::vector<std::string> files;
  fs::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) {
      files.push_back(fs::relative(it->path(), dir, ec).generic_string());
    }
  }
  if (ec) return DataLossError(dir + ": cannot list: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

Status CheckLinksStayInFolder(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root = fs::canonical(dir, ec);
  if (ec) return DataLossError(dir + ": cannot resolve: " + ec.message());
  fs::recursive_directory_iterator it(root, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (!it->is_symlink(ec)) continue;
    const fs::path link = it->path();
    // lexically: fs::relative would resolve the link itself.
    const std::string shown = dir + "/" + link.lexically_relative(root).generic_string();
    std::error_code resolve_error;
    const fs::path target = fs::canonical(link, resolve_error);
    if (resolve_error) {
      return InvalidArgumentError(shown + ": a symbolic link that leads nowhere (" +
                                  resolve_error.message() + ")");
    }
    // Inside: root itself or a path below it, compared component by component
    // (a string prefix would let /bundle-evil pass for /bundle).
    const auto [mismatch, unused] =
        std::mismatch(root.begin(), root.end(), target.begin(), target.end());
    if (mismatch != root.end()) {
      return InvalidArgumentError(shown + ": a symbolic link to " + target.string() +
                                  ", outside " + dir);
    }
  }
  if (ec) return DataLossError(dir + ": cannot list: " + ec.message());
  return OkStatus();
}

namespace {

// Makes a completed rename in `folder` durable (its parent's entry).
void SyncParentFolder(const std::string& folder) {
  const std::string parent = std::filesystem::path(folder).parent_path().string();
  const int fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Removes DIR.partial.PID folders that a process no longer running left
// (killed mid-write); a live writer's, and names of other shapes, are kept.
void RemoveAbandonedStaging(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path path(dir);
  const fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  const std::string prefix = path.filename().string() + ".partial.";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string pid = name.substr(prefix.size());
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid.size() > 9) continue;
    if (::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH) {
      std::error_code ignored;
      fs::remove_all(entry.path(), ignored);
    }
  }
}

// Swaps the two folders' names in one step; false (errno set) where the file
// system has no RENAME_EXCHANGE.
bool ExchangeFolders(const std::string& a, const std::string& b) {
#ifdef RENAME_EXCHANGE
  return ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0;
#else
  errno = EINVAL;
  return false;
#endif
}

}  // namespace

Status ReplaceFolderAtomically(const std::string& dir,
                               const std::function<Status(const std::string& staging)>& write) {
  namespace fs = std::filesystem;
  std::string trimmed = dir;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  const std::string staging = trimmed + ".partial." + std::to_string(::getpid());
  std::error_code ec;
  RemoveAbandonedStaging(trimmed);
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  if (ec) return FailedPreconditionError(dir + ": cannot create " + staging + ": " + ec.message());
  auto discard = [&] { fs::remove_all(staging, ec); };
  if (Status s = write(staging); !s.ok()) {
    discard();
    return s;
  }
  const bool exists = fs::exists(trimmed, ec);
  if (!exists) {
    fs::rename(staging, trimmed, ec);
    if (ec) {
      const std::string msg = ec.message();
      discard();
      return DataLossError(dir + ": cannot rename " + staging + " into place: " + msg);
    }
  } else if (ExchangeFolders(staging, trimmed)) {
    fs::remove_all(staging, ec);  // now the previous folder
  } else {
    // No RENAME_EXCHANGE (EINVAL): move the old folder aside, then the new in.
    const std::string aside = trimmed + ".previous." + std::to_string(::getpid());
    fs::remove_all(aside, ec);
    fs::rename(trimmed, aside, ec);
    if (ec) {
      const std::string msg = ec.message();
      discard();
      return DataLossError(dir + ": cannot move the previous folder aside: " + msg);
    }
    fs::rename(staging, trimmed, ec);
    if (ec) {
      const std::string msg = ec.message();
      fs::rename(aside, trimmed, ec);  // put the previous one back
      discard();
      return DataLossError(dir + ": cannot rename " + staging + " into place: " + msg);
    }
    fs::remove_all(aside, ec);
  }
  SyncParentFolder(trimmed);
  return OkStatus();
}

}  // namespace sasrecllm
