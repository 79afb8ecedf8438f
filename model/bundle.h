// A model bundle: what `sasrecllm export` writes and the server loads.
//
//   bundle/
//     manifest.json       {"format": "sasrecllm-bundle", "format_version": 1 or 2,
//                          "model_version": "...", "created_at": "...",
//                          "sasrec": {SasrecConfig}, "max_history": 50,
//                          "components": ["sasrec"] ...}
//     catalog.tsv         see catalog.h
//     sasrec.safetensors  pmixer state_dict names (see sasrec.h)
//     mapping.safetensors the mapping layer     } components "mapping", "llm":
//     llm/                HF-layout LLM, LoRA merged } model/hybrid/hybrid_bundle.h
//     item_index.faiss    an ANN index over the item embeddings (format
//                         version 2, "item_index" in the manifest; built by
//                         `sasrecllm build-index`, read by model/ann/)
//
// The manifest's "files" lists every other file with its size and SHA-256
// (bundle_files.h); a bundle is written into a staging folder that then
// replaces the old one in one rename, so a failed export (a full disk) leaves
// the previous bundle as it was.
//
// Loading checks everything before returning: first that every listed file is
// there, whole and unchanged; then a corrupt safetensors, a tensor whose shape
// disagrees with the manifest, a catalog index beyond item_num: an error
// naming the file and the problem. (A manifest without "files", written by
// hand, skips the first check.)
//
// Thread safety: a loaded Bundle never changes; share it by const pointer.
// Its sasrec() is a handle to the one shared torch module (torch handles
// cannot be const): use it for inference only, which is safe from several
// threads (sasrec.h); training or moving it would change every user's model.
#ifndef SASRECLLM_MODEL_BUNDLE_H_
#define SASRECLLM_MODEL_BUNDLE_H_

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/catalog.h"
#include "base/json.h"
#include "model/sasrec.h"
#include "base/status.h"

namespace sasrecllm::model {

inline constexpr char kBundleFormat[] = "sasrecllm-bundle";
// Version 2 adds the optional "item_index" (an ANN index file). A bundle is
// written as version 1 when it has no index, so that servers older than the
// index read it; this build reads both.
inline constexpr int kBundleFormatVersion = 2;
inline constexpr int kBundleFormatVersionWithoutIndex = 1;

// The largest max_history a manifest may set. A request's history is read
// whole (each id checked and mapped, every one excluded from the results), so
// the bundle's claim bounds a client's work per request; SASRec itself reads
// only the last maxlen ids. 10,000 is far beyond any maxlen in use (50-200).
inline constexpr int64_t kMaxHistoryLimit = 10000;

struct BundleManifest {
  std::string model_version;       // e.g. "sasrec-games-20261126"
  std::string created_at;          // ISO 8601, informational
  SasrecConfig sasrec;
  int64_t max_history = 50;        // longest history a request may send, in [1, kMaxHistoryLimit]; Default: sasrec.maxlen
  std::vector<std::string> components = {"sasrec"};
  Json extra = Json::object();     // free-form provenance (data set, metrics, command)
  // With the "llm" component: {"template": "...", "max_titles": 10,
  // "yes_token_id": N, ...} (see model/hybrid/hybrid_bundle.h). Null otherwise.
  Json hybrid;
  // The ANN index a bundle carries (format version 2), null when none:
  // {"kind": "faiss", "file": "item_index.faiss", "factory": "IVF1024,Flat",
  //  "metric": "inner_product", "items": N, "dim": H,
  //  "search_params": "nprobe=32" (the default at serving), plus what
  //  build-index measured: "recall_at_k", "k", "build_seconds"}.
  Json item_index;
  // {"path": {"bytes": N, "sha256": "..."}} for every file but the manifest
  // (bundle_files.h), filled in by WriteBundleInto. Null: not checked.
  Json files;

  int format_version() const {
    return item_index.is_object() ? kBundleFormatVersion : kBundleFormatVersionWithoutIndex;
  }
  Json ToJson() const;
  // Errors name the key ("manifest.json: missing key \"sasrec\"").
  static StatusOr<BundleManifest> FromJson(const Json& json);
};

struct BundleLoadOptions {
  std::string dir;                        // the bundle folder
  torch::Device device = torch::kCPU;     // Default: CPU
  torch::ScalarType dtype = torch::kFloat32;  // Default: float32
};

class Bundle {
 public:
  static StatusOr<std::unique_ptr<Bundle>> Load(const BundleLoadOptions& options);

  const BundleManifest& manifest() const { return manifest_; }
  const Catalog& catalog() const { return catalog_; }
  // In eval mode, on options.device / options.dtype; shared (see above).
  Sasrec sasrec() const { return sasrec_; }
  // The folder's path of the manifest's item index file; "" when none.
  std::string item_index_path() const;
  const BundleLoadOptions& options() const { return options_; }

 private:
  Bundle() = default;
  BundleManifest manifest_;
  Catalog catalog_;
  Sasrec sasrec_{nullptr};
  BundleLoadOptions options_;
};

// Writes the bundle folder `dir`, replacing a previous bundle there as a whole
// (ReplaceBundleFolder). The catalog must cover indices only within
// 1..item_num.
Status WriteBundle(const std::string& dir, const BundleManifest& manifest,
                   const Catalog& catalog, const Sasrec& sasrec);

// Replaces the bundle folder `dir` with what `write` puts in a staging folder
// (base/file.h ReplaceFolderAtomically): on any error `dir` is untouched.
// FAILED_PRECONDITION, before `write` runs, when `dir` holds files but no
// manifest.json: an export never deletes a folder that is not a bundle.
Status ReplaceBundleFolder(const std::string& dir,
                           const std::function<Status(const std::string& staging)>& write);

// Writes sasrec.safetensors, catalog.tsv and, last, manifest.json (its
// "files" describing everything then in `dir`) into the folder `dir`, which
// the caller has filled with the other components' files (a staging folder).
Status WriteBundleInto(const std::string& dir, const BundleManifest& manifest,
                       const Catalog& catalog, const Sasrec& sasrec);

// Replaces the bundle folder `dir` with a copy of itself to which `add` may
// add files (e.g. an item index), under `manifest` (written last, with every
// file's size and SHA-256). The copy hard-links the old files where the file
// system allows (else copies them), except manifest.json and the old
// manifest's item index file: files that are rewritten are never shared
// with the folder being replaced, which a server may still be reading.
// On any error `dir` is as it was.
Status UpdateBundle(const std::string& dir, const BundleManifest& manifest,
                    const std::function<Status(const std::string& staging)>& add);

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_BUNDLE_H_
