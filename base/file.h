// Whole-file reads and crash-safe writes, shared by every library.
//
//   SASRECLLM_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
//   SASRECLLM_RETURN_IF_ERROR(WriteStringToFile(path, text));  // temp file + rename
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

}  // namespace sasrecllm

#endif  // SASRECLLM_BASE_FILE_H_
