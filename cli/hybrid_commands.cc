// `sasrecllm train-hybrid` and `eval-hybrid`: SASRecLLM on a CoLLM-format
// split (train.tsv, valid.tsv, test.tsv, items.tsv).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "base/file.h"
#include "cli/commands.h"
#include "cli/export_catalog.h"
#include "cli/flags.h"
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

int Fail(const Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  return kExitError;
}

int64_t DefaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int64_t>(n);
}

void AddRuntimeFlags(FlagSet* flags) {
  flags->AddInt("threads", DefaultThreads(), "CPU threads for libtorch");
  flags->AddString("device", "cpu", "cpu | cuda | cuda:N");
  flags->AddString("dtype", "float32", "LLM weights: float32 | bfloat16 | float16");
}

StatusOr<llm::LlamaModel::Options> RuntimeOptions(const FlagSet& flags) {
  if (flags.GetInt("threads") < 1) return InvalidArgumentError("--threads must be >= 1");
  torch::set_num_threads(static_cast<int>(flags.GetInt("threads")));
  llm::LlamaModel::Options options;
  SASRECLLM_ASSIGN_OR_RETURN(options.dtype, model::TorchDtype(flags.GetString("dtype")));
  SASRECLLM_ASSIGN_OR_RETURN(options.device, model::TorchDevice(flags.GetString("device")));
  return options;
}

StatusOr<std::vector<CollmRow>> ReadSplit(const std::string& dir, const std::string& name) {
  SASRECLLM_ASSIGN_OR_RETURN(auto rows, ReadCollmSplit(dir + "/" + name + ".tsv"));
  std::cerr << dir << "/" << name << ".tsv: " << rows.size() << " rows\n";
  return rows;
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

}  // namespace

