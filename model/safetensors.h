// Read and write the safetensors format (Hugging Face): the weight files of
// pmixer-layout SASRec checkpoints, bundles and Hugging Face LLM folders.
//
// Layout: 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [2, 3],
//    "data_offsets": [begin, end]}, ...}
// (padded with spaces), then the tensors' bytes, offsets relative to the end of
// the header. Dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL.
//
//   SASRECLLM_ASSIGN_OR_RETURN(auto tensors, ReadSafetensors(dir + "/model.safetensors"));
//   SASRECLLM_RETURN_IF_ERROR(WriteSafetensors(path, model->StateDict(), {{"source", "x"}}));
//
// Thread safety: free functions, no shared state.
#ifndef SASRECLLM_MODEL_SAFETENSORS_H_
#define SASRECLLM_MODEL_SAFETENSORS_H_

#include <torch/torch.h>

#include <map>
#include <string>

#include "base/status.h"

namespace sasrecllm::model {

// Reads every tensor (CPU, contiguous, the file's dtype). Each tensor's bytes
// are read once, straight into its storage. Errors name the file and, where
// one is at fault, the tensor: NOT_FOUND (no such file), DATA_LOSS (short
// file, header length beyond the file, bad header JSON, size / offset
// mismatches, overlapping or uncovered data, truncated data),
// INVALID_ARGUMENT (unsupported dtype).
StatusOr<std::map<std::string, torch::Tensor>> ReadSafetensors(const std::string& path);

// Same, plus the header's "__metadata__" strings into *metadata (may be null).
StatusOr<std::map<std::string, torch::Tensor>> ReadSafetensors(
    const std::string& path, std::map<std::string, std::string>* metadata);

// Same as ReadSafetensors, but the tensors view a private memory mapping of
// the file instead of owning a copy: loading costs no copy and no memory until
// a tensor's pages are touched, and a weight used as stored (same dtype, on
// the CPU) stays file-backed, so the kernel can drop its pages under pressure
// and processes mapping the same file share them. Each tensor's pages are
// given back when it is freed, so that converting the tensors one at a time
// (another dtype, another device) never holds both copies whole. The mapping
// is copy-on-write: writing a tensor never changes the file. The file must
// not be truncated or rewritten in place while tensors view it (reading a
// page past a truncation raises SIGBUS); this project's writers replace files
// by rename (WriteFileAtomically), which leaves a mapped file as it was.
// A tensor misaligned for its dtype (a header not padded to 8 bytes) is
// copied. Same errors as ReadSafetensors, plus DATA_LOSS when mmap fails.
StatusOr<std::map<std::string, torch::Tensor>> MapSafetensors(
    const std::string& path, std::map<std::string, std::string>* metadata = nullptr);

// Writes `tensors` (any device; stored contiguous, names sorted, header padded
// to a multiple of 8) atomically: a temporary file renamed over `path`.
// INVALID_ARGUMENT for an undefined tensor, an unsupported dtype or an empty
// or "__metadata__" name.
Status WriteSafetensors(const std::string& path,
                        const std::map<std::string, torch::Tensor>& tensors,
                        const std::map<std::string, std::string>& metadata = {});

// A tensor shape for messages: "[2, 3]".
std::string ShapeString(at::IntArrayRef shape);

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_SAFETENSORS_H_
