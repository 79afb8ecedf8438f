// Loads what the server serves from a bundle folder: the bundle (SASRec,
// catalog, manifest) and, when the bundle has one and it is wanted, its LLM
// stage's hybrid scorer. Used at start-up and by each hot reload.
//
//   absl::StatusOr<LoadedModel> m = LoadModel("/models/bundle", {.device = torch::kCPU});
//   auto service = RecommenderService::Create(options, m->bundle, &metrics, nullptr, m->llm);
//
// Thread safety: LoadModel may run beside a serving model (it shares nothing).
#ifndef SASRECLLM_SERVER_MODEL_LOADER_H_
#define SASRECLLM_SERVER_MODEL_LOADER_H_

#include <torch/torch.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "model/bundle.h"
#include "model/hybrid/hybrid_model.h"
#include "model/item_retriever.h"

namespace sasrecllm::server {

struct ModelLoadOptions {
  torch::Device device = torch::kCPU;    // Default: cpu
  torch::Dtype dtype = torch::kFloat32;  // Default: float32
  // Load the LLM stage when the bundle has one. Default: true (--llm).
  bool llm = true;
  // "exact", "ann" or "auto" (--retrieval): whether to load the bundle's
  // item index for stage 1. Default: auto (when the bundle has one).
  std::string retrieval = "auto";
  // FAISS search parameters; "" = the bundle's. Default: "".
  std::string ann_search_params;
};

struct LoadedModel {
  std::shared_ptr<const model::Bundle> bundle;
  std::shared_ptr<hybrid::HybridModel> llm;  // nullptr: SASRec only
  std::shared_ptr<const model::ItemRetriever> retriever;  // nullptr: exact retrieval
  // How stage 1 retrieves, for the log: "exact", "exact (...why...)" or the
  // index ("faiss IVF1024,Flat nprobe=32").
  std::string retrieval;
};

// The bundle in `dir`; errors name the folder and the part that failed.
absl::StatusOr<LoadedModel> LoadModel(const std::string& dir, const ModelLoadOptions& options);

// The folder a hot reload loads: the first line of `path_file` (surrounding
// blanks trimmed), or `bundle` when `path_file` is empty. INVALID_ARGUMENT
// for an unreadable or empty path file.
absl::StatusOr<std::string> ReloadTarget(const std::string& bundle,
                                         const std::string& path_file);

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_MODEL_LOADER_H_
