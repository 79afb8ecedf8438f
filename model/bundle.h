// A model bundle: what `sasrecllm export` writes and the server loads.
//
//   bundle/
//     manifest.json       {"format": "sasrecllm-bundle", "format_version": 1,
//                          "model_version": "...", "created_at": "...",
//                          "sasrec": {SasrecConfig}, "max_history": 50,
//                          "components": ["sasrec"] ...}
//     catalog.tsv         see catalog.h
//     sasrec.safetensors  pmixer state_dict names (see sasrec.h)
//     mapping.safetensors the mapping layer     } components "mapping", "llm":
//     llm/                HF-layout LLM, LoRA merged } model/hybrid/hybrid_bundle.h
//
// Loading checks everything before returning: a missing file, a corrupt
// safetensors, a tensor whose shape disagrees with the manifest, a catalog
// index beyond item_num: an error naming the file and the problem.
//
// Thread safety: a loaded Bundle never changes; share it by const pointer.
// Its sasrec() is a handle to the one shared torch module (torch handles
// cannot be const): use it for inference only, which is safe from several
// threads (sasrec.h); training or moving it would change every user's model.
#ifndef SASRECLLM_MODEL_BUNDLE_H_
#define SASRECLLM_MODEL_BUNDLE_H_

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "model/catalog.h"
#include "base/json.h"
#include "model/sasrec.h"
#include "base/status.h"

namespace sasrecllm::model {

inline constexpr char kBundleFormat[] = "sasrecllm-bundle";
inline constexpr int kBundleFormatVersion = 1;

struct BundleManifest {
  std::string model_version;       // e.g. "sasrec-games-20261126"
  std::string created_at;          // ISO 8601, informational
  SasrecConfig sasrec;
  int64_t max_history = 50;        // longest history a request may send; Default: sasrec.maxlen
  std::vector<std::string> components = {"sasrec"};
  Json extra = Json::object();     // free-form provenance (data set, metrics, command)
  // With the "mapping" and "llm" components: {"template": "...", "max_titles": 10,
  // "yes_token_id": N, ...} (see model/hybrid/hybrid_bundle.h). Null otherwise.
  Json hybrid;

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
  const BundleLoadOptions& options() const { return options_; }

 private:
  Bundle() = default;
  BundleManifest manifest_;
  Catalog catalog_;
  Sasrec sasrec_{nullptr};
  BundleLoadOptions options_;
};

// Writes a bundle folder (created if missing; existing files replaced
// atomically). The catalog must cover indices only within 1..item_num.
Status WriteBundle(const std::string& dir, const BundleManifest& manifest,
                   const Catalog& catalog, const Sasrec& sasrec);

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_BUNDLE_H_
