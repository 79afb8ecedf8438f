#include "model/llm/lora.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "model/safetensors.h"

namespace sasrecllm::llm {
namespace {

bool IsAttentionModule(const std::string& module) {
  return module == "q_proj" || module == "k_proj" || module == "v_proj" || module == "o_proj";
}

// (out, in) of layer module `module` for `config`.
std::pair<int64_t, int64_t> ModuleShape(const LlamaConfig& config, const std::string& module) {
  const int64_t d = config.hidden_size, f = config.intermediate_size;
  const int64_t q_dim = config.num_attention_heads * config.head_dim();
  if (module == "q_proj") return {q_dim, d};
  if (module == "k_proj" || module == "v_proj") return {config.kv_dim(), d};
  if (module == "o_proj") return {d, q_dim};
  if (module == "gate_proj" || module == "up_proj") return {f, d};
  return {d, f};  // down_proj
}

std::string ShapeString(at::IntArrayRef shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

}  // namespace

std::string PeftModulePath(int64_t layer, const std::string& module) {
  return "base_model.model.model.layers." + std::to_string(layer) +
         (IsAttentionModule(module) ? ".self_attn." : ".mlp.") + module;
}

// ---------------------------------------------------------------------------
// LoraConfig

Status LoraConfig::Validate() const {
  if (r < 1) return InvalidArgumentError("lora r must be >= 1, got " + std::to_string(r));
  if (!(alpha > 0)) return InvalidArgumentError("lora alpha must be > 0, got " + std::to_string(alpha));
  if (!(dropout >= 0 && dropout < 1)) {
    return InvalidArgumentError("lora dropout must be in [0, 1), got " + std::to_string(dropout));
  }
  if (target_modules.empty()) return InvalidArgumentError("lora target_modules is empty");
  const auto& known = LoraModuleNames();
  for (const std::string& m : target_modules) {
    if (std::find(known.begin(), known.end(), m) == known.end()) {
      return InvalidArgumentError("lora target module \"" + m +
                                  "\" is not one of q_proj, k_proj, v_proj, o_proj, gate_proj, "
                                  "up_proj, down_proj");
    }
  }
  return OkStatus();
}

StatusOr<LoraConfig> LoraConfig::FromPeftJson(const Json& json) {
  if (!json.is_object()) return InvalidArgumentError("adapter config is not a JSON object");
  if (const Json* type = json.Find("peft_type"); type != nullptr && !type->is_null()) {
    if (!type->is_string() || type->AsString() != "LORA") {
      return UnimplementedError("peft_type " + type->Dump() + " (only \"LORA\" is supported)");
    }
  }
  LoraConfig config;
  SASRECLLM_ASSIGN_OR_RETURN(config.r, json.GetInt("r"));
  SASRECLLM_ASSIGN_OR_RETURN(config.alpha, json.GetDouble("lora_alpha"));
  if (const Json* d = json.Find("lora_dropout"); d != nullptr && d->is_number()) {
    config.dropout = d->AsDouble();
  }
  const Json* targets = json.Find("target_modules");
  if (targets == nullptr || !targets->is_array()) {
    return InvalidArgumentError("key \"target_modules\": expected an array of module names");
  }
  config.target_modules.clear();
  for (const Json& t : targets->elements()) {
    if (!t.is_string()) return InvalidArgumentError("target_modules: expected strings");
    config.target_modules.push_back(t.AsString());
  }
  if (const Json* bias = json.Find("bias"); bias != nullptr && bias->is_string() &&
                                            bias->AsString() != "none") {
    return UnimplementedError("adapter bias \"" + bias->AsString() + "\" (only \"none\")");
  }
  if (const Json* rs = json.Find("use_rslora"); rs != nullptr && rs->is_bool() && rs->AsBool()) {
    return UnimplementedError("use_rslora adapters");
  }
  SASRECLLM_RETURN_IF_ERROR(config.Validate());
  return config;
}

Json LoraConfig::ToPeftJson(const std::string& base_model_name) const {
  Json json = Json::Object();
  json.Set("peft_type", Json("LORA"));
  json.Set("task_type", Json("CAUSAL_LM"));
  json.Set("base_model_name_or_path", Json(base_model_name));
  json.Set("r", Json(r));
  json.Set("lora_alpha", Json(alpha));
  json.Set("lora_dropout", Json(dropout));
  Json targets = Json::Array();
  for (const std::string& m : target_modules) targets.Push(Json(m));
  json.Set("target_modules", std::move(targets));
  json.Set("bias", Json("none"));
  json.Set("fan_in_fan_out", Json(false));
  json.Set("inference_mode", Json(true));
  return json;
}

// ---------------------------------------------------------------------------
// LoraAdapter

StatusOr<LoraAdapter> LoraAdapter::Init(const LlamaConfig& model_config, const LoraConfig& config,
                                        uint64_t seed, torch::Device device) {
  SASRECLLM_RETURN_IF_ERROR(config.Validate());
  SASRECLLM_RETURN_IF_ERROR(model_config.Validate());
  try {
    LoraAdapter adapter;
    adapter.config_ = config;
    auto generator = at::detail::createCPUGenerator(seed);
    for (int64_t l = 0; l < model_config.num_hidden_layers; ++l) {
      for (const std::string& module : config.target_modules) {
        const auto [out, in] = ModuleShape(model_config, module);
        // kaiming_uniform_(a=sqrt(5)): bound = sqrt(6 / ((1 + 5) * fan_in)) = 1/sqrt(fan_in).
        const double bound = 1.0 / std::sqrt(static_cast<double>(in));
        Pair pair;
        pair.a = (torch::rand({config.r, in}, generator, torch::kFloat) * 2 - 1) * bound;  // [r, in]
        pair.b = torch::zeros({out, config.r}, torch::kFloat);                             // [out, r]
        pair.a = pair.a.to(device).set_requires_grad(true);
        pair.b = pair.b.to(device).set_requires_grad(true);
        adapter.pairs_[{l, module}] = std::move(pair);
      }
    }
    return adapter;
  } catch (const c10::Error& e) {
    return InternalError(std::string("LoraAdapter::Init: ") + e.what_without_backtrace());
  }
}

StatusOr<LoraAdapter> LoraAdapter::LoadPeft(const std::string& dir,
                                            const LlamaConfig& model_config,
                                            torch::Device device) {
  const std::string config_path = dir + "/adapter_config.json";
  const std::string weights_path = dir + "/adapter_model.safetensors";
  SASRECLLM_ASSIGN_OR_RETURN(std::string text, ReadFileToString(config_path));
  StatusOr<Json> json = Json::Parse(text);
  if (!json.ok()) return json.status().WithPrefix(config_path);
  StatusOr<LoraConfig> config = LoraConfig::FromPeftJson(*json);
  if (!config.ok()) return config.status().WithPrefix(config_path);
  SASRECLLM_ASSIGN_OR_RETURN(auto tensors, model::ReadSafetensors(weights_path));

  // Start from a zero adapter of the right shapes, then fill it.
  SASRECLLM_ASSIGN_OR_RETURN(LoraAdapter adapter, Init(model_config, *config, /*seed=*/0));
  Status s = adapter.LoadNamedTensors(tensors);
  if (!s.ok()) return s.WithPrefix(weights_path);
  try {
    for (auto& [key, pair] : adapter.pairs_) {
      pair.a = pair.a.detach().to(device).set_requires_grad(true);
      pair.b = pair.b.detach().to(device).set_requires_grad(true);
    }
  } catch (const c10::Error& e) {
    return InternalError(std::string("LoraAdapter::LoadPeft: ") + e.what_without_backtrace());
  }
  return adapter;
}

Status LoraAdapter::LoadNamedTensors(const std::map<std::string, torch::Tensor>& tensors) {
  // PEFT writes "...q_proj.lora_A.weight"; some versions keep the adapter
  // name ("...q_proj.lora_A.default.weight"). Accept both.
  std::map<std::string, torch::Tensor*> wanted;  // canonical name -> destination
  for (auto& [key, pair] : pairs_) {
    const std::string path = PeftModulePath(key.first, key.second);
    wanted[path + ".lora_A.weight"] = &pair.a;
    wanted[path + ".lora_B.weight"] = &pair.b;
  }
  std::set<std::string> seen;
  for (const auto& [raw_name, tensor] : tensors) {
    std::string name = raw_name;
    if (const size_t pos = name.find(".default.weight"); pos != std::string::npos) {
      name = name.substr(0, pos) + ".weight";
    }
    auto it = wanted.find(name);
    if (it == wanted.end()) {
      return InvalidArgumentError("unexpected tensor " + raw_name +
                                  " (not a LoRA A/B of a target module of this model: layers 0.." +
                                  std::to_string(config_.target_modules.empty()
                                                     ? 0
                                                     : pairs_.rbegin()->first.first) +
                                  ")");
    }
    if (tensor.sizes() != it->second->sizes()) {
      return InvalidArgumentError("tensor " + raw_name + " has shape " +
                                  ShapeString(tensor.sizes()) + ", expected " +
                                  ShapeString(it->second->sizes()));
    }
    if (!tensor.is_floating_point()) {
      return InvalidArgumentError("tensor " + raw_name + " is not floating point");
    }
    torch::NoGradGuard no_grad;
    it->second->copy_(tensor.to(torch::kFloat));
    seen.insert(name);
  }
  for (const auto& [name, dest] : wanted) {
    if (seen.count(name) == 0) return InvalidArgumentError("missing tensor " + name);
  }
  return OkStatus();
}

Status LoraAdapter::SavePeft(const std::string& dir, const std::string& base_model_name) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InternalError("cannot create " + dir + ": " + ec.message());
  SASRECLLM_RETURN_IF_ERROR(model::WriteSafetensors(dir + "/adapter_model.safetensors",
                                                    NamedTensors()));
  return WriteStringToFile(dir + "/adapter_config.json",
                           config_.ToPeftJson(base_model_name).Dump(2) + "\n");
}

const LoraAdapter::Pair* LoraAdapter::Find(int64_t layer, const std::string& module) const {
  auto it = pairs_.find({layer, module});
  return it == pairs_.end() ? nullptr : &it->second;
}

std::vector<torch::Tensor> LoraAdapter::parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& [key, pair] : pairs_) {
    out.push_back(pair.a);
    out.push_back(pair.b);
  }
  return out;
}

std::map<std::string, torch::Tensor> LoraAdapter::NamedTensors() const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [key, pair] : pairs_) {
    const std::string path = PeftModulePath(key.first, key.second);
    out[path + ".lora_A.weight"] = pair.a.detach().to(torch::kCPU, torch::kFloat).contiguous();
    out[path + ".lora_B.weight"] = pair.b.detach().to(torch::kCPU, torch::kFloat).contiguous();
  }
  return out;
}

torch::Tensor LoraAdapter::Delta(const Pair& pair, const torch::Tensor& x, bool train) const {
  torch::Tensor in = x;  // [..., in]
  if (train && config_.dropout > 0) in = torch::dropout(in, config_.dropout, /*train=*/true);
  const auto dtype = x.scalar_type();
  torch::Tensor low = torch::linear(in, pair.a.to(dtype));  // [..., r]
  return torch::linear(low, pair.b.to(dtype)) * config_.scaling();  // [..., out]
}

}  // namespace sasrecllm::llm
