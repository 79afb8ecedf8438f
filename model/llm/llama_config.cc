#include "model/llm/llama_config.h"

#include <cmath>

namespace sasrecllm::llm {
namespace {

// *out = the member `key`; absent or null keeps *out (its default) unless
// `required`. Errors say "config: " and name the key.
Status ReadInt(const Json& json, const char* key, bool required, int64_t* out) {
  const Json* v = FindKey(json, key);
  if (!required && (v == nullptr || v->is_null())) return OkStatus();
  StatusOr<int64_t> value = GetInt(json, key);
  if (!value.ok()) return value.status().WithPrefix("config");
  *out = *value;
  return OkStatus();
}

Status ReadDouble(const Json& json, const char* key, double* out) {
  StatusOr<double> value = GetDoubleOr(json, key, *out);
  if (!value.ok()) return value.status().WithPrefix("config");
  *out = *value;
  return OkStatus();
}

Status ReadBool(const Json& json, const char* key, bool* out) {
  StatusOr<bool> value = GetBoolOr(json, key, *out);
  if (!value.ok()) return value.status().WithPrefix("config");
  *out = *value;
  return OkStatus();
}

// bos/eos may be an int or (Llama 3) a list of ints: take the first.
Status ReadTokenId(const Json& json, const char* key, int64_t* out) {
  const Json* v = FindKey(json, key);
  if (v == nullptr || v->is_null()) return OkStatus();
  if (v->is_array() && v->size() > 0 && IsInteger((*v)[0])) {
    *out = (*v)[0].get<int64_t>();
    return OkStatus();
  }
  if (!IsInteger(*v)) {
    return InvalidArgumentError(std::string("config: key \"") + key +
                                "\" must be an integer or a list of integers");
  }
  *out = v->get<int64_t>();
  return OkStatus();
}

}  // namespace

Status LlamaConfig::Validate() const {
  SASRECLLM_RETURN_IF_ERROR(
      RequirePositive("config", {{"hidden_size", hidden_size},
                                 {"intermediate_size", intermediate_size},
                                 {"num_hidden_layers", num_hidden_layers},
                                 {"num_attention_heads", num_attention_heads},
                                 {"num_key_value_heads", num_key_value_heads},
                                 {"vocab_size", vocab_size},
                                 {"max_position_embeddings", max_position_embeddings}}));
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
    SASRECLLM_RETURN_IF_ERROR(
        RequirePositive("config", {{"rope_scaling.original_max_position_embeddings",
                                    rope_scaling.original_max_position_embeddings}}));
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
  if (const Json* mt = FindKey(json, "model_type"); mt != nullptr && mt->is_string()) {
    c.model_type = mt->get<std::string>();
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
  // What this runtime does not implement is refused, not ignored: another
  // activation or MLP biases would load and silently compute something else.
  if (const Json* act = FindKey(json, "hidden_act"); act != nullptr && !act->is_null()) {
    if (!act->is_string() || act->get<std::string>() != "silu") {
      return InvalidArgumentError("config: hidden_act " + DumpJson(*act) +
                                  " is not supported (only \"silu\")");
    }
  }
  if (const Json* bias = FindKey(json, "mlp_bias");
      bias != nullptr && !(bias->is_boolean() && !bias->get<bool>())) {
    return InvalidArgumentError("config: mlp_bias " + DumpJson(*bias) +
                                " is not supported (only false)");
  }
  if (const Json* d = FindKey(json, "torch_dtype"); d != nullptr && d->is_string()) {
    c.torch_dtype = d->get<std::string>();
  }
  if (const Json* rs = FindKey(json, "rope_scaling"); rs != nullptr && !rs->is_null()) {
    if (!rs->is_object()) return InvalidArgumentError("config: rope_scaling must be an object");
    const Json* type = FindKey(*rs, "rope_type");
    if (type == nullptr) type = FindKey(*rs, "type");
    if (type == nullptr || !type->is_string()) {
      return InvalidArgumentError("config: rope_scaling.rope_type missing");
    }
    c.rope_scaling.rope_type = type->get<std::string>();
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
  SASRECLLM_ASSIGN_OR_RETURN(Json json, ReadJsonFile(path));
  StatusOr<LlamaConfig> config = FromJson(json);
  if (!config.ok()) return config.status().WithPrefix(path);
  return config;
}

Json LlamaConfig::ToJson() const {
  Json j = {
      {"architectures", Json::array({model_type == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"})},
      {"model_type", model_type},
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"num_hidden_layers", num_hidden_layers},
      {"num_attention_heads", num_attention_heads},
      {"num_key_value_heads", num_key_value_heads},
  };
  if (head_dim_override > 0) j["head_dim"] = head_dim_override;
  j.update(Json{{"vocab_size", vocab_size},
                {"max_position_embeddings", max_position_embeddings},
                {"rms_norm_eps", rms_norm_eps},
                {"rope_theta", rope_theta}});
  if (!rope_scaling.rope_type.empty()) {
    j["rope_scaling"] = {
        {"rope_type", rope_scaling.rope_type},
        {"factor", rope_scaling.factor},
        {"low_freq_factor", rope_scaling.low_freq_factor},
        {"high_freq_factor", rope_scaling.high_freq_factor},
        {"original_max_position_embeddings", rope_scaling.original_max_position_embeddings},
    };
  }
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["attention_bias"] = attention_bias;
  j["hidden_act"] = "silu";
  j["bos_token_id"] = bos_token_id;
  j["eos_token_id"] = eos_token_id;
  j["torch_dtype"] = torch_dtype;
  return j;
}

std::map<std::string, std::vector<int64_t>> LlamaWeightShapes(const LlamaConfig& config) {
  const int64_t d = config.hidden_size, f = config.intermediate_size, v = config.vocab_size;
  const int64_t q_dim = config.num_attention_heads * config.head_dim();
  const int64_t kv_dim = config.kv_dim();
  std::map<std::string, std::vector<int64_t>> shapes;
  shapes["model.embed_tokens.weight"] = {v, d};
  shapes["model.norm.weight"] = {d};
  if (!config.tie_word_embeddings) shapes["lm_head.weight"] = {v, d};
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    shapes[p + "input_layernorm.weight"] = {d};
    shapes[p + "post_attention_layernorm.weight"] = {d};
    shapes[p + "self_attn.q_proj.weight"] = {q_dim, d};
    shapes[p + "self_attn.k_proj.weight"] = {kv_dim, d};
    shapes[p + "self_attn.v_proj.weight"] = {kv_dim, d};
    shapes[p + "self_attn.o_proj.weight"] = {d, q_dim};
    if (config.attention_bias) {
      shapes[p + "self_attn.q_proj.bias"] = {q_dim};
      shapes[p + "self_attn.k_proj.bias"] = {kv_dim};
      shapes[p + "self_attn.v_proj.bias"] = {kv_dim};
    }
    shapes[p + "mlp.gate_proj.weight"] = {f, d};
    shapes[p + "mlp.up_proj.weight"] = {f, d};
    shapes[p + "mlp.down_proj.weight"] = {d, f};
  }
  return shapes;
}

}  // namespace sasrecllm::llm
