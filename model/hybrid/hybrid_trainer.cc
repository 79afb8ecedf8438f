#include "model/hybrid/hybrid_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <random>

#include "base/file.h"
#include "base/auc.h"
#include "model/hybrid/hybrid_checkpoint.h"
#include "model/safetensors.h"
#include "model/torch_errors.h"

namespace sasrecllm::hybrid {
namespace fs = std::filesystem;
using model::ShardOf;
using model::ShardRange;
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string Duration(double seconds) {
  char buf[32];
  if (seconds >= 3600) {
    std::snprintf(buf, sizeof(buf), "%dh%02dm", static_cast<int>(seconds / 3600),
                  static_cast<int>(std::fmod(seconds, 3600) / 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%dm%02ds", static_cast<int>(seconds / 60),
                  static_cast<int>(std::fmod(seconds, 60)));
  }
  return buf;
}

// A seeded random subset of at most `n` examples (n <= 0: all), order kept.
std::vector<HybridExample> Subset(const std::vector<HybridExample>& all, int64_t n, uint64_t seed) {
  if (n <= 0 || n >= static_cast<int64_t>(all.size())) return all;
  std::vector<size_t> idx(all.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(idx.begin(), idx.end(), rng);
  idx.resize(n);
  std::sort(idx.begin(), idx.end());
  std::vector<HybridExample> out;
  for (size_t i : idx) out.push_back(all[i]);
  return out;
}

// A training order for one epoch: shuffled, then within windows of 50
// batches sorted by prompt length (so a batch pads little), then the batches
// of each window shuffled again. The order depends only on *rng.
std::vector<int64_t> BucketedOrder(const std::vector<int64_t>& lengths, int64_t batch_size,
                                   std::mt19937_64* rng) {
  const int64_t n = static_cast<int64_t>(lengths.size());
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), *rng);
  const int64_t window = 50 * batch_size;
  std::vector<std::vector<int64_t>> batches;
  for (int64_t w = 0; w < n; w += window) {
    auto first = order.begin() + w, last = order.begin() + std::min(n, w + window);
    std::stable_sort(first, last, [&](int64_t a, int64_t b) { return lengths[a] < lengths[b]; });
    for (auto it = first; it < last; it += std::min<int64_t>(batch_size, last - it)) {
      batches.emplace_back(it, it + std::min<int64_t>(batch_size, last - it));
    }
  }
  std::shuffle(batches.begin(), batches.end(), *rng);
  // The one short batch (the last window's) goes last, so that slicing the
  // order every batch_size rows gives back exactly these batches.
  std::stable_partition(batches.begin(), batches.end(),
                        [&](const std::vector<int64_t>& b) { return static_cast<int64_t>(b.size()) == batch_size; });
  std::vector<int64_t> out;
  for (const auto& batch : batches) out.insert(out.end(), batch.begin(), batch.end());
  return out;
}

// Warm-up then cosine decay to 0: the multiplier of the base learning rate.
double LrFactor(int64_t step, int64_t warmup, int64_t total) {
  if (warmup > 0 && step < warmup) return static_cast<double>(step + 1) / warmup;
  const double progress =
      static_cast<double>(step - warmup) / std::max<int64_t>(1, total - warmup);
  return 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
}

// Copies a checkpoint's trained parts into `parts` (in place, so every
// holder of these tensors sees them).
Status RestoreTrainedParts(const std::string& dir, HybridModel::Parts* parts) {
  if (parts->lora.has_value() && fs::exists(dir + "/lora/adapter_model.safetensors")) {
    SASRECLLM_ASSIGN_OR_RETURN(auto t, model::ReadSafetensors(dir + "/lora/adapter_model.safetensors"));
    SASRECLLM_RETURN_IF_ERROR(parts->lora->LoadNamedTensors(t).WithPrefix(dir + "/lora"));
  }
  if (!parts->mapping.is_empty() && fs::exists(dir + "/mapping.safetensors")) {
    SASRECLLM_ASSIGN_OR_RETURN(auto t, model::ReadSafetensors(dir + "/mapping.safetensors"));
    SASRECLLM_RETURN_IF_ERROR(parts->mapping->LoadStateDict(t).WithPrefix(dir + "/mapping.safetensors"));
  }
  if (!parts->sasrec.is_empty() && fs::exists(dir + "/sasrec/model.safetensors")) {
    SASRECLLM_ASSIGN_OR_RETURN(auto t, model::ReadSafetensors(dir + "/sasrec/model.safetensors"));
    SASRECLLM_RETURN_IF_ERROR(parts->sasrec->LoadStateDict(t).WithPrefix(dir + "/sasrec"));
  }
  return OkStatus();
}

// Replaces `to` with a copy of the folder `from`, whole (ReplaceFolderAtomically).
Status CopyDir(const std::string& from, const std::string& to) {
  return ReplaceFolderAtomically(to, [&](const std::string& staging) -> Status {
    std::error_code ec;
    fs::copy(from, staging, fs::copy_options::recursive, ec);
    if (ec) return DataLossError("cannot copy " + from + " to " + staging + ": " + ec.message());
    return OkStatus();
  });
}

struct StageState {
  int64_t epoch = 0;           // epochs completed
  int64_t batch_in_epoch = 0;  // batches of `epoch` already done
  int64_t step = 0;            // optimizer steps so far
  double best_auc = -1;
  int64_t bad_evals = 0;
  bool done = false;

