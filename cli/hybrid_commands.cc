// `sasrecllm train-hybrid`, `eval-hybrid` and `fuse-hybrid`: SASRecLLM on a
// CoLLM-format split (train.tsv, valid.tsv, test.tsv, items.tsv).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "base/file.h"
#include "cli/commands.h"
#include "cli/data_parallel.h"
#include "cli/export_catalog.h"
#include "base/auc.h"
#include "model/hybrid/collm_examples.h"
#include "model/hybrid/hybrid_bundle.h"
#include "model/hybrid/hybrid_checkpoint.h"
#include "model/hybrid/hybrid_trainer.h"
#include "model/interaction_data.h"
#include "model/llm/llama_model.h"
#include "model/sasrec_trainer.h"
#include "model/torch_device.h"

namespace sasrecllm::cli {
namespace {

int64_t DefaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int64_t>(n);
}

// --threads, --device, --dtype of the LLM commands.
struct RuntimeFlags {
  int64_t threads = DefaultThreads();
  std::string device = "cpu";
  std::string dtype = "float32";
};

void AddRuntimeFlags(CLI::App* sub, RuntimeFlags* f) {
  sub->add_option("--threads", f->threads, "CPU threads for libtorch")->check(AtLeast(1));
  sub->add_option("--device", f->device, "cpu | cuda | cuda:N")->check(DeviceNameCheck());
  sub->add_option("--dtype", f->dtype, "LLM weights: float32 | bfloat16 | float16")
      ->check(CLI::IsMember({"float32", "bfloat16", "float16"}));
}

// The LLM options of `f`; INVALID_ARGUMENT for a bad flag value (a usage
// error), FAILED_PRECONDITION for CUDA asked of a machine without it.
StatusOr<llm::LlamaModel::Options> RuntimeOptions(const RuntimeFlags& f) {
  torch::set_num_threads(static_cast<int>(f.threads));
  llm::LlamaModel::Options options;
  SASRECLLM_ASSIGN_OR_RETURN(options.dtype, model::TorchDtype(f.dtype));
  SASRECLLM_ASSIGN_OR_RETURN(options.device, model::TorchDevice(f.device));
  return options;
}

// The exit code for a RuntimeOptions error: a name that does not parse is a
// usage error; CUDA missing on this machine is a run-time one.
int RuntimeOptionsError(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument ? UsageError(s.message()) : Fail(s);
}

StatusOr<std::vector<CollmRow>> ReadSplit(const std::string& dir, const std::string& name) {
  SASRECLLM_ASSIGN_OR_RETURN(auto rows, ReadCollmSplit(dir + "/" + name + ".tsv"));
  std::cerr << dir << "/" << name << ".tsv: " << rows.size() << " rows\n";
  return rows;
}

struct TrainHybridFlags {
  std::string data, llm, sasrec, strategy;
  hybrid::HybridTrainOptions options;  // the flags bind to its fields
  int64_t max_titles = 10;
  int64_t max_history_ids = 10;
  RuntimeFlags runtime;
};

int TrainHybrid(const TrainHybridFlags& f) {
  StatusOr<llm::LlamaModel::Options> llm_options = RuntimeOptions(f.runtime);
  if (!llm_options.ok()) return RuntimeOptionsError(llm_options.status());
  StatusOr<hybrid::Strategy> strategy = hybrid::ParseStrategy(f.strategy);
  if (!strategy.ok()) return UsageError(strategy.status().message());
  if (Status s = f.options.lora.Validate(); !s.ok()) return UsageError(s.message());
  const std::string data = f.data;
  StatusOr<std::unique_ptr<model::DataParallel>> dp = JoinDataParallel(llm_options->device);
  if (!dp.ok()) return Fail(dp.status());
  const bool root = *dp == nullptr || (*dp)->IsRankZero();

  auto train_rows = ReadSplit(data, "train");
  if (!train_rows.ok()) return Fail(train_rows.status());
  auto valid_rows = ReadSplit(data, "valid");
  if (!valid_rows.ok()) return Fail(valid_rows.status());
  auto items = model::ReadItemsTsv(data + "/items.tsv");
  if (!items.ok()) return Fail(items.status());

  hybrid::HybridModel::Parts parts;
  auto llm = llm::LlamaModel::Load(f.llm, *llm_options);
  if (!llm.ok()) return Fail(llm.status());
  auto tokenizer = llm::LoadTokenizer(f.llm, (*llm)->config().vocab_size);
  if (!tokenizer.ok()) return Fail(tokenizer.status());
  auto sasrec = model::LoadSasrecCheckpoint(f.sasrec);
  if (!sasrec.ok()) return Fail(sasrec.status());
  const int64_t d_rec = (*sasrec)->config().hidden_units;
  const int64_t d_llm = (*llm)->config().hidden_size;
  std::cerr << "LLM " << f.llm << ": " << (*llm)->config().num_hidden_layers
            << " layers, hidden " << d_llm << ", vocab " << (*llm)->config().vocab_size
            << " (" << (*tokenizer)->kind() << "); SASRec hidden " << d_rec << ", "
            << (*sasrec)->config().item_num << " items; mapping " << d_rec << " -> "
            << 5 * d_rec << " -> " << d_llm << "\n";
  parts.llm = std::move(llm).value();
  parts.tokenizer = std::move(tokenizer).value();
  parts.sasrec = *sasrec;
  parts.sasrec->to(llm_options->device);
  torch::manual_seed(f.options.seed);
  StatusOr<hybrid::PromptTemplate> slot_template =
      hybrid::PromptTemplate::Named(f.options.prompt_template);
  if (!slot_template.ok()) return UsageError(slot_template.status().message());
  parts.mapping = hybrid::MappingLayer(d_rec, d_llm);
  parts.mapping->to(llm_options->device);
  parts.max_titles = static_cast<int>(f.max_titles);
  parts.max_history_ids = static_cast<int>(f.max_history_ids);

  const int64_t item_num = parts.sasrec->config().item_num;
  const auto train = hybrid::ExamplesFromCollmRows(*train_rows, *items, item_num);
  const auto valid = hybrid::ExamplesFromCollmRows(*valid_rows, *items, item_num);

  hybrid::HybridTrainOptions options = f.options;
  options.llm_dir = std::filesystem::absolute(f.llm).string();
  options.data_parallel = dp->get();
  if (root) {
    hybrid::PromptBuilder builder(*slot_template, parts.tokenizer.get(), parts.max_titles,
                                  parts.max_history_ids);
    std::cerr << "prompt (first training row):\n"
              << builder.Render(train.front().history_titles, train.front().target_title)
              << "\n";
  }

  const auto start = std::chrono::steady_clock::now();
  auto result = hybrid::TrainHybrid(*strategy, std::move(parts), train, valid, options);
  if (!result.ok()) return Fail(result.status());
  if (!root) return kExitOk;  // rank 0 reports and writes result.json
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (result->interrupted) {
    std::cout << "strategy " << hybrid::StrategyName(*strategy) << ": stopped after --max-steps "
              << options.max_steps_this_run << " (" << seconds
              << " s); run the same command again to resume\n";
    return kExitOk;
  }

  Json out = Json::object();
  out["strategy"] = Json(hybrid::StrategyName(*strategy));
  out["final"] = Json(result->final_dir);
  out["seconds"] = Json(seconds);
  Json stages = Json::array();
  std::cout << "strategy " << hybrid::StrategyName(*strategy) << " done in " << seconds
            << " s; checkpoint " << result->final_dir << "\n";
  for (const auto& s : result->stages) {
    Json j = Json::object();
    j["stage"] = Json(s.name);
    j["best_valid_auc"] = Json(s.best_valid_auc);
    j["steps"] = Json(s.steps);
    j["seconds"] = Json(s.seconds);
    j["train_samples_per_s"] = Json(s.train_samples_per_s);
    j["eval_samples_per_s"] = Json(s.eval_samples_per_s);
    stages.push_back(std::move(j));
    std::printf("  stage %-15s best valid AUC %.4f  %lld steps  %.0f s  train %.1f rows/s  eval %.1f rows/s\n",
                s.name.c_str(), s.best_valid_auc, static_cast<long long>(s.steps), s.seconds,
                s.train_samples_per_s, s.eval_samples_per_s);
  }
  out["stages"] = std::move(stages);
  if (Status s = WriteStringToFile(options.out_dir + "/result.json", DumpJson(out, 2) + "\n"); !s.ok()) {
    return Fail(s);
  }
  return kExitOk;
}

struct EvalHybridFlags {
  std::string model, data;
  std::string split = "test";
  int64_t batch_size = 64;
  int64_t max_samples = 0;
  bool merge_lora = false;
  std::string json, scores;
  RuntimeFlags runtime;
};

int EvalHybrid(const EvalHybridFlags& f) {
  StatusOr<llm::LlamaModel::Options> llm_options = RuntimeOptions(f.runtime);
  if (!llm_options.ok()) return RuntimeOptionsError(llm_options.status());

  hybrid::HybridLoadOptions load;
  load.llm = *llm_options;
  load.merge_lora = f.merge_lora;
  auto model = hybrid::LoadHybridCheckpoint(f.model, load);
  if (!model.ok()) return Fail(model.status());
  const std::string data = f.data;
  auto rows = ReadSplit(data, f.split);
  if (!rows.ok()) return Fail(rows.status());
  if (const int64_t n = f.max_samples; n > 0 && n < static_cast<int64_t>(rows->size())) {
    std::mt19937_64 rng(1234);
    std::shuffle(rows->begin(), rows->end(), rng);
    rows->resize(n);
  }
  auto items = model::ReadItemsTsv(data + "/items.tsv");
  if (!items.ok()) return Fail(items.status());
  const int64_t item_num =
      (*model)->uses_sasrec() ? (*model)->parts().sasrec->config().item_num : 0;
  const auto examples = hybrid::ExamplesFromCollmRows(*rows, *items, item_num);

  const auto start = std::chrono::steady_clock::now();
  auto scores = hybrid::ScoreExamples(**model, examples, f.batch_size,
                                      [](size_t done, size_t total) {
                                        std::cerr << "scored " << done << "/" << total << "\n";
                                      });
  if (!scores.ok()) return Fail(scores.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto report = EvaluatePointwise(*scores, *rows);
  if (!report.ok()) return Fail(report.status());
  TextStream(f.json) << f.model << " on " << f.split << " ("
            << rows->size() << " rows, " << seconds << " s, " << rows->size() / seconds
            << " rows/s):\n"
            << report->ToString() << "\n";
  if (!f.json.empty()) {
    Json j = report->ToJson();
    j["rows_per_s"] = Json(rows->size() / seconds);
    if (Status s = WriteJsonOutput(f.json, DumpJson(j, 2)); !s.ok()) return Fail(s);
  }
  if (!f.scores.empty()) {
    if (Status s = WriteScoresFile(f.scores, *scores); !s.ok()) return Fail(s);
  }
  return kExitOk;
}

}  // namespace

int RunExportHybrid(const ExportFlags& f) {
  const std::string checkpoint = f.hybrid;
  auto info = hybrid::ReadHybridInfo(checkpoint);
  if (!info.ok()) return Fail(info.status());
  auto sasrec = model::LoadSasrecCheckpoint(checkpoint + "/sasrec");
  if (!sasrec.ok()) return Fail(sasrec.status());
  auto catalog = CatalogForExport((*sasrec)->config().item_num, f.items);
  if (!catalog.ok()) return Fail(catalog.status());
  model::BundleManifest manifest;
  manifest.model_version = f.model_version;
  if (manifest.model_version.empty()) {
    const Json* strategy = FindKey(*info, "strategy");
    manifest.model_version =
        "sasrecllm-" + (strategy != nullptr && strategy->is_string() ? strategy->get<std::string>() : "hybrid");
  }
  manifest.created_at = NowIso8601();
  Json extra = Json::object();
  extra["hybrid_checkpoint"] = Json(std::filesystem::absolute(checkpoint).string());
  if (!f.items.empty()) extra["items"] = Json(f.items);
  manifest.extra = extra;
  const std::string out = f.out;
  if (Status s = hybrid::ExportHybridBundle(checkpoint, out, *catalog, manifest); !s.ok()) {
    return Fail(s);
  }
  std::cerr << "wrote bundle " << out << " (" << catalog->size() << " catalog items, LoRA merged, "
            << "model_version " << manifest.model_version << ")\n";
  return kExitOk;
}


Command AddTrainHybrid(CLI::App& app) {
  Subcommand<TrainHybridFlags> sub(
      app, "train-hybrid", "train SASRecLLM (LoRA + mapping layer) with one of three strategies",
      R"(Trains SASRecLLM (LoRA on the LLM, the mapping layer, optionally SASRec) on a CoLLM-format
split with one of the three strategies, selecting on validation AUC:
  two-stage               1) LoRA on the text-only prompt, 2) the mapping layer
  two-stage-tune-encoder  1) as above, 2) the mapping layer and SASRec
  joint                   LoRA and the mapping layer together (SASRec frozen)
