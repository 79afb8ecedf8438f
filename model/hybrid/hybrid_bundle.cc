#include "model/hybrid/hybrid_bundle.h"

#include <algorithm>
#include <filesystem>

#include "base/file.h"
#include "model/hybrid/hybrid_checkpoint.h"
#include "model/safetensors.h"

namespace sasrecllm::hybrid {
namespace fs = std::filesystem;

Status ExportHybridBundle(const std::string& checkpoint_dir, const std::string& bundle_dir,
                          const model::Catalog& catalog, model::BundleManifest manifest) {
  SASRECLLM_ASSIGN_OR_RETURN(Json info, ReadHybridInfo(checkpoint_dir));
  HybridLoadOptions load;
  load.merge_lora = true;
  SASRECLLM_ASSIGN_OR_RETURN(std::unique_ptr<HybridModel> model,
                             LoadHybridCheckpoint(checkpoint_dir, load));
  if (!model->uses_sasrec()) {
    return FailedPreconditionError(
        checkpoint_dir + ": a text-only checkpoint has no SASRec to serve stage 1 "
                         "(fuse-hybrid --sasrec gives it one)");
  }
  const HybridModel::Parts& parts = model->parts();
  manifest.sasrec = parts.sasrec->config();
  manifest.max_history = parts.sasrec->config().maxlen;
  manifest.components = model->uses_mapping()
                            ? std::vector<std::string>{"sasrec", "mapping", "llm"}
                            : std::vector<std::string>{"sasrec", "llm"};
  Json hybrid = Json::object();
  hybrid["template"] = parts.prompt_template.text();
  hybrid["max_titles"] = parts.max_titles;
  hybrid["max_history_ids"] = parts.max_history_ids;
  hybrid["yes_token_id"] = model->yes_token_id();
  hybrid["tokenizer"] = parts.tokenizer->kind();
  if (!parts.fusion.is_identity()) hybrid["fusion"] = parts.fusion.ToJson();
  for (const char* key : {"strategy", "stage", "valid_auc"}) {
    if (const Json* v = FindKey(info, key); v != nullptr) hybrid[key] = *v;
  }
  manifest.hybrid = hybrid;

  // Into a staging folder that replaces bundle_dir whole (model::ReplaceBundleFolder);
  // everything but the manifest first, which WriteBundleInto writes last.
  SASRECLLM_ASSIGN_OR_RETURN(const std::string llm_dir, GetString(info, "llm"));
  return model::ReplaceBundleFolder(bundle_dir, [&](const std::string& staging) -> Status {
    std::error_code ec;
    fs::create_directories(staging + "/llm", ec);
    if (ec) return InternalError(staging + "/llm: cannot create folder: " + ec.message());
    if (model->uses_mapping()) {
      SASRECLLM_RETURN_IF_ERROR(SaveMapping(parts.mapping, staging + "/mapping.safetensors"));
    }
    std::map<std::string, torch::Tensor> weights = parts.llm->Weights();
    SASRECLLM_RETURN_IF_ERROR(model::WriteSafetensors(
        staging + "/llm/model.safetensors", weights, {{"source", "sasrecllm export (LoRA merged)"}}));
    SASRECLLM_RETURN_IF_ERROR(WriteStringToFile(
        staging + "/llm/config.json", DumpJson(parts.llm->config().ToJson(), 2) + "\n"));
    bool copied = false;
    for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer.bin"}) {
      if (!fs::exists(llm_dir + "/" + name)) continue;
      fs::copy_file(llm_dir + "/" + name, staging + "/llm/" + name,
                    fs::copy_options::overwrite_existing, ec);
      if (ec) return DataLossError("cannot copy " + llm_dir + "/" + name + ": " + ec.message());
      copied = true;
      break;
    }
    if (!copied) return NotFoundError(llm_dir + ": no tokenizer.json, tokenizer.model or tokenizer.bin");
    return model::WriteBundleInto(staging, manifest, catalog, parts.sasrec);
  });
}