  Json ToJson() const {
    return {{"epoch", epoch},         {"batch_in_epoch", batch_in_epoch},
            {"step", step},           {"best_auc", best_auc},
            {"bad_evals", bad_evals}, {"done", done}};
  }
  static StatusOr<StageState> FromJson(const Json& j) {
    StageState s;
    SASRECLLM_ASSIGN_OR_RETURN(s.epoch, GetInt(j, "epoch"));
    SASRECLLM_ASSIGN_OR_RETURN(s.batch_in_epoch, GetInt(j, "batch_in_epoch"));
    SASRECLLM_ASSIGN_OR_RETURN(s.step, GetInt(j, "step"));
    SASRECLLM_ASSIGN_OR_RETURN(s.best_auc, GetDouble(j, "best_auc"));
    SASRECLLM_ASSIGN_OR_RETURN(s.bad_evals, GetInt(j, "bad_evals"));
    SASRECLLM_ASSIGN_OR_RETURN(s.done, GetBool(j, "done"));
    return s;
  }
  static StatusOr<StageState> Read(const std::string& path) {
    StatusOr<Json> j = ReadJsonFile(path);
    if (!j.ok()) return j.status();
    StatusOr<StageState> s = FromJson(*j);
    if (!s.ok()) return s.status().WithPrefix(path);
    return s;
  }
};

// Every parameter of the parts a stage may train (LoRA, mapping, SASRec), in
// a fixed order: what rank 0 broadcasts.
std::vector<torch::Tensor> TrainableParts(const HybridModel::Parts& parts) {
  std::vector<torch::Tensor> all;
  if (parts.lora.has_value()) {
    for (const torch::Tensor& t : parts.lora->parameters()) all.push_back(t);
  }
  if (!parts.mapping.is_empty()) {
    for (const torch::Tensor& t : parts.mapping->parameters()) all.push_back(t);
  }
  if (!parts.sasrec.is_empty()) {
    for (const torch::Tensor& t : parts.sasrec->parameters()) all.push_back(t);
  }
  return all;
}

void SetRequiresGrad(const std::vector<torch::Tensor>& params, bool on) {
  for (torch::Tensor p : params) p.set_requires_grad(on);
}

}  // namespace

StatusOr<Strategy> ParseStrategy(const std::string& name) {
  if (name == "two-stage") return Strategy::kTwoStage;
  if (name == "two-stage-tune-encoder") return Strategy::kTwoStageTuneEncoder;
  if (name == "joint") return Strategy::kJoint;
  return InvalidArgumentError("unknown strategy \"" + name +
                              "\" (expected two-stage, two-stage-tune-encoder or joint)");
}

std::string StrategyName(Strategy strategy) {
  switch (strategy) {
    case Strategy::kTwoStage: return "two-stage";
    case Strategy::kTwoStageTuneEncoder: return "two-stage-tune-encoder";
    case Strategy::kJoint: return "joint";
  }
  return "?";
}

std::vector<StageSpec> StagesOf(Strategy strategy) {
  StageSpec text{"text-lora", /*text_only=*/true, /*lora=*/true, false, false};
  switch (strategy) {
    case Strategy::kTwoStage:
      return {text, {"mapping", false, false, /*mapping=*/true, false}};
    case Strategy::kTwoStageTuneEncoder:
      return {text, {"mapping+sasrec", false, false, true, /*sasrec=*/true}};
    case Strategy::kJoint:
      return {{"joint", false, /*lora=*/true, /*mapping=*/true, false}};
  }
  return {};
}

