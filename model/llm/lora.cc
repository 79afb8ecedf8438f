#include "model/llm/lora.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "base/file.h"
#include "model/safetensors.h"
#include "model/torch_errors.h"

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

}  // namespace

std::string PeftModulePath(int64_t layer, const std::string& module) {
  return "base_model.model.model.layers." + std::to_string(layer) +
         (IsAttentionModule(module) ? ".self_attn." : ".mlp.") + module;
}

// A tensor name as PEFT writes it, "...q_proj.lora_A.weight": some PEFT
// versions keep the adapter name ("...q_proj.lora_A.default.weight").
std::string CanonicalPeftName(const std::string& raw) {
  if (const size_t pos = raw.find(".default.weight"); pos != std::string::npos) {
    return raw.substr(0, pos) + ".weight";
  }
  return raw;
}

// Every A and B the config asks for is in `tensors` with its shape, checked
// before Init allocates the adapter: the allocation is sized by the config's
// r, so a claim the weights file does not back (r = 10^9) is refused here, and
// what is allocated is never more than the file holds. The messages are
// LoadNamedTensors's.
Status CheckPeftTensorsBeforeAllocating(const LlamaConfig& model_config, const LoraConfig& config,
                                        const std::map<std::string, torch::Tensor>& tensors) {
  std::map<std::string, const torch::Tensor*> by_name;  // canonical name -> tensor
  for (const auto& [raw_name, tensor] : tensors) by_name[CanonicalPeftName(raw_name)] = &tensor;
  for (int64_t l = 0; l < model_config.num_hidden_layers; ++l) {
    for (const std::string& module : config.target_modules) {
      const auto [out, in] = ModuleShape(model_config, module);
      const std::string path = PeftModulePath(l, module);
      const std::vector<std::pair<std::string, std::vector<int64_t>>> wanted = {
          {path + ".lora_A.weight", {config.r, in}}, {path + ".lora_B.weight", {out, config.r}}};
      for (const auto& [name, shape] : wanted) {
        const auto it = by_name.find(name);
        if (it == by_name.end()) return InvalidArgumentError("missing tensor " + name);
        const torch::Tensor* t = it->second;
        if (t->sizes() != c10::IntArrayRef(shape)) {
          return InvalidArgumentError("tensor " + name + " has shape " +
                                      model::ShapeString(t->sizes()) + ", expected " +
                                      model::ShapeString(shape));
        }
      }
    }
  }
  return OkStatus();
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
  if (const Json* type = FindKey(json, "peft_type"); type != nullptr && !type->is_null()) {
    if (!type->is_string() || type->get<std::string>() != "LORA") {
      return UnimplementedError("peft_type " + DumpJson(*type) + " (only \"LORA\" is supported)");
    }
  }
  LoraConfig config;
  SASRECLLM_ASSIGN_OR_RETURN(config.r, GetInt(json, "r"));
  SASRECLLM_ASSIGN_OR_RETURN(config.alpha, GetDouble(json, "lora_alpha"));
  if (const Json* d = FindKey(json, "lora_dropout"); d != nullptr && d->is_number()) {
    config.dropout = d->get<double>();
  }
  const Json* targets = FindKey(json, "target_modules");
  if (targets == nullptr || !targets->is_array()) {
    return InvalidArgumentError("key \"target_modules\": expected an array of module names");
  }
  config.target_modules.clear();
  for (const Json& t : *targets) {
    if (!t.is_string()) return InvalidArgumentError("target_modules: expected strings");
    config.target_modules.push_back(t.get<std::string>());
  }
  if (const Json* bias = FindKey(json, "bias"); bias != nullptr && bias->is_string() &&
                                            bias->get<std::string>() != "none") {
    return UnimplementedError("adapter bias \"" + bias->get<std::string>() + "\" (only \"none\")");
  }
  if (const Json* rs = FindKey(json, "use_rslora"); rs != nullptr && rs->is_boolean() && rs->get<bool>()) {
    return UnimplementedError("use_rslora adapters");
  }
  SASRECLLM_RETURN_IF_ERROR(config.Validate());
  return config;
}

Json LoraConfig::ToPeftJson(const std::string& base_model_name) const {
  Json json = Json::object();
  json["peft_type"] = "LORA";
  json["task_type"] = "CAUSAL_LM";
  json["base_model_name_or_path"] = base_model_name;
  json["r"] = r;
  json["lora_alpha"] = alpha;
  json["lora_dropout"] = dropout;
  Json targets = Json::array();
  for (const std::string& m : target_modules) targets.push_back(Json(m));
  json["target_modules"] = std::move(targets);
  json["bias"] = "none";
  json["fan_in_fan_out"] = false;
  json["inference_mode"] = true;
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
  } catch (const std::exception& e) {
    return InternalError(std::string("LoraAdapter::Init: ") + TorchErrorMessage(e));
  }
}

StatusOr<LoraAdapter> LoraAdapter::LoadPeft(const std::string& dir,
                                            const LlamaConfig& model_config,
                                            torch::Device device) {
  const std::string config_path = dir + "/adapter_config.json";
  const std::string weights_path = dir + "/adapter_model.safetensors";
  SASRECLLM_ASSIGN_OR_RETURN(Json json, ReadJsonFile(config_path));
  StatusOr<LoraConfig> config = LoraConfig::FromPeftJson(json);
  if (!config.ok()) return config.status().WithPrefix(config_path);
  SASRECLLM_ASSIGN_OR_RETURN(auto tensors, model::ReadSafetensors(weights_path));
  SASRECLLM_RETURN_IF_ERROR(model_config.Validate());  // ModuleShape divides by its heads
  Status present = CheckPeftTensorsBeforeAllocating(model_config, *config, tensors);
  if (!present.ok()) return present.WithPrefix(weights_path);

  // Start from a zero adapter of the right shapes, then fill it.
  SASRECLLM_ASSIGN_OR_RETURN(LoraAdapter adapter, Init(model_config, *config, /*seed=*/0));
  Status s = adapter.LoadNamedTensors(tensors);
  if (!s.ok()) return s.WithPrefix(weights_path);
  try {
    for (auto& [key, pair] : adapter.pairs_) {
      pair.a = pair.a.detach().to(device).set_requires_grad(true);
      pair.b = pair.b.detach().to(device).set_requires_grad(true);
    }
  } catch (const std::exception& e) {
    return InternalError(std::string("LoraAdapter::LoadPeft: ") + TorchErrorMessage(e));
  }
  return adapter;
}

Status LoraAdapter::LoadNamedTensors(const std::map<std::string, torch::Tensor>& tensors) {
  // Both of PEFT's spellings are accepted (CanonicalPeftName).
  std::map<std::string, torch::Tensor*> wanted;  // canonical name -> destination
  for (auto& [key, pair] : pairs_) {
    const std::string path = PeftModulePath(key.first, key.second);
    wanted[path + ".lora_A.weight"] = &pair.a;
    wanted[path + ".lora_B.weight"] = &pair.b;
  }
  std::set<std::string> seen;
  for (const auto& [raw_name, tensor] : tensors) {
    const std::string name = CanonicalPeftName(raw_name);
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
                                  model::ShapeString(tensor.sizes()) + ", expected " +
                                  model::ShapeString(it->second->sizes()));
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
                           DumpJson(config_.ToPeftJson(base_model_name), 2) + "\n");
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