int RunTrainHybrid(int argc, char** argv, int first) {
  FlagSet flags(
      "sasrecllm train-hybrid --data DIR --llm DIR --sasrec DIR --strategy S --out DIR [options]",
      "Trains SASRecLLM (LoRA on the LLM, the mapping layer, optionally SASRec) on a CoLLM-format\n"
      "split with one of the three strategies, selecting on validation AUC:\n"
      "  two-stage               1) LoRA on the text-only prompt, 2) the mapping layer\n"
      "  two-stage-tune-encoder  1) as above, 2) the mapping layer and SASRec\n"
      "  joint                   LoRA and the mapping layer together (SASRec frozen)\n"
      "Writes OUT/<stage>/best (hybrid checkpoints), OUT/final (the result, for eval-hybrid\n"
      "and export), OUT/log.jsonl and OUT/result.json. Re-running the same command resumes.");
  flags.AddString("data", "", "CoLLM split folder: train.tsv, valid.tsv, items.tsv", true);
  flags.AddString("llm", "", "base LLM folder (HF layout: config.json, model.safetensors, tokenizer)",
                  true);
  flags.AddString("sasrec", "", "pretrained SASRec folder (config.json + model.safetensors)", true);
  flags.AddString("strategy", "", "two-stage | two-stage-tune-encoder | joint", true);
  flags.AddString("out", "", "output folder (created; resumed when it holds a run)", true);
  flags.AddInt("epochs", 3, "epochs per stage (early stopping may end a stage sooner)");
  flags.AddInt("batch-size", 16, "training batch size");
  flags.AddDouble("lr-lora", 1e-3, "peak learning rate of the LoRA adapter");
  flags.AddDouble("lr-mapping", 1e-3, "peak learning rate of the mapping layer");
  flags.AddDouble("lr-sasrec", 1e-4, "peak learning rate of SASRec (two-stage-tune-encoder)");
  flags.AddDouble("weight-decay", 1e-3, "AdamW weight decay");
  flags.AddInt("warmup-steps", 100, "linear warm-up steps, then cosine decay to 0");
  flags.AddDouble("max-grad-norm", 1.0, "gradient clipping (global L2 norm)");
  flags.AddInt("eval-every", 0, "validate every N steps (0 = at each epoch's end)");
  flags.AddInt("patience", 2, "stop a stage after N validations without a gain");
  flags.AddInt("max-train-samples", 0, "train on a seeded random subset of N rows (0 = all)");
  flags.AddInt("max-valid-samples", 0, "validate on a seeded random subset of N rows (0 = all)");
  flags.AddInt("eval-batch-size", 64, "validation batch size");
  flags.AddInt("seed", 42, "random seed (subsets, order, LoRA init, dropout)");
  flags.AddInt("lora-r", 8, "LoRA rank");
  flags.AddDouble("lora-alpha", 16, "LoRA alpha (scaling = alpha / r)");
  flags.AddDouble("lora-dropout", 0.05, "LoRA dropout");
  flags.AddString("lora-targets", "q_proj,v_proj", "comma-separated modules LoRA adapts");
  flags.AddInt("max-titles", 10, "history titles in the prompt (most recent)");
  flags.AddBool("no-resume", "start over even when OUT holds a run");
  AddRuntimeFlags(&flags);
  if (int code; !flags.Parse(argc, argv, first, &code)) return code;

  StatusOr<llm::LlamaModel::Options> llm_options = RuntimeOptions(flags);
  if (!llm_options.ok()) return Fail(llm_options.status());
  StatusOr<hybrid::Strategy> strategy = hybrid::ParseStrategy(flags.GetString("strategy"));
  if (!strategy.ok()) return Fail(strategy.status());
  const std::string data = flags.GetString("data");

  auto train_rows = ReadSplit(data, "train");
  if (!train_rows.ok()) return Fail(train_rows.status());
  auto valid_rows = ReadSplit(data, "valid");
  if (!valid_rows.ok()) return Fail(valid_rows.status());
  auto items = model::ReadItemsTsv(data + "/items.tsv");
  if (!items.ok()) return Fail(items.status());

  hybrid::HybridModel::Parts parts;
  auto llm = llm::LlamaModel::Load(flags.GetString("llm"), *llm_options);
  if (!llm.ok()) return Fail(llm.status());
  auto tokenizer = llm::LoadTokenizer(flags.GetString("llm"), (*llm)->config().vocab_size);
  if (!tokenizer.ok()) return Fail(tokenizer.status());
  auto sasrec = model::LoadSasrecCheckpoint(flags.GetString("sasrec"));
  if (!sasrec.ok()) return Fail(sasrec.status());
  const int64_t d_rec = (*sasrec)->config().hidden_units;
  const int64_t d_llm = (*llm)->config().hidden_size;
  std::cerr << "LLM " << flags.GetString("llm") << ": " << (*llm)->config().num_hidden_layers
            << " layers, hidden " << d_llm << ", vocab " << (*llm)->config().vocab_size
            << " (" << (*tokenizer)->kind() << "); SASRec hidden " << d_rec << ", "
            << (*sasrec)->config().item_num << " items; mapping " << d_rec << " -> "
            << 5 * d_rec << " -> " << d_llm << "\n";
  parts.llm = std::move(llm).value();
  parts.tokenizer = std::move(tokenizer).value();
  parts.sasrec = *sasrec;
  parts.sasrec->to(llm_options->device);
  torch::manual_seed(static_cast<uint64_t>(flags.GetInt("seed")));
  parts.mapping = hybrid::MappingLayer(d_rec, d_llm);
  parts.mapping->to(llm_options->device);
  parts.max_titles = static_cast<int>(flags.GetInt("max-titles"));

  const int64_t item_num = parts.sasrec->config().item_num;
  const auto train = hybrid::ExamplesFromCollmRows(*train_rows, *items, item_num);
  const auto valid = hybrid::ExamplesFromCollmRows(*valid_rows, *items, item_num);

  hybrid::HybridTrainOptions options;
  options.epochs = flags.GetInt("epochs");
  options.batch_size = flags.GetInt("batch-size");
  options.lr_lora = flags.GetDouble("lr-lora");
  options.lr_mapping = flags.GetDouble("lr-mapping");
  options.lr_sasrec = flags.GetDouble("lr-sasrec");
  options.weight_decay = flags.GetDouble("weight-decay");
  options.warmup_steps = flags.GetInt("warmup-steps");
  options.max_grad_norm = flags.GetDouble("max-grad-norm");
  options.eval_every = flags.GetInt("eval-every");
  options.patience = flags.GetInt("patience");
  options.max_train_samples = flags.GetInt("max-train-samples");
  options.max_valid_samples = flags.GetInt("max-valid-samples");
  options.eval_batch_size = flags.GetInt("eval-batch-size");
  options.seed = static_cast<uint64_t>(flags.GetInt("seed"));
  options.lora.r = flags.GetInt("lora-r");
  options.lora.alpha = flags.GetDouble("lora-alpha");
  options.lora.dropout = flags.GetDouble("lora-dropout");
  options.lora.target_modules = SplitComma(flags.GetString("lora-targets"));
  if (Status s = options.lora.Validate(); !s.ok()) return Fail(s);
  options.llm_dir = std::filesystem::absolute(flags.GetString("llm")).string();
  options.out_dir = flags.GetString("out");
  options.resume = !flags.GetBool("no-resume");
  {
    hybrid::PromptBuilder builder(hybrid::PromptTemplate::CollmMovie(), parts.tokenizer.get(),
                                  parts.max_titles);
    std::cerr << "prompt (first training row):\n"
              << builder.Render(train.front().history_titles, train.front().target_title)
              << "\n";
  }

  const auto start = std::chrono::steady_clock::now();
  auto result = hybrid::TrainHybrid(*strategy, std::move(parts), train, valid, options);
  if (!result.ok()) return Fail(result.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

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

int RunEvalHybrid(int argc, char** argv, int first) {
  FlagSet flags("sasrecllm eval-hybrid --model CHECKPOINT --data DIR [--split test] [options]",
                "Scores every row of a CoLLM-format split with a hybrid checkpoint (train-hybrid's\n"
                "OUT/final or OUT/<stage>/best) and prints AUC and UAUC on all, warm and cold rows.");
  flags.AddString("model", "", "hybrid checkpoint folder (with hybrid.json)", true);
  flags.AddString("data", "", "CoLLM split folder (SPLIT.tsv, items.tsv)", true);
  flags.AddString("split", "test", "test | valid | train");
  flags.AddInt("batch-size", 64, "evaluation batch size");
  flags.AddInt("max-samples", 0, "score only a seeded random subset of N rows (0 = all)");
  flags.AddBool("merge-lora", "merge the adapter into the LLM first (as served)");
  flags.AddString("json", "", "also write the metrics to this file");
  flags.AddString("scores", "", "also write one P(like) per row to this file");
  AddRuntimeFlags(&flags);
  if (int code; !flags.Parse(argc, argv, first, &code)) return code;
  StatusOr<llm::LlamaModel::Options> llm_options = RuntimeOptions(flags);
  if (!llm_options.ok()) return Fail(llm_options.status());

  hybrid::HybridLoadOptions load;
  load.llm = *llm_options;
  load.merge_lora = flags.GetBool("merge-lora");
  auto model = hybrid::LoadHybridCheckpoint(flags.GetString("model"), load);
  if (!model.ok()) return Fail(model.status());
  const std::string data = flags.GetString("data");
  auto rows = ReadSplit(data, flags.GetString("split"));
  if (!rows.ok()) return Fail(rows.status());
  if (const int64_t n = flags.GetInt("max-samples"); n > 0 && n < static_cast<int64_t>(rows->size())) {
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
  auto scores = hybrid::ScoreExamples(**model, examples, flags.GetInt("batch-size"),
                                      [](size_t done, size_t total) {
                                        std::cerr << "scored " << done << "/" << total << "\n";
                                      });
  if (!scores.ok()) return Fail(scores.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto report = EvaluatePointwise(*scores, *rows);
  if (!report.ok()) return Fail(report.status());
  std::cout << flags.GetString("model") << " on " << flags.GetString("split") << " ("
            << rows->size() << " rows, " << seconds << " s, " << rows->size() / seconds
            << " rows/s):\n"
            << report->ToString() << "\n";
  if (!flags.GetString("json").empty()) {
    Json j = report->ToJson();
    j["rows_per_s"] = Json(rows->size() / seconds);
    if (Status s = WriteStringToFile(flags.GetString("json"), DumpJson(j, 2) + "\n"); !s.ok()) {
      return Fail(s);
    }
  }
  if (!flags.GetString("scores").empty()) {
    std::string text;
    for (float p : *scores) text += std::to_string(p) + "\n";
    if (Status s = WriteStringToFile(flags.GetString("scores"), text); !s.ok()) return Fail(s);
  }
  return kExitOk;
}

int RunExportHybrid(int argc, char** argv, int first) {
  FlagSet flags("sasrecllm export --hybrid CHECKPOINT --out BUNDLE_DIR [--items items.tsv] [flags]",
                "Writes a SASRecLLM serving bundle from a hybrid checkpoint (train-hybrid's\n"
                "OUT/final): manifest.json (with the prompt), catalog.tsv, sasrec.safetensors,\n"
                "mapping.safetensors and llm/ (config.json, model.safetensors with the LoRA\n"
                "adapter merged, the tokenizer). The catalog lists items 1..item_num with titles\n"
                "from --items; items beyond item_num become cold entries (title only).");
  flags.AddString("hybrid", "", "hybrid checkpoint folder (with hybrid.json)", true);
  flags.AddString("out", "", "bundle folder to write", true);
  flags.AddString("items", "", "items.tsv with titles (the LLM stage needs them)");
  flags.AddString("model-version", "", "model version (default: sasrecllm-<strategy>)");
  if (int code; !flags.Parse(argc, argv, first, &code)) return code;
  const std::string checkpoint = flags.GetString("hybrid");
  auto info = hybrid::ReadHybridInfo(checkpoint);
  if (!info.ok()) return Fail(info.status());
  auto sasrec = model::LoadSasrecCheckpoint(checkpoint + "/sasrec");
  if (!sasrec.ok()) return Fail(sasrec.status());
  auto catalog = CatalogForExport((*sasrec)->config().item_num, flags.GetString("items"));
  if (!catalog.ok()) return Fail(catalog.status());
  model::BundleManifest manifest;
  manifest.model_version = flags.GetString("model-version");
  if (manifest.model_version.empty()) {
    const Json* strategy = FindKey(*info, "strategy");
    manifest.model_version =
        "sasrecllm-" + (strategy != nullptr && strategy->is_string() ? strategy->get<std::string>() : "hybrid");
  }
  manifest.created_at = NowIso8601();
  Json extra = Json::object();
  extra["hybrid_checkpoint"] = Json(std::filesystem::absolute(checkpoint).string());
  if (!flags.GetString("items").empty()) extra["items"] = Json(flags.GetString("items"));
  manifest.extra = extra;
  const std::string out = flags.GetString("out");
  if (Status s = hybrid::ExportHybridBundle(checkpoint, out, *catalog, manifest); !s.ok()) {
    return Fail(s);
  }
  std::cerr << "wrote bundle " << out << " (" << catalog->size() << " catalog items, LoRA merged, "
            << "model_version " << manifest.model_version << ")\n";
  return kExitOk;
}

}  // namespace sasrecllm::cli
