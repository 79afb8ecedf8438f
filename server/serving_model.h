// One loaded model bundle being served: its stages in a pipeline (SASRec, and
// the LLM with a hybrid scorer), the request builder for its catalog and what
// GetModelInfo reports about it. RecommenderService serves the current one
// and, on a hot reload, builds the next one beside it (Reload).
//
//   auto model = ServingModel::Create(options, bundle, &metrics, nullptr, llm);
//   if (!model.ok()) ...;
//   if (absl::Status s = (*model)->Warmup(); !s.ok()) ...;
//   std::shared_ptr<const CallEnv> env = (*model)->call_env();  // keeps the model alive
//   ...
//   (*model)->Shutdown();  // finishes every submitted request, stops the stages' threads
//
// Lifetime: every call holds the model through its CallEnv (call.h) from
// arrival to its end, so a model replaced by a reload lives until its last
// call has finished. The stages' threads are joined by Shutdown (or the
// destructor), which must not run on one of them.
//
// Thread safety: everything but Warmup is thread-safe; Warmup runs before the
// model serves.
#ifndef SASRECLLM_SERVER_SERVING_MODEL_H_
#define SASRECLLM_SERVER_SERVING_MODEL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/bundle.h"
#include "model/hybrid/hybrid_model.h"
#include "model/hybrid/hybrid_reranker.h"
#include "model/item_retriever.h"
#include "proto/sasrecllm.pb.h"
#include "server/access_log.h"
#include "server/batcher.h"
#include "server/call.h"
#include "server/clock.h"
#include "server/llm_pass_tuning.h"
#include "server/metrics.h"
#include "server/pipeline.h"
#include "server/request_builder.h"
#include "server/validation.h"

namespace sasrecllm::server {

class LlmStage;  // server/llm_stage.h

struct ServiceOptions {
  // max_top_k and max_candidates come from here; max_history is taken from
  // the bundle manifest.
  RequestLimits limits;
  // Stage 1 (SASRec): requests per batch, queue delay and queue size.
  BatcherOptions batcher;
  // Reported by GetModelInfo (what --device / --dtype said).
  std::string device = "cpu";   // Default: "cpu"
  std::string dtype = "float32";  // Default: "float32"
  // Stage 2 (used only with an LLM): SASRec's candidates per Recommend
  // (at least top_k are taken), the LLM queue and the reranker's options.
  int retrieval_k = 20;  // Default: 20 (--retrieval-k)
  BatcherOptions llm_batcher{.max_batch_size = 8};  // Default: 8 requests per LLM batch
  hybrid::RerankOptions rerank;
  // Warm-up measures how many requests one LLM pass should hold on this
  // device and lowers rerank.max_batch_tokens and llm_batcher's batch size to
  // that (LlmPassTuner; never raises them). Default: false here, true in the
  // server (--llm-pass-tuning).
  bool tune_llm_pass = false;
  // Tokenize the prompt parts of the catalog's titles once at load (LlmStage,
  // hybrid::PromptCache). Default: true.
  bool cache_llm_prompts = true;
  // One JSON line per finished RPC (not owned; must outlive the service).
  // Default: nullptr, no access log.
  AccessLog* access_log = nullptr;
};

class ServingModel {
 public:
  // `bundle` stays loaded while the model lives; `metrics` (not owned) and
  // `clock` (not owned; nullptr = real time) must outlive it. `llm`: the
  // bundle's hybrid scorer, built on the bundle's own SASRec
  // (hybrid::LoadBundleHybridModel(*bundle, ...)), nullptr = SASRec only.
  // `retriever`: stage 1's whole-catalog retrieval (the bundle's ANN index,
  // LoadModel), nullptr = exact. Starts the stages' threads.
  // INVALID_ARGUMENT for bad options, an `llm` whose SASRec is not the
  // bundle's, or a retriever over another catalog size or width.
  static absl::StatusOr<std::shared_ptr<ServingModel>> Create(
      const ServiceOptions& options, std::shared_ptr<const model::Bundle> bundle,
      Metrics* metrics, Clock* clock = nullptr,
      std::shared_ptr<hybrid::HybridModel> llm = nullptr,
      std::shared_ptr<const model::ItemRetriever> retriever = nullptr);

  ~ServingModel();  // Shutdown()

  // Runs one small batch through every stage (first-call allocations, lazy
  // initialisation) so that the first real request is not slow.
  absl::Status Warmup();
  // Finishes every request already submitted, then stops the stages'
  // threads; later submissions are refused by the pipeline. Idempotent.
  void Shutdown();

  const RequestBuilder& request_builder() const { return request_builder_; }
  Pipeline& pipeline() const { return *pipeline_; }
  // What a call needs from this model; holding it keeps the model alive.
  std::shared_ptr<const CallEnv> call_env() const;
  const std::string& model_version() const { return bundle_->manifest().model_version; }
  void FillModelInfo(v1::GetModelInfoResponse* response) const;
  // What the LLM stage's warm-up tuning measured and chose; nullopt without
  // an LLM, with tuning off, or before Warmup.
  std::optional<LlmPassTuning> llm_pass_tuning() const;

 private:
  ServingModel(const ServiceOptions& options, std::shared_ptr<const model::Bundle> bundle,
               std::shared_ptr<hybrid::HybridModel> llm,
               std::shared_ptr<const model::ItemRetriever> retriever, Metrics* metrics);

  const ServiceOptions options_;  // max_history resolved from the bundle
  const std::shared_ptr<const model::Bundle> bundle_;
  const std::shared_ptr<hybrid::HybridModel> llm_;  // null without an LLM
  const std::shared_ptr<const model::ItemRetriever> retriever_;  // null: exact retrieval
  const RequestBuilder request_builder_;
  int64_t sasrec_parameters_ = 0;
  int64_t llm_parameters_ = 0;
  std::unique_ptr<Pipeline> pipeline_;
  const LlmStage* llm_stage_ = nullptr;  // owned by pipeline_; null without an LLM
  CallEnv call_env_;                 // points at pipeline_ and the metrics
  std::weak_ptr<ServingModel> self_;  // for call_env()'s shared ownership
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_SERVING_MODEL_H_
