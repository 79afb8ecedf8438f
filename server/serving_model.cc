#include "server/serving_model.h"

#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/llm_stage.h"
#include "server/sasrec_stage.h"

namespace sasrecllm::server {

namespace {

int64_t ParameterCount(const std::vector<torch::Tensor>& parameters) {
  int64_t n = 0;
  for (const torch::Tensor& p : parameters) n += p.numel();
  return n;
}

// "none" for the LLM's logit alone, else "LLM*yes+SASREC*sasrec+BIAS".
std::string FusionText(const hybrid::ScoreFusion& fusion) {
  if (fusion.is_identity()) return "none";
  return absl::StrCat(fusion.llm_weight, "*yes+", fusion.sasrec_weight, "*sasrec+", fusion.bias);
}

RequestBuilder::Options BuilderOptions(const ServiceOptions& options, bool has_llm) {
  return {.limits = options.limits, .retrieval_k = options.retrieval_k, .has_llm = has_llm};
}

}  // namespace

absl::StatusOr<std::shared_ptr<ServingModel>> ServingModel::Create(
    const ServiceOptions& options, std::shared_ptr<const model::Bundle> bundle, Metrics* metrics,
    Clock* clock, std::shared_ptr<hybrid::HybridModel> llm,
    std::shared_ptr<const model::ItemRetriever> retriever) {
  if (bundle == nullptr) return absl::InvalidArgumentError("no bundle");
  const model::SasrecConfig& sasrec = bundle->manifest().sasrec;
  if (retriever != nullptr &&
      (retriever->size() != sasrec.item_num || retriever->dim() != sasrec.hidden_units)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the item index covers ", retriever->size(), " items of width ", retriever->dim(),
        ", the bundle's SASRec ", sasrec.item_num, " of width ", sasrec.hidden_units));
  }
  if (metrics == nullptr) return absl::InvalidArgumentError("no metrics");
  if (llm != nullptr && llm->parts().sasrec.get() != bundle->sasrec().get()) {
    // One model instance per device: the LLM stage must use the bundle's SASRec.
    return absl::InvalidArgumentError(
        "the hybrid scorer's SASRec is not the bundle's (load it with "
        "hybrid::LoadBundleHybridModel(bundle, ...))");
  }
  ServiceOptions resolved = options;
  resolved.limits.max_history = bundle->manifest().max_history;
  if (absl::Status s = BuilderOptions(resolved, llm != nullptr).Validate(); !s.ok()) return s;
  if (resolved.rerank.max_batch_tokens < 1) {
    return absl::InvalidArgumentError(absl::StrCat("max_batch_tokens must be >= 1, got ",
                                                   resolved.rerank.max_batch_tokens));
  }

  std::vector<Pipeline::StageConfig> stages;
  stages.push_back(
      {std::make_unique<SasrecStage>(bundle, resolved.limits.max_history, retriever),
       resolved.batcher});
  const LlmStage* llm_stage = nullptr;
  if (llm != nullptr) {
    LlmStagePassTuning tuning{
        .enabled = resolved.tune_llm_pass,
        .max_requests = resolved.llm_batcher.max_batch_size,
        .candidates = resolved.retrieval_k,
        // Served histories are up to max_history; 50 keeps warm-up short on
        // bundles that allow thousands.
        .history = static_cast<int>(std::min<int64_t>(resolved.limits.max_history, 50))};
    auto stage = std::make_unique<LlmStage>(
        llm, resolved.rerank, &bundle->catalog(), metrics, clock, tuning,
        resolved.cache_llm_prompts ? LlmStage::kMaxCachedTitles : 0);
    llm_stage = stage.get();
    stages.push_back({std::move(stage), resolved.llm_batcher});
  }
  absl::StatusOr<std::unique_ptr<Pipeline>> pipeline =
      Pipeline::Create(std::move(stages), metrics, clock);
  if (!pipeline.ok()) return pipeline.status();

  std::shared_ptr<ServingModel> model(
      new ServingModel(resolved, std::move(bundle), std::move(llm), std::move(retriever), metrics));
  model->pipeline_ = std::move(pipeline).value();
  model->llm_stage_ = llm_stage;
  model->call_env_.pipeline = model->pipeline_.get();
  model->self_ = model;
  return model;
}

