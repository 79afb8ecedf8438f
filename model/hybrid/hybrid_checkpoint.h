// A hybrid checkpoint: what train-hybrid writes after each stage (and what
// eval-hybrid and export read). The base LLM is referenced, not copied; the
// trained parts are stored:
//
//   DIR/hybrid.json           {"format": "sasrecllm-hybrid-checkpoint", "llm": "/abs/llm",
//                              "template": "...", "template_name": "collm_movie",
//                              "max_titles": 10, "strategy": "...", "stage": "...",
//                              "valid_auc": 0.71, ...,
//                              "fusion": {...} (score_fusion.h; absent = the "Yes" logit alone)}
//   DIR/lora/                 PEFT adapter (adapter_config.json, adapter_model.safetensors)
//   DIR/mapping.safetensors   the mapping layer (templates with slots)
//   DIR/sasrec/               pmixer-layout SASRec (templates with slots, or a fusion that
//                             weighs SASRec's logit)
//
//   SASRECLLM_RETURN_IF_ERROR(SaveHybridCheckpoint(dir, model, info));
//   SASRECLLM_ASSIGN_OR_RETURN(auto model, LoadHybridCheckpoint(dir, options));
//
// Thread safety: free functions; the model must not be trained meanwhile.
#ifndef SASRECLLM_MODEL_HYBRID_HYBRID_CHECKPOINT_H_
#define SASRECLLM_MODEL_HYBRID_HYBRID_CHECKPOINT_H_

#include <memory>
#include <functional>
#include <string>

#include "model/hybrid/hybrid_model.h"
#include "base/json.h"
#include "base/status.h"

namespace sasrecllm::hybrid {

inline constexpr char kHybridCheckpointFormat[] = "sasrecllm-hybrid-checkpoint";

// Writes DIR, replacing a previous checkpoint there as a whole (base/file.h
// ReplaceFolderAtomically: a failed save, e.g. on a full disk, leaves the
// previous one as it was). `info` must hold "llm" (the base LLM folder) and
// may hold anything else (strategy, metrics). `also_write`, when given, adds
// files of its own (an optimizer's state) to the folder before it is swapped in.
Status SaveHybridCheckpoint(const std::string& dir, const HybridModel& model, const Json& info,
                            const std::function<Status(const std::string& dir)>& also_write = nullptr);

struct HybridLoadOptions {
  llm::LlamaModel::Options llm;  // device, dtype of the LLM. Default: float32 CPU
  // true: merge the LoRA adapter into the LLM (serving); false: keep it as an
  // adapter, exactly as during training. Default: false.
  bool merge_lora = false;
};

// Loads a checkpoint: the base LLM named in hybrid.json, its tokenizer, the
// adapter, mapping and SASRec. Errors name the file.
StatusOr<std::unique_ptr<HybridModel>> LoadHybridCheckpoint(const std::string& dir,
                                                            const HybridLoadOptions& options);

// hybrid.json of DIR.
StatusOr<Json> ReadHybridInfo(const std::string& dir);

}  // namespace sasrecllm::hybrid

#endif  // SASRECLLM_MODEL_HYBRID_HYBRID_CHECKPOINT_H_
