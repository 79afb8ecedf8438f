// SASRecLLM serving bundles: writing one from a hybrid checkpoint (the
// LoRA adapter merged into the LLM's weights) and loading its scorer.
//
//   bundle/manifest.json        components ["sasrec", "mapping", "llm"] and
//                               "hybrid": {"template", "max_titles", "yes_token_id", ...}
//   bundle/catalog.tsv          (model/catalog.h)
//   bundle/sasrec.safetensors   (model/bundle.h)
//   bundle/mapping.safetensors  (mapping.h)
//   bundle/llm/                 config.json, model.safetensors (merged), the tokenizer file
//
//   SASRECLLM_RETURN_IF_ERROR(ExportHybridBundle("runs/joint/final", "bundle", catalog, manifest));
//   SASRECLLM_ASSIGN_OR_RETURN(auto scorer, LoadBundleHybridModel("bundle", llm_options));
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
// components and hybrid fields are set here. Errors name the file.
Status ExportHybridBundle(const std::string& checkpoint_dir, const std::string& bundle_dir,
                          const model::Catalog& catalog, model::BundleManifest manifest);

// The bundle's scorer (LLM from llm/, mapping, SASRec), its weights on
// options.device in options.dtype (SASRec and mapping stay float32).
// FAILED_PRECONDITION for a SASRec-only bundle.
StatusOr<std::unique_ptr<HybridModel>> LoadBundleHybridModel(const std::string& bundle_dir,
                                                             const llm::LlamaModel::Options& options);

}  // namespace sasrecllm::hybrid

#endif  // SASRECLLM_MODEL_HYBRID_HYBRID_BUNDLE_H_
