// SHA-256 digests of files, from OpenSSL's libcrypto: the integrity record a
// bundle's manifest keeps of every file in it (model/bundle_files.h). The hex
// string is what `sha256sum FILE` prints, so an operator can check a bundle
// by hand.
//
//   SASRECLLM_ASSIGN_OR_RETURN(FileDigest d, DigestFile(path));
//   // d.bytes == 1234, d.sha256 == "e3b0c442..."
//
// Thread safety: free functions, no shared state.
#ifndef SASRECLLM_BASE_FILE_DIGEST_H_
#define SASRECLLM_BASE_FILE_DIGEST_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sasrecllm {

struct FileDigest {
  int64_t bytes = 0;
  std::string sha256;  // 64 lowercase hex digits
};

// The size and SHA-256 of a regular file, read 1 MiB at a time (no limit on
// its size). NOT_FOUND, INVALID_ARGUMENT (not a regular file) or DATA_LOSS
// (read error); errors name the path.
StatusOr<FileDigest> DigestFile(const std::string& path);

// The SHA-256 of `bytes` as 64 lowercase hex digits.
std::string Sha256Hex(std::string_view bytes);

}  // namespace sasrecllm

#endif  // SASRECLLM_BASE_FILE_DIGEST_H_