StatusOr<std::vector<float>> ExampleLogits(HybridModel& model,
                                           const std::vector<HybridExample>& examples,
                                           int64_t batch_size,
                                           const std::function<void(size_t, size_t)>& progress,
                                           LogitKind kind) {
  if (kind == LogitKind::kSasrec && model.parts().sasrec.is_empty()) {
    return FailedPreconditionError(
        "ExampleLogits: SASRec's logits asked of a model without SASRec");
  }
  // Similar lengths together: less padding.
  std::vector<std::pair<size_t, size_t>> by_length;  // (length, index)
  for (size_t i = 0; i < examples.size(); ++i) {
    SASRECLLM_ASSIGN_OR_RETURN(EncodedPrompt p, model.Encode(examples[i]));
    by_length.emplace_back(p.ids.size(), i);
  }
  std::sort(by_length.begin(), by_length.end());
  std::vector<float> scores(examples.size(), 0.0f);  // logits, in the examples' order
  auto last_report = Clock::now();
  for (size_t start = 0; start < by_length.size(); start += batch_size) {
    const size_t end = std::min(by_length.size(), start + static_cast<size_t>(batch_size));
    std::vector<HybridExample> batch;
    for (size_t k = start; k < end; ++k) batch.push_back(examples[by_length[k].second]);
    torch::Tensor logits;  // [b]
    switch (kind) {
      case LogitKind::kModel: {
        SASRECLLM_ASSIGN_OR_RETURN(logits, model.Logits(batch, /*train=*/false));
        break;
      }
      case LogitKind::kYes: {
        SASRECLLM_ASSIGN_OR_RETURN(logits, model.YesLogits(batch, /*train=*/false));
        break;
      }
      case LogitKind::kSasrec: {
        torch::NoGradGuard no_grad;
        try {
          logits = model.SasrecLogits(batch);
        } catch (const std::exception& e) {
          return InternalError(std::string("SASRec logits: ") + TorchErrorMessage(e));
        }
        break;
      }
    }
    logits = logits.to(torch::kCPU, torch::kFloat).contiguous();  // [b]
    const float* data = logits.data_ptr<float>();
    for (size_t k = start; k < end; ++k) scores[by_length[k].second] = data[k - start];
    if (progress && (SecondsSince(last_report) > 10 || end == by_length.size())) {
      progress(end, by_length.size());
      last_report = Clock::now();
    }
  }
  return scores;
}

StatusOr<std::vector<float>> ScoreExamples(HybridModel& model,
                                           const std::vector<HybridExample>& examples,
                                           int64_t batch_size,
                                           const std::function<void(size_t, size_t)>& progress) {
  SASRECLLM_ASSIGN_OR_RETURN(std::vector<float> scores,
                             ExampleLogits(model, examples, batch_size, progress));
  for (float& s : scores) s = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(s))));
  return scores;
}

