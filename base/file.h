// Whole-file reads and crash-safe writes, shared by every library.
//
//   SASRECLLM_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
//   SASRECLLM_RETURN_IF_ERROR(WriteStringToFile(path, text));  // temp file + rename
//
// Thread safety: free functions; concurrent writers of one path each leave a
// whole file (the last rename wins).
#ifndef SASRECLLM_BASE_FILE_H_
#define SASRECLLM_BASE_FILE_H_

#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sasrecllm {

// Reads a whole file into a string; NOT_FOUND (no such file) / DATA_LOSS
// (other open or read errors) name the path.
StatusOr<std::string> ReadFileToString(const std::string& path);

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
