// The integrity record a bundle's manifest keeps of its files, so that a
// bundle with a file missing, truncated, corrupted or swapped after export is
// refused at load, by name, before anything is parsed:
//
//   "files": {"catalog.tsv":           {"bytes": 5120,  "sha256": "9f86d0..."},
//             "llm/model.safetensors": {"bytes": 1048576, "sha256": "..."}, ...}
//
// Paths are relative to the bundle folder, '/'-separated; every regular file
// of the folder but manifest.json is listed. The digests are those
// `sha256sum` prints (base/file_digest.h).
//
//   SASRECLLM_ASSIGN_OR_RETURN(Json files, DescribeBundleFiles(staging));  // export
//   SASRECLLM_RETURN_IF_ERROR(VerifyBundleFiles(dir, manifest.files));     // load
//
// Thread safety: free functions, no shared state.
#ifndef SASRECLLM_MODEL_BUNDLE_FILES_H_
#define SASRECLLM_MODEL_BUNDLE_FILES_H_

#include <string>

#include "base/json.h"
#include "base/status.h"

namespace sasrecllm::model {

// The "files" object for the bundle folder `dir`: each regular file under it
// (at any depth) except manifest.json, with its size and SHA-256.
StatusOr<Json> DescribeBundleFiles(const std::string& dir);

// Checks each file `files` lists (DescribeBundleFiles' shape) against what is
// in `dir`: INVALID_ARGUMENT for a malformed entry or a path that would leave
// the folder (absolute, "..", empty parts); NOT_FOUND for a missing file;
// DATA_LOSS for a size or SHA-256 that differs. Errors name the file
// ("DIR/llm/model.safetensors: ...").
Status VerifyBundleFiles(const std::string& dir, const Json& files);

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_BUNDLE_FILES_H_