Writes OUT/<stage>/best (hybrid checkpoints), OUT/final (the result, for eval-hybrid
and export), OUT/log.jsonl and OUT/result.json. Re-running the same command resumes.
For a fixed --seed and --threads, training is deterministic, also across a resume.

Data-parallel: started N times with torchrun's environment variables (RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), e.g. by
scripts/train-distributed.sh N -- train-hybrid ... or torchrun, the processes
train one model over c10d (Gloo on CPU, NCCL on CUDA): --batch-size stays the
global batch, each rank takes 1/N of every batch, gradients are all-reduced;
rank 0 alone validates, prints and writes OUT. A run resumes at any N.)");
  TrainHybridFlags& f = sub.flags();
  sub->add_option("--data", f.data, "CoLLM split folder: train.tsv, valid.tsv, items.tsv")
      ->required();
  sub->add_option("--llm", f.llm,
                  "base LLM folder (HF layout: config.json, model.safetensors, tokenizer)")
      ->required();
  sub->add_option("--sasrec", f.sasrec,
                  "pretrained SASRec folder (config.json + model.safetensors)")
      ->required();
  sub->add_option("--strategy", f.strategy, "two-stage | two-stage-tune-encoder | joint")
      ->required()
      ->check(CLI::IsMember({"two-stage", "two-stage-tune-encoder", "joint"}));
  hybrid::HybridTrainOptions& o = f.options;
  sub->add_option("--out", o.out_dir, "output folder (created; resumed when it holds a run)")
      ->required();
  sub->add_option("--epochs", o.epochs, "epochs per stage (early stopping may end a stage sooner)");
  sub->add_option("--batch-size", o.batch_size, "training batch size");
  sub->add_option("--lr-lora", o.lr_lora, "peak learning rate of the LoRA adapter");
  sub->add_option("--lr-mapping", o.lr_mapping, "peak learning rate of the mapping layer");
  sub->add_option("--lr-sasrec", o.lr_sasrec,
                  "peak learning rate of SASRec (two-stage-tune-encoder)");
  sub->add_option("--weight-decay", o.weight_decay, "AdamW weight decay");
  sub->add_option("--warmup-steps", o.warmup_steps, "linear warm-up steps, then cosine decay to 0");
  sub->add_option("--max-grad-norm", o.max_grad_norm, "gradient clipping (global L2 norm)");
  sub->add_option("--eval-every", o.eval_every, "validate every N steps (0 = at each epoch's end)");
  sub->add_option("--patience", o.patience, "stop a stage after N validations without a gain");
  sub->add_option("--max-train-samples", o.max_train_samples,
                  "train on a seeded random subset of N rows (0 = all)");
  sub->add_option("--max-valid-samples", o.max_valid_samples,
                  "validate on a seeded random subset of N rows (0 = all)");
  sub->add_option("--eval-batch-size", o.eval_batch_size, "validation batch size");
  sub->add_option("--max-steps", o.max_steps_this_run,
                  "stop this run after N training steps, resumably (0 = no limit): for "
                  "time-boxed runs")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--seed", o.seed, "random seed (subsets, order, LoRA init, dropout)");
  sub->add_option("--lora-r", o.lora.r, "LoRA rank");
  sub->add_option("--lora-alpha", o.lora.alpha, "LoRA alpha (scaling = alpha / r)");
  sub->add_option("--lora-dropout", o.lora.dropout, "LoRA dropout");
  sub->add_option("--lora-targets", o.lora.target_modules, "comma-separated modules LoRA adapts")
      ->delimiter(',');
  sub->add_option("--max-titles", f.max_titles, "history titles in the prompt (most recent)");
  sub->add_option("--prompt-template", o.prompt_template,
                  "prompt of the stages with feature slots: collm_movie (CoLLM's) or "
                  "collm_movie_history_ids (also each recent history item's SASRec embedding)")
      ->check(CLI::IsMember({"collm_movie", "collm_movie_history_ids"}));
  sub->add_option("--max-history-ids", f.max_history_ids,
                  "history items whose SASRec embeddings the prompt shows, most recent "
                  "(collm_movie_history_ids)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag_callback(
      "--no-resume", [&o] { o.resume = false; }, "start over even when OUT holds a run");
  AddRuntimeFlags(sub.app(), &f.runtime);
  return sub.RunWith(TrainHybrid);
}

