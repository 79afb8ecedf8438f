// Whole-file reads and crash-safe writes, shared by every library.
//
//   SASRECLLM_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
//   SASRECLLM_RETURN_IF_ERROR(WriteStringToFile(path, text));  // temp file + rename
//   SASRECLLM_RETURN_IF_ERROR(ReplaceFolderAtomically(dir, [&](const std::string& staging) {
//     return WriteStringToFile(staging + "/a.json", a);  // ... every file of the folder
//   }));
//
// Thread safety: free functions; concurrent writers of one path each leave a
// whole file (the last rename wins).
#ifndef SASRECLLM_BASE_FILE_H_
#define SASRECLLM_BASE_FILE_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sasrecllm {

// The most bytes ReadFileToString reads by default: far above any JSON, TSV or
// tokenizer file this project reads (a 10^7-item catalog is ~500 MB), far
// below what would exhaust a server's memory by mistake.
inline constexpr int64_t kMaxReadFileBytes = int64_t{2} << 30;  // 2 GiB

// Reads a whole file into a string. Checked before a byte is read: the path
// is a regular file (not a folder, FIFO or device: INVALID_ARGUMENT) of at
// most `max_bytes` (INVALID_ARGUMENT naming both sizes). NOT_FOUND (no such
// file) / DATA_LOSS (other open or read errors). Errors name the path.
StatusOr<std::string> ReadFileToString(const std::string& path,
                                       int64_t max_bytes = kMaxReadFileBytes);

// OK when `path` is a regular file (following symlinks); NOT_FOUND when
// nothing is there, INVALID_ARGUMENT for a folder, FIFO, device or socket.
// For the readers that open files their own way.
Status CheckRegularFile(const std::string& path);

// A file name read from a file (a shard in a sharded index, ...) that names a
// file in the same folder: not empty, no '/', not "." or "..", no NUL.
// INVALID_ARGUMENT naming `what` otherwise, so that no name leaves the folder.
Status CheckFileNameInFolder(std::string_view name, std::string_view what);

// Writes atomically (temp file + fsync + rename), so a crash never leaves half
// a file. FAILED_PRECONDITION when the temp file cannot be created, DATA_LOSS
// on a failed write or rename; errors name `path`.
Status WriteStringToFile(const std::string& path, std::string_view contents);

// The same for contents written by `write_contents` into the temp file (it
// returns false on a failed write): e.g. tensors streamed without one big
// string. Errors name `path`.
Status WriteFileAtomically(const std::string& path,
                           const std::function<bool(std::FILE*)>& write_contents);

// True when `path` names something that can be opened for reading.
bool FileExists(const std::string& path);

// The regular files under `dir`, at any depth, as paths relative to it
// ("llm/config.json"), sorted. Symlinks are not followed. INVALID_ARGUMENT
// when `dir` is not a folder; DATA_LOSS when it cannot be listed.
StatusOr<std::vector<std::string>> ListFilesRecursively(const std::string& dir);

// OK when every symbolic link under `dir` (at any depth; `dir` itself may be
// one) resolves to something inside `dir`: a bundle may link its own files,
// but a link cannot make a loader read a file outside it ("/etc/shadow", a
// secret mounted elsewhere). INVALID_ARGUMENT naming the first link that
// leaves the folder or leads nowhere; DATA_LOSS when `dir` cannot be listed.
Status CheckLinksStayInFolder(const std::string& dir);

// Replaces the folder `dir` as a whole, so that no reader and no failure ever
// sees a mix of old and new files. `write` fills a fresh staging folder beside
// it (DIR.partial.PID; one a process no longer running left, from a crash, is
// removed first); that folder then takes
// dir's place in one rename (renameat2 RENAME_EXCHANGE where `dir` exists; a
// file system without it gets rename-aside, a short window with no `dir`),
// and the previous folder is removed. When `write` fails (a full disk, ...),
// or the swap does, the staging folder is removed and `dir` is exactly as it
// was; `write`'s error is returned as it is, the swap's named DATA_LOSS.
Status ReplaceFolderAtomically(const std::string& dir,
                               const std::function<Status(const std::string& staging)>& write);

}  // namespace sasrecllm

#endif  // SASRECLLM_BASE_FILE_H_