StatusOr<HybridTrainResult> TrainHybrid(Strategy strategy, HybridModel::Parts base,
                                        const std::vector<HybridExample>& train_all,
                                        const std::vector<HybridExample>& valid_all,
                                        const HybridTrainOptions& options) {
  if (options.out_dir.empty()) return InvalidArgumentError("TrainHybrid: out_dir is required");
  if (options.batch_size <= 0 || options.epochs <= 0) {
    return InvalidArgumentError("TrainHybrid: batch_size and epochs must be > 0");
  }
  // Data-parallel: rank 0 alone validates, logs, reads and writes out_dir;
  // `root` is true in one process.
  model::DataParallel* const dp = options.data_parallel;
  const bool root = dp == nullptr || dp->IsRankZero();
  const int64_t world = dp == nullptr ? 1 : dp->world_size();
  const int64_t rank = dp == nullptr ? 0 : dp->rank();
  const std::function<void(const std::string&)> log_to =
      options.log ? options.log : [](const std::string& s) { std::cerr << s << "\n"; };
  auto log = [&](const std::string& s) {
    if (root) log_to(s);
  };
  const std::vector<HybridExample> train =
      Subset(train_all, options.max_train_samples, options.seed);
  const std::vector<HybridExample> valid =
      Subset(valid_all, options.max_valid_samples, options.seed + 1);
  if (train.empty() || valid.empty()) {
    return InvalidArgumentError("TrainHybrid: no training or validation examples");
  }
  std::vector<int> valid_labels;
  for (const HybridExample& e : valid) valid_labels.push_back(e.label > 0.5f ? 1 : 0);

  std::error_code ec;
  if (root) fs::create_directories(options.out_dir, ec);
  if (ec) return InternalError(options.out_dir + ": cannot create folder: " + ec.message());
  torch::manual_seed(options.seed);
  if (!base.sasrec.is_empty()) base.sasrec->eval();  // no SASRec dropout while fine-tuning

  SASRECLLM_ASSIGN_OR_RETURN(const PromptTemplate slot_template,
                             PromptTemplate::Named(options.prompt_template));
  if (!slot_template.has_feature_slots()) {
    return InvalidArgumentError("prompt template " + options.prompt_template +
                                " has no feature slots (the text-only stage's is set apart)");
  }
  HybridModel::Parts parts = std::move(base);
  HybridTrainResult result;
  int64_t steps_this_run = 0;  // for max_steps_this_run, over all stages
  const std::vector<StageSpec> stages = StagesOf(strategy);
  for (size_t si = 0; si < stages.size(); ++si) {
    const StageSpec& spec = stages[si];
    const std::string stage_dir = options.out_dir + "/" + std::to_string(si + 1) + "-" + spec.name;
    const std::string best_dir = stage_dir + "/best";
    const std::string last_dir = stage_dir + "/last";
    if (root) fs::create_directories(stage_dir, ec);

    parts.prompt_template = spec.text_only ? PromptTemplate::TallrecMovie() : slot_template;
    if (spec.train_lora && !parts.lora.has_value()) {
      SASRECLLM_ASSIGN_OR_RETURN(
          llm::LoraAdapter lora,
          llm::LoraAdapter::Init(parts.llm->config(), options.lora, options.seed,
                                 parts.llm->options().device));
      parts.lora = std::move(lora);
    }
    // What this stage trains; everything else is frozen.
    std::vector<torch::Tensor> lora_params, mapping_params, sasrec_params;
    if (parts.lora.has_value()) lora_params = parts.lora->parameters();
    if (!parts.mapping.is_empty()) mapping_params = parts.mapping->parameters();
    if (!parts.sasrec.is_empty()) sasrec_params = parts.sasrec->parameters();
    SetRequiresGrad(lora_params, spec.train_lora);
    SetRequiresGrad(mapping_params, spec.train_mapping);
    SetRequiresGrad(sasrec_params, spec.train_sasrec);

    std::vector<torch::optim::OptimizerParamGroup> groups;
    std::vector<double> base_lrs;
    auto add_group = [&](const std::vector<torch::Tensor>& params, double lr) {
      auto opts = std::make_unique<torch::optim::AdamWOptions>(lr);
      opts->weight_decay(options.weight_decay);
      groups.emplace_back(params, std::move(opts));
      base_lrs.push_back(lr);
    };
    if (spec.train_lora) add_group(lora_params, options.lr_lora);
    if (spec.train_mapping) add_group(mapping_params, options.lr_mapping);
    if (spec.train_sasrec) add_group(sasrec_params, options.lr_sasrec);
    torch::optim::AdamW optimizer(groups, torch::optim::AdamWOptions(options.lr_mapping));
    std::vector<torch::Tensor> trainable;
    for (const auto& g : groups) trainable.insert(trainable.end(), g.params().begin(), g.params().end());

    StageState state;
    bool resumed = false;  // optimizer.pt loaded
    if (root && options.resume && fs::exists(stage_dir + "/state.json")) {
      SASRECLLM_ASSIGN_OR_RETURN(state, StageState::Read(stage_dir + "/state.json"));
      if (state.done) {
        SASRECLLM_RETURN_IF_ERROR(RestoreTrainedParts(best_dir, &parts));
        log("stage " + spec.name + ": already done (best valid AUC " +
            std::to_string(state.best_auc) + "), loaded " + best_dir);
      } else {
        SASRECLLM_RETURN_IF_ERROR(RestoreTrainedParts(last_dir, &parts));
        try {
          torch::load(optimizer, last_dir + "/optimizer.pt");
        } catch (const std::exception& e) {
          return DataLossError(last_dir + "/optimizer.pt: " + TorchErrorMessage(e));
        }
        resumed = true;
        log("stage " + spec.name + ": resuming at epoch " + std::to_string(state.epoch + 1) +
            ", batch " + std::to_string(state.batch_in_epoch) + " (step " +
            std::to_string(state.step) + ")");
      }
    }
    if (dp != nullptr) {
      // Every rank continues from rank 0's state, parts and optimizer.
      std::string state_json = DumpJson(state.ToJson());
      SASRECLLM_RETURN_IF_ERROR(dp->BroadcastString(&state_json));
      SASRECLLM_ASSIGN_OR_RETURN(Json j, ParseJson(state_json, "rank 0's stage state"));
      SASRECLLM_ASSIGN_OR_RETURN(state, StageState::FromJson(j));
      SASRECLLM_RETURN_IF_ERROR(dp->BroadcastParameters(TrainableParts(parts)));
      SASRECLLM_RETURN_IF_ERROR(dp->BroadcastBool(&resumed));
      if (resumed) SASRECLLM_RETURN_IF_ERROR(dp->BroadcastOptimizer(optimizer));
    }
    if (state.done) {
      result.stages.push_back({spec.name, state.best_auc, state.step, 0, 0, 0});
      continue;
    }

    SASRECLLM_ASSIGN_OR_RETURN(std::unique_ptr<HybridModel> model, HybridModel::Create(parts));
    const int64_t n = static_cast<int64_t>(train.size());
    std::vector<int64_t> lengths;  // prompt lengths, for batches of similar length
    for (const HybridExample& e : train) {
      SASRECLLM_ASSIGN_OR_RETURN(EncodedPrompt p, model->Encode(e));
      lengths.push_back(static_cast<int64_t>(p.ids.size()));
    }
    const int64_t batches_per_epoch = (n + options.batch_size - 1) / options.batch_size;
    const int64_t total_steps = batches_per_epoch * options.epochs;
    Json info = Json::object();
    info["llm"] = options.llm_dir;
    info["strategy"] = StrategyName(strategy);
    info["stage"] = spec.name;
    info["template_name"] = spec.text_only ? "tallrec_movie" : options.prompt_template;

    log("stage " + std::to_string(si + 1) + "/" + std::to_string(stages.size()) + " " +
        spec.name + ": " + std::to_string(n) + " training rows, " + std::to_string(valid.size()) +
        " validation rows, " + std::to_string(total_steps) + " steps of " +
        std::to_string(options.batch_size) + ", trains" + (spec.train_lora ? " LoRA" : "") +
        (spec.train_mapping ? " mapping" : "") + (spec.train_sasrec ? " SASRec" : ""));

    double train_seconds = 0, eval_seconds = 0;
    int64_t train_samples = 0, eval_samples = 0;
    // Writes what a resumed run starts from: last/ (weights and optimizer)
    // and state.json, positioned after `batch_done` batches of epoch
    // `epoch_done` (0-based; batch 0 of the next epoch at an epoch's end).
    int64_t resume_point_step = -1;  // state.step of the last one written
    auto save_resume_point = [&](int64_t epoch_done, int64_t batch_done) -> Status {
      if (resume_point_step == state.step) return OkStatus();
      state.epoch = epoch_done;
      state.batch_in_epoch = batch_done;
      SASRECLLM_RETURN_IF_ERROR(SaveHybridCheckpoint(
          last_dir, *model, info, [&](const std::string& dir) -> Status {
            try {
              torch::save(optimizer, dir + "/optimizer.pt");
            } catch (const std::exception& e) {
              return DataLossError(last_dir + "/optimizer.pt: " + TorchErrorMessage(e));
            }
            return OkStatus();
          }));
      SASRECLLM_RETURN_IF_ERROR(
          WriteStringToFile(stage_dir + "/state.json", DumpJson(state.ToJson(), 2) + "\n"));
      resume_point_step = state.step;
      return OkStatus();
    };
    // Validates, logs, keeps the best and writes the resumable checkpoint.
    // Returns true when the stage should stop early.
    auto evaluate = [&](int64_t epoch_done, int64_t batch_done) -> StatusOr<bool> {
      const auto start = Clock::now();
      SASRECLLM_ASSIGN_OR_RETURN(std::vector<float> scores,
                                 ScoreExamples(*model, valid, options.eval_batch_size));
      eval_seconds += SecondsSince(start);
      eval_samples += static_cast<int64_t>(valid.size());
      const double auc = Auc(scores, valid_labels);
      const bool best = auc > state.best_auc;
      if (best) {
        state.best_auc = auc;
        state.bad_evals = 0;
        Json best_info = info;
        best_info["valid_auc"] = auc;
        best_info["step"] = state.step;
        SASRECLLM_RETURN_IF_ERROR(SaveHybridCheckpoint(best_dir, *model, best_info));
      } else {
        ++state.bad_evals;
      }
      SASRECLLM_RETURN_IF_ERROR(save_resume_point(epoch_done, batch_done));
      const bool stop = state.bad_evals >= options.patience;
      const std::string tail =
          stop ? ", no gain for " + std::to_string(options.patience) + " validations: stopping"
               : "";
      char buf[256];
      std::snprintf(buf, sizeof(buf), "stage %s step %lld: valid AUC %.4f%s (%.1f s, %.0f rows/s)%s",
                    spec.name.c_str(), static_cast<long long>(state.step), auc,
                    best ? " (best)" : "", SecondsSince(start),
                    valid.size() / std::max(1e-9, SecondsSince(start)), tail.c_str());
      log(buf);
      Json line = Json::object();
      line["strategy"] = StrategyName(strategy);
      line["stage"] = spec.name;
      line["step"] = state.step;
      line["valid_auc"] = auc;
      std::FILE* f = std::fopen((options.out_dir + "/log.jsonl").c_str(), "a");
      if (f != nullptr) {
        std::fprintf(f, "%s\n", DumpJson(line).c_str());
        std::fclose(f);
      }
      return stop;
    };

    bool stopped = false;
    const auto stage_start = Clock::now();
    for (int64_t epoch = state.epoch; epoch < options.epochs && !stopped; ++epoch) {
      // The order of an epoch depends only on the seed and the epoch number,
      // so a resumed run sees the same batches.
      std::mt19937_64 rng(options.seed * 1000003 + epoch);
      const std::vector<int64_t> order = BucketedOrder(lengths, options.batch_size, &rng);
      const int64_t first_batch = epoch == state.epoch ? state.batch_in_epoch : 0;
      double loss_sum = 0;
      int64_t loss_count = 0;
      auto last_report = Clock::now();
      for (int64_t bi = first_batch; bi < batches_per_epoch; ++bi) {
        const auto step_start = Clock::now();
        // The global batch's rows [first, first + global); this rank's shard of them.
        const int64_t first = bi * options.batch_size;
        const int64_t global = std::min(n, first + options.batch_size) - first;
        const ShardRange shard = dp == nullptr ? ShardRange{0, global} : ShardOf(global, rank, world);
        std::vector<HybridExample> batch;
        std::vector<float> labels;
        for (int64_t k = first + shard.begin; k < first + shard.end; ++k) {
          batch.push_back(train[order[k]]);
          labels.push_back(train[order[k]].label);
        }
        const double factor = LrFactor(state.step, options.warmup_steps, total_steps);
        for (size_t g = 0; g < optimizer.param_groups().size(); ++g) {
          static_cast<torch::optim::AdamWOptions&>(optimizer.param_groups()[g].options())
              .lr(base_lrs[g] * factor);
        }
        // Step s's dropout comes from (seed, s) alone (and the rank: rank
        // 0's is the one-process run's), so that a resumed run draws what an
        // uninterrupted one would.
        torch::manual_seed((options.seed * 1000003ULL + static_cast<uint64_t>(state.step)) ^
                           (static_cast<uint64_t>(rank) * 0x9E3779B97F4A7C15ULL));
        optimizer.zero_grad();
        double step_loss = 0;  // the global batch's mean BCE
        if (!batch.empty()) {
          SASRECLLM_ASSIGN_OR_RETURN(torch::Tensor logits, model->Logits(batch, /*train=*/true));
          torch::Tensor target = torch::tensor(labels).to(logits.device());  // [b]
          torch::Tensor loss;
          if (dp == nullptr) {
            loss = torch::binary_cross_entropy_with_logits(logits, target);
          } else {
            // This shard's part of the global batch's mean, times world size
            // (AllReduceGradients averages).
            loss = torch::binary_cross_entropy_with_logits(
                       logits, target, {}, {}, at::Reduction::Sum) *
                   (static_cast<double>(world) / global);
          }
          loss.backward();
          step_loss = loss.item<double>() / world;
        }
        if (dp != nullptr) {
          SASRECLLM_RETURN_IF_ERROR(dp->AllReduceGradients(trainable));
          torch::Tensor total = torch::full({1}, step_loss, torch::kFloat64);
          SASRECLLM_RETURN_IF_ERROR(dp->AllReduceSum(total));
          step_loss = total.item<double>();
        }
        torch::nn::utils::clip_grad_norm_(trainable, options.max_grad_norm);
        optimizer.step();
        ++state.step;
        loss_sum += step_loss;
        ++loss_count;
        train_seconds += SecondsSince(step_start);
        train_samples += global;

        if (SecondsSince(last_report) > 15 || bi + 1 == batches_per_epoch) {
          const double rate = train_samples / std::max(1e-9, train_seconds);
          const int64_t steps_left = total_steps - state.step;
          char buf[256];
          std::snprintf(buf, sizeof(buf),
                        "stage %s epoch %lld/%lld batch %lld/%lld: loss %.4f, %.1f rows/s, "
                        "lr x%.3f, ETA %s (stage, without early stop)",
                        spec.name.c_str(), static_cast<long long>(epoch + 1),
                        static_cast<long long>(options.epochs), static_cast<long long>(bi + 1),
                        static_cast<long long>(batches_per_epoch), loss_sum / loss_count, rate,
                        factor,
                        Duration(steps_left * options.batch_size / std::max(rate, 1e-9)).c_str());
          log(buf);
          last_report = Clock::now();
          loss_sum = 0;
          loss_count = 0;
        }
        ++steps_this_run;
        const bool epoch_end = bi + 1 == batches_per_epoch;
        if (epoch_end || (options.eval_every > 0 && state.step % options.eval_every == 0)) {
          if (root) {
            SASRECLLM_ASSIGN_OR_RETURN(
                stopped, evaluate(epoch_end ? epoch + 1 : epoch, epoch_end ? 0 : bi + 1));
          }
          if (dp != nullptr) SASRECLLM_RETURN_IF_ERROR(dp->BroadcastBool(&stopped));
          if (stopped) break;
        }
        if (options.max_steps_this_run > 0 && steps_this_run >= options.max_steps_this_run) {
          if (root) {
            SASRECLLM_RETURN_IF_ERROR(
                save_resume_point(epoch_end ? epoch + 1 : epoch, epoch_end ? 0 : bi + 1));
          }
          if (dp != nullptr) SASRECLLM_RETURN_IF_ERROR(dp->Barrier());
          log("stage " + spec.name + ": stopping after " + std::to_string(steps_this_run) +
              " steps this run (--max-steps); run again to resume at step " +
              std::to_string(state.step));
          result.interrupted = true;
          return result;
        }
      }
    }
    state.done = true;
    if (root) {
      SASRECLLM_RETURN_IF_ERROR(
          WriteStringToFile(stage_dir + "/state.json", DumpJson(state.ToJson(), 2) + "\n"));
      // The next stage (and the result) start from this stage's best.
      SASRECLLM_RETURN_IF_ERROR(RestoreTrainedParts(best_dir, &parts));
    }
    if (dp != nullptr) {
      SASRECLLM_RETURN_IF_ERROR(dp->BroadcastParameters(TrainableParts(parts)));
    }
    StageResult sr;
    sr.name = spec.name;
    sr.best_valid_auc = state.best_auc;
    sr.steps = state.step;
    sr.seconds = SecondsSince(stage_start);
    sr.train_samples_per_s = train_samples / std::max(1e-9, train_seconds);
    sr.eval_samples_per_s = eval_samples / std::max(1e-9, eval_seconds);
    result.stages.push_back(sr);
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  "stage %s done: best valid AUC %.4f, %s, train %.1f rows/s, eval %.1f rows/s",
                  spec.name.c_str(), sr.best_valid_auc, Duration(sr.seconds).c_str(),
                  sr.train_samples_per_s, sr.eval_samples_per_s);
    log(buf);
  }
  SetRequiresGrad(parts.lora.has_value() ? parts.lora->parameters() : std::vector<torch::Tensor>{},
                  false);
  const StageSpec& last = stages.back();
  const std::string last_best =
      options.out_dir + "/" + std::to_string(stages.size()) + "-" + last.name + "/best";
  result.final_dir = options.out_dir + "/final";
  if (root) SASRECLLM_RETURN_IF_ERROR(CopyDir(last_best, result.final_dir));
  // No rank returns before rank 0's files are written (a caller may read them).
  if (dp != nullptr) SASRECLLM_RETURN_IF_ERROR(dp->Barrier());
  return result;
}

}  // namespace sasrecllm::hybrid
