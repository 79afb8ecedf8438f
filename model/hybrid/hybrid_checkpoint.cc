#include "model/hybrid/hybrid_checkpoint.h"

#include <filesystem>

#include "base/file.h"
#include "model/sasrec_trainer.h"

namespace sasrecllm::hybrid {
namespace fs = std::filesystem;

StatusOr<Json> ReadHybridInfo(const std::string& dir) {
  const std::string path = dir + "/hybrid.json";
  StatusOr<Json> json = ReadJsonFile(path);
  if (!json.ok()) return json.status();
  const Json* format = FindKey(*json, "format");
  if (format == nullptr || !format->is_string() || format->get<std::string>() != kHybridCheckpointFormat) {
    return InvalidArgumentError(path + ": not a hybrid checkpoint (\"format\" must be \"" +
                                kHybridCheckpointFormat + "\")");
  }
  return json;
}

Status SaveHybridCheckpoint(const std::string& dir, const HybridModel& model, const Json& info,
                            const std::function<Status(const std::string& dir)>& also_write) {
  if (FindKey(info, "llm") == nullptr) {
    return InvalidArgumentError("SaveHybridCheckpoint: info lacks \"llm\"");
  }
  return ReplaceFolderAtomically(dir, [&](const std::string& staging) -> Status {
    const HybridModel::Parts& parts = model.parts();
    if (parts.lora.has_value()) {
      SASRECLLM_ASSIGN_OR_RETURN(const std::string base_model, GetStringOr(info, "llm", ""));
      SASRECLLM_RETURN_IF_ERROR(parts.lora->SavePeft(staging + "/lora", base_model));
    }
    if (model.uses_mapping()) {
      SASRECLLM_RETURN_IF_ERROR(SaveMapping(parts.mapping, staging + "/mapping.safetensors"));
    }
    if (model.uses_sasrec()) {
      SASRECLLM_RETURN_IF_ERROR(
          model::SaveSasrecCheckpoint(staging + "/sasrec", parts.sasrec, Json::object()));
    }
    if (also_write) SASRECLLM_RETURN_IF_ERROR(also_write(staging));
    Json out = info;
    out["format"] = kHybridCheckpointFormat;
    out["template"] = parts.prompt_template.text();
    out["max_titles"] = parts.max_titles;
    out["max_history_ids"] = parts.max_history_ids;
    out["yes_token_id"] = model.yes_token_id();
    if (parts.fusion.is_identity()) {
      out.erase("fusion");
    } else {
      out["fusion"] = parts.fusion.ToJson();
    }
    return WriteStringToFile(staging + "/hybrid.json", DumpJson(out, 2) + "\n");
  });
}

StatusOr<std::unique_ptr<HybridModel>> LoadHybridCheckpoint(const std::string& dir,
                                                            const HybridLoadOptions& options) {
  SASRECLLM_ASSIGN_OR_RETURN(Json info, ReadHybridInfo(dir));
  const std::string info_path = dir + "/hybrid.json";
  StatusOr<std::string> llm_dir = GetString(info, "llm");
  if (!llm_dir.ok()) return llm_dir.status().WithPrefix(info_path);
  StatusOr<std::string> text = GetString(info, "template");
  if (!text.ok()) return text.status().WithPrefix(info_path);

  HybridModel::Parts parts;
  StatusOr<PromptTemplate> tmpl = PromptTemplate::Parse(*text);
  if (!tmpl.ok()) return tmpl.status().WithPrefix(info_path);
  parts.prompt_template = *tmpl;
  if (const Json* m = FindKey(info, "max_titles"); m != nullptr && m->is_number()) {
    parts.max_titles = static_cast<int>(m->get<int64_t>());
  }
  if (const Json* m = FindKey(info, "max_history_ids"); m != nullptr && m->is_number()) {
    parts.max_history_ids = static_cast<int>(m->get<int64_t>());
  }
  llm::LlamaModel::Options llm_options = options.llm;
  llm_options.merge_adapter = false;  // the base folder's own adapter is not ours
  SASRECLLM_ASSIGN_OR_RETURN(std::unique_ptr<llm::LlamaModel> base,
                             llm::LlamaModel::Load(*llm_dir, llm_options));
  SASRECLLM_ASSIGN_OR_RETURN(std::unique_ptr<llm::Tokenizer> tokenizer,
                             llm::LoadTokenizer(*llm_dir, base->config().vocab_size));
  parts.tokenizer = std::move(tokenizer);
  if (fs::exists(dir + "/lora/adapter_config.json")) {
    SASRECLLM_ASSIGN_OR_RETURN(
        llm::LoraAdapter lora,
        llm::LoraAdapter::LoadPeft(dir + "/lora", base->config(), llm_options.device));
    if (options.merge_lora) {
      SASRECLLM_ASSIGN_OR_RETURN(base, base->Merged(lora));
    } else {
      parts.lora = std::move(lora);
    }
  }
  parts.llm = std::move(base);
  if (const Json* fusion = FindKey(info, "fusion"); fusion != nullptr) {
    StatusOr<ScoreFusion> parsed = ScoreFusion::FromJson(*fusion);
    if (!parsed.ok()) return parsed.status().WithPrefix(info_path);
    parts.fusion = *parsed;
  }
  if (parts.prompt_template.has_feature_slots()) {
    SASRECLLM_ASSIGN_OR_RETURN(parts.mapping, LoadMapping(dir + "/mapping.safetensors"));
    parts.mapping->to(llm_options.device);
    parts.mapping->eval();
  }
  if (parts.prompt_template.has_feature_slots() || parts.fusion.uses_sasrec()) {
    SASRECLLM_ASSIGN_OR_RETURN(parts.sasrec, model::LoadSasrecCheckpoint(dir + "/sasrec"));
    parts.sasrec->to(llm_options.device);
    parts.sasrec->eval();
  }
  StatusOr<std::unique_ptr<HybridModel>> model = HybridModel::Create(std::move(parts));
  if (!model.ok()) return model.status().WithPrefix(dir);
  return model;
}

}  // namespace sasrecllm::hybrid
