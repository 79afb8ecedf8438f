// SASRecLLM serving bundles: writing one from a hybrid checkpoint (the
// LoRA adapter merged into the LLM's weights) and loading its scorer.
//
//   bundle/manifest.json        components ["sasrec", "mapping", "llm"] (no "mapping"
//                               for a text-only prompt) and "hybrid": {"template",
//                               "max_titles", "yes_token_id", "fusion" (score_fusion.h,
//                               absent = the "Yes" logit alone), ...}
//   bundle/catalog.tsv          (model/catalog.h)
//   bundle/sasrec.safetensors   (model/bundle.h)
//   bundle/mapping.safetensors  (mapping.h; templates with feature slots)
//   bundle/llm/                 config.json, model.safetensors (merged), the tokenizer file
//
//   SASRECLLM_RETURN_IF_ERROR(ExportHybridBundle("runs/joint/final", "bundle", catalog, manifest));
//   SASRECLLM_ASSIGN_OR_RETURN(auto scorer, LoadBundleHybridModel(*bundle, llm_options));
#ifndef SASRECLLM_MODEL_HYBRID_HYBRID_BUNDLE_H_
#define SASRECLLM_MODEL_HYBRID_HYBRID_BUNDLE_H_

#include <memory>
#include <string>

#include "model/bundle.h"
#include "model/catalog.h"
#include "model/hybrid/hybrid_model.h"
#include "model/llm/llama_model.h"

namespace sasrecllm::hybrid {

// Writes BUNDLE_DIR from the hybrid checkpoint CHECKPOINT_DIR. `manifest`
// supplies model_version, created_at and extra; its sasrec config,
// components and hybrid fields are set here. A previous bundle there is
// replaced as a whole, and left as it was when the export fails (a full
// disk): see model::ReplaceBundleFolder. Errors name the file.
Status ExportHybridBundle(const std::string& checkpoint_dir, const std::string& bundle_dir,
                          const model::Catalog& catalog, model::BundleManifest manifest);

// The scorer of the loaded `bundle`: the LLM from its llm/ folder and the
// mapping layer, on options.device in options.dtype (the mapping stays
// float32), over the bundle's own SASRec module (shared, not loaded again:
// one SASRec per server). FAILED_PRECONDITION for a SASRec-only bundle.
StatusOr<std::unique_ptr<HybridModel>> LoadBundleHybridModel(const model::Bundle& bundle,
                                                             const llm::LlamaModel::Options& options);
// The same from a bundle folder (loads its SASRec and catalog first), for
// offline tools and tests that need only the scorer.
StatusOr<std::unique_ptr<HybridModel>> LoadBundleHybridModel(const std::string& bundle_dir,
                                                             const llm::LlamaModel::Options& options);

}  // namespace sasrecllm::hybrid

#endif  // SASRECLLM_MODEL_HYBRID_HYBRID_BUNDLE_H_
