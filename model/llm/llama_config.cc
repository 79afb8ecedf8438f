#include "model/llm/llama_config.h"

#include <cmath>

namespace sasrecllm::llm {
namespace {

Status ReadInt(const Json& json, const char* key, bool required, int64_t* out) {
  const Json* v = json.Find(key);
  if (v == nullptr || v->is_null()) {
    if (required) return InvalidArgumentError(std::string("config: missing key \"") + key + "\"");
    return OkStatus();
  }
  if (!v->is_integer()) {
    return InvalidArgumentError(std::string("config: key \"") + key + "\" must be an integer");
  }
  *out = v->AsInt();
  return OkStatus();
}

Status ReadDouble(const Json& json, const char* key, double* out) {
  const Json* v = json.Find(key);
  if (v == nullptr || v->is_null()) return OkStatus();
  if (!v->is_number()) {
    return InvalidArgumentError(std::string("config: key \"") + key + "\" must be a number");
  }
  *out = v->AsDouble();
  return OkStatus();
}

Status ReadBool(const Json& json, const char* key, bool* out) {
  const Json* v = json.Find(key);
  if (v == nullptr || v->is_null()) return OkStatus();
  if (!v->is_bool()) {
    return InvalidArgumentError(std::string("config: key \"") + key + "\" must be a boolean");
  }
  *out = v->AsBool();
  return OkStatus();
}

// bos/eos may be an int or (Llama 3) a list of ints: take the first.
Status ReadTokenId(const Json& json, const char* key, int64_t* out) {
  const Json* v = json.Find(key);
  if (v == nullptr || v->is_null()) return OkStatus();
  if (v->is_array() && v->size() > 0 && (*v)[0].is_integer()) {
    *out = (*v)[0].AsInt();
    return OkStatus();
  }
  if (!v->is_integer()) {
    return InvalidArgumentError(std::string("config: key \"") + key +
                                "\" must be an integer or a list of integers");
  }
  *out = v->AsInt();
  return OkStatus();
}

Status Positive(const char* name, int64_t v) {
  if (v <= 0) {
    return InvalidArgumentError(std::string("config: ") + name + " must be > 0, got " +
                                std::to_string(v));
  }
  return OkStatus();
}

}  // namespace

Status LlamaConfig::Validate() const {
  SASRECLLM_RETURN_IF_ERROR(Positive("hidden_size", hidden_size));
  SASRECLLM_RETURN_IF_ERROR(Positive("intermediate_size", intermediate_size));
  SASRECLLM_RETURN_IF_ERROR(Positive("num_hidden_layers", num_hidden_layers));
  SASRECLLM_RETURN_IF_ERROR(Positive("num_attention_heads", num_attention_heads));
  SASRECLLM_RETURN_IF_ERROR(Positive("num_key_value_heads", num_key_value_heads));
  SASRECLLM_RETURN_IF_ERROR(Positive("vocab_size", vocab_size));
  SASRECLLM_RETURN_IF_ERROR(Positive("max_position_embeddings", max_position_embeddings));
  if (head_dim_override <= 0 && hidden_size % num_attention_heads != 0) {
    return InvalidArgumentError("config: hidden_size " + std::to_string(hidden_size) +
                                " is not divisible by num_attention_heads " +
                                std::to_string(num_attention_heads));
  }
  if (head_dim() % 2 != 0) {
    return InvalidArgumentError("config: head_dim " + std::to_string(head_dim()) +
                                " must be even for rotary embeddings");
  }
  if (num_attention_heads % num_key_value_heads != 0) {
    return InvalidArgumentError("config: num_attention_heads " +
                                std::to_string(num_attention_heads) +
                                " is not a multiple of num_key_value_heads " +
                                std::to_string(num_key_value_heads));
  }
  if (!(rms_norm_eps > 0.0)) {
    return InvalidArgumentError("config: rms_norm_eps must be > 0, got " +
                                std::to_string(rms_norm_eps));
  }
  if (!(rope_theta > 0.0)) {
    return InvalidArgumentError("config: rope_theta must be > 0, got " +
                                std::to_string(rope_theta));
  }
  if (!rope_scaling.rope_type.empty()) {
    if (rope_scaling.rope_type != "llama3") {
      return InvalidArgumentError("config: rope_scaling.rope_type \"" + rope_scaling.rope_type +
                                  "\" is not supported (only \"llama3\")");
    }
    if (!(rope_scaling.factor > 0.0)) {
      return InvalidArgumentError("config: rope_scaling.factor must be > 0");
    }
    if (!(rope_scaling.high_freq_factor > rope_scaling.low_freq_factor)) {
      return InvalidArgumentError(
          "config: rope_scaling.high_freq_factor must be > rope_scaling.low_freq_factor");
    }
    SASRECLLM_RETURN_IF_ERROR(Positive("rope_scaling.original_max_position_embeddings",
                                       rope_scaling.original_max_position_embeddings));
  }
  if (torch_dtype != "float32" && torch_dtype != "bfloat16" && torch_dtype != "float16") {
    return InvalidArgumentError("config: torch_dtype \"" + torch_dtype +
                                "\" is not one of float32, bfloat16, float16");
  }
  return OkStatus();
}

StatusOr<LlamaConfig> LlamaConfig::FromJson(const Json& json) {
  if (!json.is_object()) return InvalidArgumentError("config: expected a JSON object");
  LlamaConfig c;
  if (const Json* mt = json.Find("model_type"); mt != nullptr && mt->is_string()) {
    c.model_type = mt->AsString();
  }
  SASRECLLM_RETURN_IF_ERROR(ReadInt(json, "hidden_size", true, &c.hidden_size));
  SASRECLLM_RETURN_IF_ERROR(ReadInt(json, "intermediate_size", true, &c.intermediate_size));
  SASRECLLM_RETURN_IF_ERROR(ReadInt(json, "num_hidden_layers", true, &c.num_hidden_layers));
  SASRECLLM_RETURN_IF_ERROR(ReadInt(json, "num_attention_heads", true, &c.num_attention_heads));
  c.num_key_value_heads = c.num_attention_heads;
  SASRECLLM_RETURN_IF_ERROR(ReadInt(json, "num_key_value_heads", false, &c.num_key_value_heads));
  SASRECLLM_RETURN_IF_ERROR(ReadInt(json, "head_dim", false, &c.head_dim_override));
  SASRECLLM_RETURN_IF_ERROR(ReadInt(json, "vocab_size", true, &c.vocab_size));
  SASRECLLM_RETURN_IF_ERROR(
      ReadInt(json, "max_position_embeddings", false, &c.max_position_embeddings));
  SASRECLLM_RETURN_IF_ERROR(ReadDouble(json, "rms_norm_eps", &c.rms_norm_eps));
  SASRECLLM_RETURN_IF_ERROR(ReadDouble(json, "rope_theta", &c.rope_theta));
  SASRECLLM_RETURN_IF_ERROR(ReadBool(json, "tie_word_embeddings", &c.tie_word_embeddings));
  // Qwen2 always has q/k/v biases and no "attention_bias" key.
  c.attention_bias = c.model_type == "qwen2";
  SASRECLLM_RETURN_IF_ERROR(ReadBool(json, "attention_bias", &c.attention_bias));
  SASRECLLM_RETURN_IF_ERROR(ReadTokenId(json, "bos_token_id", &c.bos_token_id));
  SASRECLLM_RETURN_IF_ERROR(ReadTokenId(json, "eos_token_id", &c.eos_token_id));
  if (const Json* d = json.Find("torch_dtype"); d != nullptr && d->is_string()) {
    c.torch_dtype = d->AsString();
  }
  if (const Json* rs = json.Find("rope_scaling"); rs != nullptr && !rs->is_null()) {
    if (!rs->is_object()) return InvalidArgumentError("config: rope_scaling must be an object");
    const Json* type = rs->Find("rope_type");
    if (type == nullptr) type = rs->Find("type");
    if (type == nullptr || !type->is_string()) {
      return InvalidArgumentError("config: rope_scaling.rope_type missing");
    }
    c.rope_scaling.rope_type = type->AsString();
    SASRECLLM_RETURN_IF_ERROR(ReadDouble(*rs, "factor", &c.rope_scaling.factor));
    SASRECLLM_RETURN_IF_ERROR(ReadDouble(*rs, "low_freq_factor", &c.rope_scaling.low_freq_factor));
    SASRECLLM_RETURN_IF_ERROR(
        ReadDouble(*rs, "high_freq_factor", &c.rope_scaling.high_freq_factor));
    SASRECLLM_RETURN_IF_ERROR(ReadInt(*rs, "original_max_position_embeddings", false,
                                      &c.rope_scaling.original_max_position_embeddings));
  }
  SASRECLLM_RETURN_IF_ERROR(c.Validate());
  return c;
}

StatusOr<LlamaConfig> LlamaConfig::FromFile(const std::string& path) {
  SASRECLLM_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  StatusOr<Json> json = Json::Parse(text);
  if (!json.ok()) return json.status().WithPrefix(path);
  StatusOr<LlamaConfig> config = FromJson(*json);
  if (!config.ok()) return config.status().WithPrefix(path);
  return config;
}

Json LlamaConfig::ToJson() const {
  Json j = Json::Object();
  Json arch = Json::Array();
  arch.Push(Json(model_type == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"));
  j.Set("architectures", arch);
  j.Set("model_type", Json(model_type));
  j.Set("hidden_size", Json(hidden_size));
  j.Set("intermediate_size", Json(intermediate_size));
  j.Set("num_hidden_layers", Json(num_hidden_layers));
  j.Set("num_attention_heads", Json(num_attention_heads));
  j.Set("num_key_value_heads", Json(num_key_value_heads));
  if (head_dim_override > 0) j.Set("head_dim", Json(head_dim_override));
  j.Set("vocab_size", Json(vocab_size));
  j.Set("max_position_embeddings", Json(max_position_embeddings));
  j.Set("rms_norm_eps", Json(rms_norm_eps));
  j.Set("rope_theta", Json(rope_theta));
  if (!rope_scaling.rope_type.empty()) {
    Json rs = Json::Object();
    rs.Set("rope_type", Json(rope_scaling.rope_type));
    rs.Set("factor", Json(rope_scaling.factor));
    rs.Set("low_freq_factor", Json(rope_scaling.low_freq_factor));
    rs.Set("high_freq_factor", Json(rope_scaling.high_freq_factor));
    rs.Set("original_max_position_embeddings", Json(rope_scaling.original_max_position_embeddings));
    j.Set("rope_scaling", rs);
  }
  j.Set("tie_word_embeddings", Json(tie_word_embeddings));
  j.Set("attention_bias", Json(attention_bias));
  j.Set("hidden_act", Json("silu"));
  j.Set("bos_token_id", Json(bos_token_id));
  j.Set("eos_token_id", Json(eos_token_id));
  j.Set("torch_dtype", Json(torch_dtype));
  return j;
}

}  // namespace sasrecllm::llm