ServingModel::ServingModel(const ServiceOptions& options,
                           std::shared_ptr<const model::Bundle> bundle,
                           std::shared_ptr<hybrid::HybridModel> llm,
                           std::shared_ptr<const model::ItemRetriever> retriever,
                           Metrics* metrics)
    : options_(options),
      bundle_(std::move(bundle)),
      llm_(std::move(llm)),
      retriever_(std::move(retriever)),
      request_builder_(&bundle_->catalog(), BuilderOptions(options_, llm_ != nullptr)) {
  sasrec_parameters_ = ParameterCount(bundle_->sasrec()->parameters());
  if (llm_ != nullptr) {
    for (const auto& [name, tensor] : llm_->parts().llm->Weights()) {
      llm_parameters_ += tensor.numel();
    }
  }
  call_env_.metrics = metrics;
  call_env_.model_version = bundle_->manifest().model_version;
  call_env_.access_log = options.access_log;
}

ServingModel::~ServingModel() { Shutdown(); }

void ServingModel::Shutdown() {
  if (pipeline_ != nullptr) pipeline_->Shutdown();
}

absl::Status ServingModel::Warmup() { return pipeline_->Warmup(); }

std::optional<LlmPassTuning> ServingModel::llm_pass_tuning() const {
  if (llm_stage_ == nullptr) return std::nullopt;
  return llm_stage_->pass_tuning();
}

std::shared_ptr<const CallEnv> ServingModel::call_env() const {
  return std::shared_ptr<const CallEnv>(self_.lock(), &call_env_);
}

void ServingModel::FillModelInfo(v1::GetModelInfoResponse* response) const {
  const model::BundleManifest& manifest = bundle_->manifest();
  const model::SasrecConfig& config = manifest.sasrec;
  response->set_model_version(manifest.model_version);
  v1::ComponentInfo* sasrec = response->add_components();
  sasrec->set_name("sasrec");
  sasrec->set_config(absl::StrCat("items=", config.item_num, " hidden=", config.hidden_units,
                                  " blocks=", config.num_blocks, " heads=", config.num_heads,
                                  " maxlen=", config.maxlen,
                                  " norm_first=", config.norm_first ? "true" : "false"));
  sasrec->set_parameters(sasrec_parameters_);
  response->set_sasrec_hidden_units(static_cast<int32_t>(config.hidden_units));
  response->set_llm_hidden_size(0);
  if (llm_ != nullptr) {
    const hybrid::HybridModel& hybrid_model = *llm_;
    const llm::LlamaConfig& llm_config = hybrid_model.parts().llm->config();
    v1::ComponentInfo* llm = response->add_components();
    llm->set_name("llm");
    llm->set_config(absl::StrCat(
        "layers=", llm_config.num_hidden_layers, " hidden=", llm_config.hidden_size,
        " heads=", llm_config.num_attention_heads, " kv_heads=", llm_config.num_key_value_heads,
        " vocab=", llm_config.vocab_size, " yes_token_id=", hybrid_model.yes_token_id(),
        " retrieval_k=", options_.retrieval_k,
        // The budget served with: the configured one, or less after tuning.
        " max_batch_tokens=",
        llm_stage_ != nullptr ? llm_stage_->options().max_batch_tokens
                              : options_.rerank.max_batch_tokens,
        " configured_max_batch_tokens=", options_.rerank.max_batch_tokens,
        " prefix_sharing=", options_.rerank.share_prefix ? "true" : "false",
        // How the score combines the LLM's and SASRec's logits (score_fusion.h).
        " score_fusion=", FusionText(hybrid_model.parts().fusion)));
    llm->set_parameters(llm_parameters_);
    if (hybrid_model.uses_mapping()) {
      v1::ComponentInfo* mapping = response->add_components();
      mapping->set_name("mapping");
      mapping->set_config(absl::StrCat("d_rec=", hybrid_model.parts().mapping->d_rec(),
                                       " d_llm=", hybrid_model.parts().mapping->d_llm()));
      mapping->set_parameters(ParameterCount(hybrid_model.parts().mapping->parameters()));
    }
    response->set_llm_hidden_size(static_cast<int32_t>(llm_config.hidden_size));
  }
  response->set_catalog_size(bundle_->catalog().size());
  response->set_max_history(static_cast<int32_t>(options_.limits.max_history));
  response->set_max_top_k(options_.limits.max_top_k);
  response->set_max_candidates(options_.limits.max_candidates);
  response->set_device(options_.device);
  response->set_dtype(options_.dtype);
  response->set_has_llm(llm_ != nullptr);
  response->set_bundle_format_version(manifest.format_version());
  if (manifest.item_index.is_object()) {
    response->set_item_index(absl::StrCat(manifest.item_index.value("kind", ""), " ",
                                          manifest.item_index.value("factory", "")));
  }
  response->set_retrieval(retriever_ != nullptr ? absl::StrCat("ann ", retriever_->Describe())
                                                : "exact");
}

}  // namespace sasrecllm::server