StatusOr<std::unique_ptr<HybridModel>> LoadBundleHybridModel(const std::string& bundle_dir,
                                                             const llm::LlamaModel::Options& options) {
  model::BundleLoadOptions bundle_options;
  bundle_options.dir = bundle_dir;
  bundle_options.device = options.device;
  SASRECLLM_ASSIGN_OR_RETURN(std::unique_ptr<model::Bundle> bundle, model::Bundle::Load(bundle_options));
  return LoadBundleHybridModel(*bundle, options);
}

StatusOr<std::unique_ptr<HybridModel>> LoadBundleHybridModel(const model::Bundle& loaded,
                                                             const llm::LlamaModel::Options& options) {
  const model::Bundle* bundle = &loaded;
  const std::string& bundle_dir = loaded.options().dir;
  const auto& components = bundle->manifest().components;
  if (std::find(components.begin(), components.end(), "llm") == components.end()) {
    return FailedPreconditionError(bundle_dir + ": a SASRec-only bundle (no \"llm\" component)");
  }
  const Json& hybrid = bundle->manifest().hybrid;
  const std::string manifest_path = bundle_dir + "/manifest.json";
  HybridModel::Parts parts;
  StatusOr<std::string> text = GetString(hybrid, "template");
  if (!text.ok()) return text.status().WithPrefix(manifest_path + ": hybrid");
  StatusOr<PromptTemplate> tmpl = PromptTemplate::Parse(*text);
  if (!tmpl.ok()) return tmpl.status().WithPrefix(manifest_path);
  parts.prompt_template = *tmpl;
  if (const Json* m = FindKey(hybrid, "max_titles"); m != nullptr && m->is_number()) {
    parts.max_titles = static_cast<int>(m->get<int64_t>());
  }
  if (const Json* m = FindKey(hybrid, "max_history_ids"); m != nullptr && m->is_number()) {
    parts.max_history_ids = static_cast<int>(m->get<int64_t>());
  }
  SASRECLLM_ASSIGN_OR_RETURN(std::unique_ptr<llm::LlamaModel> llm,
                             llm::LlamaModel::Load(bundle_dir + "/llm", options));
  SASRECLLM_ASSIGN_OR_RETURN(std::unique_ptr<llm::Tokenizer> tokenizer,
                             llm::LoadTokenizer(bundle_dir + "/llm", llm->config().vocab_size));
  parts.llm = std::move(llm);
  parts.tokenizer = std::move(tokenizer);
  if (const Json* fusion = FindKey(hybrid, "fusion"); fusion != nullptr) {
    StatusOr<ScoreFusion> parsed = ScoreFusion::FromJson(*fusion);
    if (!parsed.ok()) return parsed.status().WithPrefix(manifest_path + ": hybrid");
    parts.fusion = *parsed;
  }
  if (parts.prompt_template.has_feature_slots()) {
    SASRECLLM_ASSIGN_OR_RETURN(parts.mapping, LoadMapping(bundle_dir + "/mapping.safetensors"));
    parts.mapping->to(options.device);
    parts.mapping->eval();
  }
  parts.sasrec = bundle->sasrec();
  StatusOr<std::unique_ptr<HybridModel>> model = HybridModel::Create(std::move(parts));
  if (!model.ok()) return model.status().WithPrefix(bundle_dir);
  if (const Json* yes = FindKey(hybrid, "yes_token_id");
      yes != nullptr && yes->is_number() && yes->get<int64_t>() != (*model)->yes_token_id()) {
    return InvalidArgumentError(manifest_path + ": yes_token_id " + std::to_string(yes->get<int64_t>()) +
                                " but the bundle's tokenizer encodes \"Yes\" as " +
                                std::to_string((*model)->yes_token_id()));
  }
  return model;
}

}  // namespace sasrecllm::hybrid