struct FuseHybridFlags {
  std::string model, sasrec, data, out, json;
  int64_t batch_size = 64;
  RuntimeFlags runtime;
};

int FuseHybrid(const FuseHybridFlags& f) {
  StatusOr<llm::LlamaModel::Options> llm_options = RuntimeOptions(f.runtime);
  if (!llm_options.ok()) return RuntimeOptionsError(llm_options.status());
  hybrid::HybridLoadOptions load;
  load.llm = *llm_options;
  auto model = hybrid::LoadHybridCheckpoint(f.model, load);
  if (!model.ok()) return Fail(model.status());
  auto info = hybrid::ReadHybridInfo(f.model);
  if (!info.ok()) return Fail(info.status());
  hybrid::HybridModel::Parts parts = (*model)->parts();
  if (!parts.fusion.is_identity()) {
    return UsageError(f.model + " is fused already (\"fusion\" in its hybrid.json): fuse the "
                      "checkpoint it came from");
  }
  if ((*model)->uses_sasrec() && !f.sasrec.empty()) {
    return UsageError(f.model + " has its own SASRec (its feature slots use it); --sasrec "
                      "is for a text-only checkpoint");
  }
  if (!(*model)->uses_sasrec()) {
    if (f.sasrec.empty()) {
      return UsageError(f.model + " is text-only: --sasrec names the SASRec to fuse it with");
    }
    auto sasrec = model::LoadSasrecCheckpoint(f.sasrec);
    if (!sasrec.ok()) return Fail(sasrec.status());
    parts.sasrec = *sasrec;
    parts.sasrec->to(llm_options->device);
    parts.sasrec->eval();
    // The same parts with a SASRec attached (the fusion is still the default).
    model = hybrid::HybridModel::Create(parts);
    if (!model.ok()) return Fail(model.status());
  }

  auto rows = ReadSplit(f.data, "valid");
  if (!rows.ok()) return Fail(rows.status());
  auto items = model::ReadItemsTsv(f.data + "/items.tsv");
  if (!items.ok()) return Fail(items.status());
  const auto examples =
      hybrid::ExamplesFromCollmRows(*rows, *items, parts.sasrec->config().item_num);
  const auto start = std::chrono::steady_clock::now();
  auto yes = hybrid::ExampleLogits(**model, examples, f.batch_size,
                                   [](size_t done, size_t total) {
                                     std::cerr << "LLM: scored " << done << "/" << total << "\n";
                                   },
                                   hybrid::LogitKind::kYes);
  if (!yes.ok()) return Fail(yes.status());
  auto sasrec = hybrid::ExampleLogits(**model, examples, 1024, nullptr, hybrid::LogitKind::kSasrec);
  if (!sasrec.ok()) return Fail(sasrec.status());
  std::vector<int> labels;
  std::vector<int64_t> users;
  for (const CollmRow& r : *rows) {
    labels.push_back(r.label != 0 ? 1 : 0);
    users.push_back(r.user_id);
  }
  auto fit = hybrid::FitScoreFusion(*yes, *sasrec, labels, users);
  if (!fit.ok()) return Fail(fit.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  parts.fusion = fit->fusion;
  auto fused = hybrid::HybridModel::Create(parts);
  if (!fused.ok()) return Fail(fused.status());
  Json out_info = *info;
  Json fit_json = Json::object();
  fit_json["llm_valid_auc"] = fit->llm_auc;
  fit_json["sasrec_valid_auc"] = fit->sasrec_auc;
  fit_json["fused_valid_auc"] = fit->fused_auc;
  fit_json["cross_validated_valid_auc"] = fit->cross_validated_auc;
  fit_json["valid_rows"] = static_cast<int64_t>(rows->size());
  fit_json["fused_from"] = f.model;
  if (!f.sasrec.empty()) fit_json["sasrec"] = f.sasrec;
  out_info["stage"] = "fusion";
  out_info["valid_auc"] = fit->fused_auc;
  out_info["fusion_fit"] = fit_json;
  if (Status s = hybrid::SaveHybridCheckpoint(f.out, **fused, out_info); !s.ok()) return Fail(s);

  std::ostream& text = TextStream(f.json);
  text << "fitted on " << rows->size() << " validation rows in " << seconds << " s:\n"
       << "  logit = " << fit->fusion.llm_weight << " * LLM + " << fit->fusion.sasrec_weight
       << " * SASRec + " << fit->fusion.bias << "\n"
       << "  valid AUC: LLM alone " << fit->llm_auc << ", SASRec alone " << fit->sasrec_auc
       << ", fused " << fit->fused_auc << " (in sample), " << fit->cross_validated_auc
       << " (5-fold by user)\n"
       << "wrote " << f.out << "\n";
  if (fit->cross_validated_auc <= std::max(fit->llm_auc, fit->sasrec_auc)) {
    std::cerr << "note: the cross-validated fused AUC is not above the better scorer alone; "
                 "the fusion is unlikely to help on new rows\n";
  }
  if (!f.json.empty()) {
    Json j = fit_json;
    j["fusion"] = fit->fusion.ToJson();
    j["out"] = f.out;
    j["seconds"] = seconds;
    if (Status s = WriteJsonOutput(f.json, DumpJson(j, 2)); !s.ok()) return Fail(s);
  }
  return kExitOk;
}

Command AddFuseHybrid(CLI::App& app) {
  Subcommand<FuseHybridFlags> sub(
      app, "fuse-hybrid",
      "fit a late fusion of a hybrid checkpoint's LLM score with SASRec's on validation",
      R"(Writes OUT: the checkpoint --model with a score fusion (model/hybrid/score_fusion.h)
  logit = a * (the LLM's "Yes" logit) + b * (SASRec's logit of the pair) + c
with a, b, c fitted by logistic regression on DATA/valid.tsv (the test rows
are not read). SASRec's logit is the point-wise one: its user representation of
the row's history dotted with the item's embedding (0 for a cold item).

--model is any hybrid checkpoint: one with feature slots is fused with its own
SASRec; a text-only one (two-stage's 1-text-lora/best, TALLRec-style) with the
SASRec that --sasrec names, which also becomes its stage 1 when exported.
Prints the AUC of each scorer alone, of the fusion in sample, and of a 5-fold
cross-validation by user (each user's rows scored by weights fitted on other
users): an estimate of the fused AUC on unseen users, noisy in the third
decimal. eval-hybrid and export read OUT as any checkpoint; the server
applies the fusion to every candidate.)");
  FuseHybridFlags& f = sub.flags();
  sub->add_option("--model", f.model, "hybrid checkpoint folder (with hybrid.json)")->required();
  sub->add_option("--sasrec", f.sasrec,
                  "SASRec checkpoint folder to fuse with (text-only --model only)");
  sub->add_option("--data", f.data, "CoLLM split folder (valid.tsv, items.tsv)")->required();
  sub->add_option("--out", f.out, "checkpoint folder to write (replaced whole)")->required();
  sub->add_option("--batch-size", f.batch_size, "LLM scoring batch size")->check(AtLeast(1));
  sub->add_option("--json", f.json, kJsonHelp)->type_name("FILE");
  AddRuntimeFlags(sub.app(), &f.runtime);
  return sub.RunWith(FuseHybrid);
}

Command AddEvalHybrid(CLI::App& app) {
  Subcommand<EvalHybridFlags> sub(
      app, "eval-hybrid", "AUC / UAUC (all, warm, cold rows) of a hybrid checkpoint",
      R"(Scores every row of a CoLLM-format split with a hybrid checkpoint (train-hybrid's
OUT/final or OUT/<stage>/best) and prints AUC and UAUC on all, warm and cold rows.)");
  EvalHybridFlags& f = sub.flags();
  sub->add_option("--model", f.model, "hybrid checkpoint folder (with hybrid.json)")->required();
  sub->add_option("--data", f.data, "CoLLM split folder (SPLIT.tsv, items.tsv)")->required();
  sub->add_option("--split", f.split, "test | valid | train")
      ->check(CLI::IsMember({"test", "valid", "train"}));
  sub->add_option("--batch-size", f.batch_size, "evaluation batch size")->check(AtLeast(1));
  sub->add_option("--max-samples", f.max_samples,
                  "score only a seeded random subset of N rows (0 = all)");
  sub->add_flag("--merge-lora", f.merge_lora, "merge the adapter into the LLM first (as served)");
  sub->add_option("--json", f.json, kJsonHelp)->type_name("FILE");
  sub->add_option("--scores", f.scores,
                  "also write one P(like) per row to this file, in the split's row order")
      ->type_name("FILE");
  AddRuntimeFlags(sub.app(), &f.runtime);
  return sub.RunWith(EvalHybrid);
}

}  // namespace sasrecllm::cli
