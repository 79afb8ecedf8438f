// `sasrecllm train-sasrec`, `eval-sasrec` and `export`.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/file.h"
#include "cli/commands.h"
#include "cli/export_catalog.h"
#include "model/bundle.h"
#include "base/auc.h"
#include "model/catalog.h"
#include "model/interaction_data.h"
#include "base/json.h"
#include "model/sasrec.h"
#include "model/sasrec_eval.h"
#include "model/sasrec_pointwise.h"
#include "model/sasrec_pointwise_trainer.h"
#include "model/sasrec_trainer.h"
#include "model/torch_device.h"
#include "cli/data_parallel.h"

namespace sasrecllm::cli {
namespace {

int64_t DefaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int64_t>(n);
}

// Sets libtorch's intra-op threads (it defaults to 1 here).
void SetThreads(int64_t threads) { torch::set_num_threads(static_cast<int>(threads)); }

StatusOr<model::SplitData> LoadSplit(const std::string& path, const std::string& format_name) {
  SASRECLLM_ASSIGN_OR_RETURN(model::SequenceFormat format,
                             model::ParseSequenceFormat(format_name));
  SASRECLLM_ASSIGN_OR_RETURN(model::SequenceData data, model::ReadSequenceFile(path, format));
  std::cerr << path << ": " << data.user_num << " users, " << data.item_num << " items, "
            << data.NumInteractions() << " interactions\n";
  return model::SplitLeaveLastTwo(data);
}

Json MetricsJson(const model::RankMetrics& m) {
  Json j = Json::object();
  j["hr@10"] = Json(m.hr);
  j["ndcg@10"] = Json(m.ndcg);
  j["users"] = Json(m.users);
  return j;
}


double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The CoLLM split file for `data` (a split folder: DIR/<split>.tsv; or one
// split file, read as is).
std::string CollmSplitPath(const std::string& data, const std::string& split) {
  return std::filesystem::is_directory(data) ? data + "/" + split + ".tsv" : data;
}

// The CoLLM rows of `path`, with a one-line summary on stderr.
StatusOr<std::vector<CollmRow>> LoadCollmRows(const std::string& path) {
  SASRECLLM_ASSIGN_OR_RETURN(std::vector<CollmRow> rows, ReadCollmSplit(path));
  int64_t warm = 0, positive = 0;
  for (const CollmRow& r : rows) {
    warm += r.warm ? 1 : 0;
    positive += r.label != 0 ? 1 : 0;
  }
  std::cerr << path << ": " << rows.size() << " rows (" << positive << " positive, " << warm
            << " warm, " << rows.size() - warm << " cold)\n";
  return rows;
}

// SASRec's point-wise scores of `rows` and their AUC / UAUC report; notes ids
// beyond the model's item_num on stderr. `scores_out`, when given, receives
// the score of each row.
StatusOr<PointwiseReport> ScoreCollmRows(model::Sasrec sasrec,
                                         const std::vector<CollmRow>& rows, int64_t batch_size,
                                         model::SasrecPointwiseStats* stats,
                                         std::vector<float>* scores_out = nullptr) {
  SASRECLLM_ASSIGN_OR_RETURN(std::vector<float> scores,
                             model::SasrecPointwiseScores(sasrec, rows, batch_size, stats));
  if (scores_out != nullptr) *scores_out = scores;
  if (stats->unknown_items > 0 || stats->unknown_history > 0) {
    std::cerr << "note: " << stats->unknown_items << " candidate item(s) beyond the model's "
              << "item_num " << sasrec->config().item_num << " scored 0.5 (cold); "
              << stats->unknown_history << " history entr(ies) beyond it dropped\n";
  }
  return EvaluatePointwise(scores, rows);
}

// ---------------------------------------------------------------------------
// train-sasrec --select-on-collm-valid: SASRec's own training, run in chunks
// of --eval-every epochs (TrainSasrec resumes from DIR/last between chunks,
// exactly as one run); after each chunk the latest model is scored on the
// CoLLM validation rows and the best by AUC is kept in DIR/best-valid-auc.

struct CollmSelection {
  std::string valid_path;
  std::vector<CollmRow> rows;
  std::string best_dir;  // DIR/best-valid-auc
  std::string log_path;  // DIR/collm_valid_log.json
  int64_t best_epoch = 0;
  double best_auc = -1.0;
  Json log = Json::array();  // {epoch, auc, uauc, warm_auc, cold_auc} per chunk
};

// Restores the selection state of an earlier (resumed) run from its log.
Status ResumeSelection(CollmSelection* sel) {
  if (!std::filesystem::exists(sel->log_path)) return OkStatus();
  SASRECLLM_ASSIGN_OR_RETURN(Json json, ReadJsonFile(sel->log_path));
  StatusOr<int64_t> best_epoch = GetInt(json, "best_epoch");
  StatusOr<double> best_auc = GetDoubleOr(json, "best_valid_auc", -1.0);
  if (!best_epoch.ok()) return best_epoch.status().WithPrefix(sel->log_path);
  if (!best_auc.ok()) return best_auc.status().WithPrefix(sel->log_path);
  sel->best_epoch = *best_epoch;
  sel->best_auc = sel->best_epoch > 0 ? *best_auc : -1.0;
  for (const Json& e : Member(json, "epochs")) sel->log.push_back(e);
  return OkStatus();
}

Status WriteSelectionLog(const CollmSelection& sel) {
  Json j = Json::object();
  j["valid"] = Json(sel.valid_path);
  j["best_epoch"] = Json(sel.best_epoch);
  j["best_valid_auc"] = Json(sel.best_auc);
  j["epochs"] = sel.log;
  return WriteStringToFile(sel.log_path, DumpJson(j, 1) + "\n");
}

// Scores DIR/last (the latest epoch) on the validation rows; saves it to
// DIR/best-valid-auc when its AUC is the best so far.
Status SelectAfterChunk(const std::string& out_dir, CollmSelection* sel) {
  SASRECLLM_ASSIGN_OR_RETURN(model::Sasrec last, model::LoadSasrecCheckpoint(out_dir + "/last"));
  SASRECLLM_ASSIGN_OR_RETURN(Json config, ReadJsonFile(out_dir + "/last/config.json"));
  SASRECLLM_ASSIGN_OR_RETURN(const int64_t epoch, GetInt(config, "epoch"));
  model::SasrecPointwiseStats stats;
  SASRECLLM_ASSIGN_OR_RETURN(PointwiseReport r,
                             ScoreCollmRows(last, sel->rows, 1024, &stats));
  const bool best = r.all.auc > sel->best_auc;
  Json e = Json::object();
  e["epoch"] = Json(epoch);
  e["valid"] = r.ToJson();
  sel->log.push_back(std::move(e));
  if (best) {
    sel->best_auc = r.all.auc;
    sel->best_epoch = epoch;
    Json extra = Json::object();
    for (const char* key : {"user_num", "epoch"}) {
      if (const Json* v = FindKey(config, key)) extra[key] = *v;
    }
    extra["selected_on"] = Json(sel->valid_path);
    extra["valid_auc"] = Json(r.all.auc);
    extra["valid_uauc"] = Json(r.all.uauc);
    SASRECLLM_RETURN_IF_ERROR(model::SaveSasrecCheckpoint(sel->best_dir, last, extra));
  }
  SASRECLLM_RETURN_IF_ERROR(WriteSelectionLog(*sel));
  std::fprintf(stderr, "epoch %lld CoLLM valid: AUC %.4f UAUC %.4f (warm %.4f, cold %.4f)%s\n",
               static_cast<long long>(epoch), r.all.auc, r.all.uauc, r.warm.auc, r.cold.auc,
               best ? " (best)" : "");
  return OkStatus();
}

// TrainSasrec in chunks of options.eval_every epochs, selecting on the CoLLM
// validation rows after each.
StatusOr<model::SasrecTrainResult> TrainSelectingOnCollmValid(const model::SplitData& split,
                                                              const model::SasrecConfig& config,
                                                              model::SasrecTrainOptions options,
                                                              CollmSelection* sel) {
  if (options.resume) SASRECLLM_RETURN_IF_ERROR(ResumeSelection(sel));
  const int64_t total = options.epochs;
  const int64_t chunk = options.eval_every > 0 ? options.eval_every : total;
  model::SasrecTrainResult result;
  int64_t end = 0;
  while (end < total) {
    end = std::min(end + chunk, total);
    // Chunks already in the log (a resumed run) are not scored again.
    bool done = false;
    for (const Json& e : sel->log) {
      const StatusOr<int64_t> epoch = GetInt(e, "epoch");
      done = done || (epoch.ok() && *epoch == end);
    }
    options.epochs = end;
    SASRECLLM_ASSIGN_OR_RETURN(result, model::TrainSasrec(split, config, options));
    // Data-parallel: rank 0 selects (TrainSasrec returns on every rank only
    // once rank 0's last/ is written); the others go on to the next chunk.
    const bool root = options.data_parallel == nullptr || options.data_parallel->IsRankZero();
    if (!done && root) SASRECLLM_RETURN_IF_ERROR(SelectAfterChunk(options.out_dir, sel));
    options.resume = true;
  }
  return result;
}

struct TrainSasrecFlags {
  std::string data;
  std::string format = "auto";
  model::SasrecConfig c;
  model::SasrecTrainOptions t;
  int64_t threads = DefaultThreads();
  std::string device = "cpu";
  std::string select_on;  // --select-on-collm-valid
  std::string objective = "next-item";
  // --objective pointwise only (model::PointwiseTrainOptions' defaults).
  double weight_decay = model::PointwiseTrainOptions().weight_decay;
  int64_t patience = model::PointwiseTrainOptions().patience;
  std::string init_from;
  const CLI::App* app = nullptr;  // which flags were given (their defaults differ per objective)

  bool Given(const char* flag) const { return app->count(flag) > 0; }
};

// --device NAME as a torch::Device: kExitOk, a usage error for a malformed
// name, or a run-time error when this build or machine lacks the device.
int ResolveDevice(const std::string& name, torch::Device* out) {
  StatusOr<torch::Device> device = model::TorchDevice(name);
  if (device.ok()) {
    *out = *device;
    return kExitOk;
  }
  if (device.status().code() == StatusCode::kInvalidArgument) {
    return UsageError("--device: " + device.status().message());
  }
  return Fail(device.status());  // CUDA missing here: a run-time error
}

// ---------------------------------------------------------------------------
// train-sasrec --objective pointwise: CoLLM's SASRec baseline
// (model/sasrec_pointwise_trainer.h) on a CoLLM split folder.

// The CoLLM split's items are 1..N: N = the largest item id in DIR/items.tsv
// (when the folder has one) and in the rows, as `data convert-collm` sizes a
// next-item model of the same split.
StatusOr<int64_t> CollmItemNum(const std::string& dir,
                               const std::vector<const std::vector<CollmRow>*>& splits) {
  int64_t n = 0;
  const std::string items_path = dir + "/items.tsv";
  if (std::filesystem::exists(items_path)) {
    SASRECLLM_ASSIGN_OR_RETURN(std::vector<model::ItemTitle> items,
                               model::ReadItemsTsv(items_path));
    for (const model::ItemTitle& t : items) n = std::max(n, t.item_id);
  }
  for (const std::vector<CollmRow>* rows : splits) {
    for (const CollmRow& r : *rows) {
      n = std::max(n, r.item_id);
      for (int64_t h : r.history) n = std::max(n, h);
    }
  }
  return n;
}

int TrainSasrecPointwise(const TrainSasrecFlags& f) {
  for (const char* flag :
       {"--format", "--l2-emb", "--eval-users", "--eval-every", "--sampler-streams",
        "--select-on-collm-valid"}) {
    if (f.Given(flag)) return UsageError(std::string(flag) + " applies to --objective next-item");
  }
  if (!std::filesystem::is_directory(f.data)) {
    return UsageError("--objective pointwise: --data must be a CoLLM split folder (train.tsv, "
                      "valid.tsv), got " + f.data);
  }
  // CoLLM's recorded best run, unless a flag says otherwise.
  model::SasrecConfig c = model::CollmPointwiseSasrecConfig();
  if (f.Given("--maxlen")) c.maxlen = f.c.maxlen;
  if (f.Given("--hidden-units")) c.hidden_units = f.c.hidden_units;
  if (f.Given("--num-blocks")) c.num_blocks = f.c.num_blocks;
  if (f.Given("--num-heads")) c.num_heads = f.c.num_heads;
  if (f.Given("--dropout")) c.dropout_rate = f.c.dropout_rate;
  if (f.Given("--layernorm-eps")) c.layernorm_eps = f.c.layernorm_eps;
  c.norm_first = f.c.norm_first;
  model::PointwiseTrainOptions t;
  if (f.Given("--epochs")) t.max_epochs = f.t.epochs;
  if (f.Given("--batch-size")) t.batch_size = f.t.batch_size;
  if (f.Given("--lr")) t.lr = f.t.lr;
  if (f.Given("--seed")) t.seed = f.t.seed;
  t.weight_decay = f.weight_decay;
  t.patience = f.patience;
  t.out_dir = f.t.out_dir;
  t.resume = f.t.resume;
  t.log = &std::cerr;
  SetThreads(f.threads);
  if (int rc = ResolveDevice(f.device, &t.device); rc != kExitOk) return rc;
  if (Status s = t.Validate(); !s.ok()) return UsageError(s.message());

  StatusOr<std::vector<CollmRow>> train = LoadCollmRows(f.data + "/train.tsv");
  if (!train.ok()) return Fail(train.status());
  StatusOr<std::vector<CollmRow>> valid = LoadCollmRows(f.data + "/valid.tsv");
  if (!valid.ok()) return Fail(valid.status());
  const std::string test_path = f.data + "/test.tsv";
  std::vector<CollmRow> test;
  if (std::filesystem::exists(test_path)) {
    StatusOr<std::vector<CollmRow>> rows = LoadCollmRows(test_path);
    if (!rows.ok()) return Fail(rows.status());
    test = std::move(*rows);
  }
  StatusOr<int64_t> item_num = CollmItemNum(f.data, {&*train, &*valid, &test});
  if (!item_num.ok()) return Fail(item_num.status());
  c.item_num = *item_num;
  if (Status s = c.Validate(); !s.ok()) return UsageError(s.message());
  model::Sasrec init{nullptr};
  if (!f.init_from.empty()) {
    StatusOr<model::Sasrec> loaded = model::LoadSasrecCheckpoint(f.init_from);
    if (!loaded.ok()) return Fail(loaded.status());
    init = *loaded;
  }
  std::cerr << "training SASRec point-wise: " << DumpJson(c.ToJson()) << ", lr " << t.lr
            << ", weight decay " << t.weight_decay << ", batch " << t.batch_size
            << ", patience " << t.patience << ", " << torch::get_num_threads() << " threads"
            << (init ? ", starting from " + f.init_from : std::string()) << "\n";
  StatusOr<model::PointwiseTrainResult> result =
      model::TrainSasrecPointwise(*train, *valid, c, t, init);
  if (!result.ok()) return Fail(result.status());
  std::printf("best epoch %lld of %zu%s: valid AUC %.4f UAUC %.4f (warm %.4f, cold %.4f)\n",
              static_cast<long long>(result->best_epoch), result->history.size(),
              result->stopped_early ? " (stopped early)" : "", result->best_valid.all.auc,
              result->best_valid.all.uauc, result->best_valid.warm.auc,
              result->best_valid.cold.auc);
  if (!test.empty()) {
    // Reported for the model chosen on validation; nothing here selects on it.
    model::SasrecPointwiseStats stats;
    StatusOr<PointwiseReport> report = ScoreCollmRows(result->model, test, 4096, &stats);
    if (!report.ok()) return Fail(report.status());
    std::printf("test (the model chosen on valid):\n%s", report->ToString().c_str());
  }
  std::printf("model: %s\n", t.out_dir.c_str());
  return kExitOk;
}

int TrainSasrec(TrainSasrecFlags f) {
  if (f.objective == "pointwise") {
    StatusOr<model::LaunchEnvironment> env = model::LaunchEnvironment::FromEnvironment();
    if (!env.ok()) return Fail(env.status());
    if (env->world_size > 1) {
      return Fail(UnimplementedError("--objective pointwise does not train data-parallel (WORLD_SIZE=" +
                                     std::to_string(env->world_size) +
                                     "): run it in one process"));
    }
    return TrainSasrecPointwise(f);
  }
  for (const char* flag : {"--weight-decay", "--patience", "--init-from"}) {
    if (f.Given(flag)) return UsageError(std::string(flag) + " applies to --objective pointwise");
  }
  model::SasrecConfig& c = f.c;
  model::SasrecTrainOptions& t = f.t;
  SetThreads(f.threads);
  if (int rc = ResolveDevice(f.device, &t.device); rc != kExitOk) return rc;
  t.log = &std::cerr;
  if (Status s = t.Validate(); !s.ok()) return UsageError(s.message());

  StatusOr<std::unique_ptr<model::DataParallel>> dp = JoinDataParallel(t.device);
  if (!dp.ok()) return Fail(dp.status());
  t.data_parallel = dp->get();
  const bool root = t.data_parallel == nullptr || t.data_parallel->IsRankZero();
  StatusOr<model::SplitData> split = LoadSplit(f.data, f.format);
  if (!split.ok()) return Fail(split.status());
  c.item_num = split->item_num;
  if (Status s = c.Validate(); !s.ok()) return UsageError(s.message());
  const std::string& select_on = f.select_on;
  CollmSelection selection;
  if (!select_on.empty()) {
    if (t.epochs < 1) {
      return UsageError("--select-on-collm-valid needs --epochs >= 1, got " +
                        std::to_string(t.epochs));
    }
    selection.valid_path = CollmSplitPath(select_on, "valid");
    StatusOr<std::vector<CollmRow>> rows = LoadCollmRows(selection.valid_path);
    if (!rows.ok()) return Fail(rows.status());
    selection.rows = std::move(*rows);
    selection.best_dir = t.out_dir + "/best-valid-auc";
    selection.log_path = t.out_dir + "/collm_valid_log.json";
  }
  if (root) {
    std::cerr << "training SASRec: " << DumpJson(c.ToJson()) << ", " << torch::get_num_threads()
              << " threads\n";
  }
  StatusOr<model::SasrecTrainResult> result =
      select_on.empty() ? model::TrainSasrec(*split, c, t)
                        : TrainSelectingOnCollmValid(*split, c, t, &selection);
  if (!result.ok()) return Fail(result.status());
  if (!root) return kExitOk;  // rank 0 reports
  std::cout << "best epoch " << result->best_epoch << ": valid HR@10 " << result->best_valid.hr
            << " NDCG@10 " << result->best_valid.ndcg << "; test HR@10 "
            << result->test_at_best.hr << " NDCG@10 " << result->test_at_best.ndcg << "\n"
            << "model: " << t.out_dir << "\n";
  if (!select_on.empty()) {
    std::printf("best CoLLM valid AUC %.4f at epoch %lld\nmodel (valid AUC): %s\n",
                selection.best_auc, static_cast<long long>(selection.best_epoch),
                selection.best_dir.c_str());
  }
  return kExitOk;
}

struct EvalSasrecFlags {
  std::string data;
  std::string format = "auto";
  std::string model;
  std::string split = "test";
  bool pointwise = false;
  uint64_t seed = model::EvalOptions().seed;
  int64_t eval_users = 0;
  int64_t batch_size = 1024;
  int64_t threads = DefaultThreads();
  std::string json;
  std::string scores;  // --pointwise: one score per row to this file
};

int EvalSasrec(const EvalSasrecFlags& f) {
  model::EvalOptions e;
  SetThreads(f.threads);
  const std::string& split_name = f.split;
  const std::string& json_target = f.json;
  std::ostream& text = TextStream(json_target);

  if (!f.scores.empty() && !f.pointwise) return UsageError("--scores needs --pointwise");
  if (f.pointwise) {
    const int64_t batch_size = f.batch_size;
    const std::string path = CollmSplitPath(f.data, split_name);
    StatusOr<model::Sasrec> sasrec = model::LoadSasrecCheckpoint(f.model);
    if (!sasrec.ok()) return Fail(sasrec.status());
    StatusOr<std::vector<CollmRow>> rows = LoadCollmRows(path);
    if (!rows.ok()) return Fail(rows.status());
    const auto start = std::chrono::steady_clock::now();
    model::SasrecPointwiseStats stats;
    std::vector<float> scores;
    StatusOr<PointwiseReport> report =
        ScoreCollmRows(*sasrec, *rows, batch_size, &stats, &scores);
    if (!report.ok()) return Fail(report.status());
    const double seconds = SecondsSince(start);
    if (!f.scores.empty()) {
      if (Status s = WriteScoresFile(f.scores, scores); !s.ok()) return Fail(s);
    }
    std::cerr << "scored " << rows->size() << " rows in " << seconds << " s\n";
    if (!json_target.empty()) {
      Json j = report->ToJson();
      j["split"] = Json(split_name);
      j["data"] = Json(path);
      j["model"] = Json(f.model);
      j["unknown_items"] = Json(stats.unknown_items);
      j["unknown_history"] = Json(stats.unknown_history);
      j["seconds"] = Json(seconds);
      if (Status s = WriteJsonOutput(json_target, DumpJson(j, 1)); !s.ok()) return Fail(s);
    }
    text << path << "\n" << report->ToString();
    return kExitOk;
  }

  e.split = split_name == "test" ? model::EvalSplit::kTest : model::EvalSplit::kValid;
  e.seed = f.seed;
  e.max_users = f.eval_users;
  StatusOr<model::Sasrec> sasrec = model::LoadSasrecCheckpoint(f.model);
  if (!sasrec.ok()) return Fail(sasrec.status());
  StatusOr<model::SplitData> split = LoadSplit(f.data, f.format);
  if (!split.ok()) return Fail(split.status());
  StatusOr<model::RankMetrics> m = model::EvaluateSasrec(*sasrec, *split, e);
  if (!m.ok()) return Fail(m.status());
  if (!json_target.empty()) {
    Json j = MetricsJson(*m);
    j["split"] = Json(split_name);
    j["seed"] = Json(static_cast<int64_t>(e.seed));
    if (Status s = WriteJsonOutput(json_target, DumpJson(j, 1)); !s.ok()) return Fail(s);
  }
  std::fprintf(TextFile(json_target), "%s: HR@10 %.4f NDCG@10 %.4f (%lld users)\n",
               split_name.c_str(), m->hr, m->ndcg, static_cast<long long>(m->users));
  return kExitOk;
}

int Export(const ExportFlags& f) {
  // `export --hybrid CHECKPOINT`: the SASRecLLM bundle (hybrid_commands.cc).
  if (!f.hybrid.empty()) return RunExportHybrid(f);
  if (f.sasrec.empty()) return UsageError("export needs --sasrec DIR or --hybrid CHECKPOINT");
  const std::string& dir = f.sasrec;
  StatusOr<model::Sasrec> sasrec = model::LoadSasrecCheckpoint(dir);
  if (!sasrec.ok()) return Fail(sasrec.status());
  const model::SasrecConfig& config = (*sasrec)->config();

  StatusOr<model::Catalog> catalog = CatalogForExport(config.item_num, f.items);
  if (!catalog.ok()) return Fail(catalog.status());

  model::BundleManifest manifest;
  std::string version = f.model_version;
  if (version.empty()) {
    std::string name = std::filesystem::path(dir).lexically_normal().filename().string();
    if (name.empty()) name = std::filesystem::path(dir).parent_path().filename().string();
    version = name.rfind("sasrec", 0) == 0 ? name : "sasrec-" + name;
  }
  manifest.model_version = version;
  manifest.created_at = NowIso8601();
  manifest.sasrec = config;
  manifest.max_history = config.maxlen;
  manifest.components = {"sasrec"};
  Json extra = Json::object();
  extra["sasrec_source"] = Json(dir);
  if (!f.items.empty()) extra["items"] = Json(f.items);
  manifest.extra = extra;
  const std::string& out = f.out;
  if (Status s = model::WriteBundle(out, manifest, *catalog, *sasrec); !s.ok()) return Fail(s);
  std::cerr << "wrote bundle " << out << " (" << config.item_num << " items, "
            << catalog->size() << " catalog entries, model_version " << version << ")\n";
  return kExitOk;
}

}  // namespace

Command AddTrainSasrec(CLI::App& app) {
  Subcommand<TrainSasrecFlags> sub(
      app, "train-sasrec", "train SASRec (paper protocol), pmixer-layout checkpoints",
      R"(Trains SASRec with the paper's protocol (as pmixer/SASRec.pytorch): per user the
last item is test, the second last valid, the rest train; BCE on one sampled
negative per position; Adam betas (0.9, 0.98); batches from --sampler-streams
user orders in turn (pmixer's three sampler workers). Every --eval-every epochs it
reports HR@10/NDCG@10 on valid and test (101 candidates) and keeps the best model
on validation NDCG@10 in DIR (config.json + model.safetensors, pmixer layout);
DIR/train_log.json records every epoch; DIR/last/ holds the latest epoch for
--resume. Progress and ETA go to stderr.

--select-on-collm-valid PATH (a CoLLM split folder, whose valid.tsv is used, or
one split file) also scores the latest model point-wise on those rows every
--eval-every epochs (as eval-sasrec --pointwise) and keeps the best by AUC in
DIR/best-valid-auc (config.json + model.safetensors, its epoch and valid AUC in
config.json); DIR/collm_valid_log.json records every check. DIR itself stays the
best on ranking NDCG@10.

--objective pointwise trains SASRec as CoLLM trains its baseline, on a CoLLM
split folder (--data DIR with train.tsv, valid.tsv and optionally test.tsv,
items.tsv): each labelled row of train.tsv is scored dot(user representation
of its history, embedding of its item) and trained with BCE against its label;
Adam with L2 weight decay; after every epoch the model is scored on valid.tsv
and the best by AUC is kept in DIR; training stops after --patience epochs
without a better one (or at --epochs). test.tsv, when present, is scored once
at the end with that model, for the report only. The defaults become CoLLM's
recorded best run: --maxlen 25 --hidden-units 64 --num-blocks 2 --num-heads 1
--dropout 0.2 --lr 0.01 --weight-decay 0.01 --batch-size 2048 --patience 100,
at most --epochs 1000. For a fixed --seed, --threads and --device the run is
deterministic (also across --resume). --init-from DIR starts from a SASRec
checkpoint of the same shape (e.g. a next-item run of this split) instead of a
random initialisation. --format, --l2-emb, --eval-every, --eval-users,
--sampler-streams and --select-on-collm-valid are next-item flags.

Data-parallel (next-item only): started N times with torchrun's environment
variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), e.g. by
scripts/train-distributed.sh N -- train-sasrec ... or torchrun, the processes
train one model over c10d (Gloo on CPU, NCCL on CUDA): --batch-size stays the
global batch, each rank takes 1/N of every batch, gradients are all-reduced;
rank 0 alone evaluates, prints and writes DIR. --resume works at any N.)");
  TrainSasrecFlags& f = sub.flags();
  f.app = sub.app();
  sub->add_option("--data", f.data,
                  "next-item: sequence file (`user item` or `user item1 item2 ...` lines); "
                  "pointwise: a CoLLM split folder")
      ->required();
  sub->add_option("--objective", f.objective,
                  "next-item (the paper's, default) or pointwise (CoLLM's baseline; see below)")
      ->check(CLI::IsMember({"next-item", "pointwise"}));
  sub->add_option("--format", f.format, "sequence file layout: auto, pairs or lists");
  sub->add_option("--out", f.t.out_dir, "output folder")->required();
  sub->add_option("--epochs", f.t.epochs, "training epochs");
  sub->add_option("--batch-size", f.t.batch_size, "sequences per step");
  sub->add_option("--lr", f.t.lr, "Adam learning rate");
  sub->add_option("--maxlen", f.c.maxlen, "longest input sequence");
  sub->add_option("--hidden-units", f.c.hidden_units, "embedding and hidden size");
  sub->add_option("--num-blocks", f.c.num_blocks, "self-attention blocks");
  sub->add_option("--num-heads", f.c.num_heads, "attention heads");
  sub->add_option("--dropout", f.c.dropout_rate, "dropout rate");
  sub->add_flag("--norm-first", f.c.norm_first,
                "pre-LayerNorm blocks (default: post-LayerNorm, as pmixer)");
  sub->add_option("--layernorm-eps", f.c.layernorm_eps, "LayerNorm epsilon");
  sub->add_option("--l2-emb", f.t.l2_emb, "weight of ||item_emb|| in the loss");
  sub->add_option("--seed", f.t.seed, "random seed (init, sampling, evaluation)");
  sub->add_option("--sampler-streams", f.t.sampler_streams,
                  "batches come from N shuffled user orders in turn, as pmixer's N=3 sampler "
                  "workers (1: every user exactly once per epoch)")
      ->check(AtLeast(1));
  sub->add_option("--threads", f.threads, "libtorch threads (default: all cores)")
      ->check(AtLeast(1));
  sub->add_option("--eval-every", f.t.eval_every, "evaluate every N epochs (0: only at the end)");
  sub->add_option("--eval-users", f.t.eval_users, "evaluate at most N sampled users (0: all)");
  sub->add_flag("--resume", f.t.resume, "continue from DIR/last when it exists");
  sub->add_option("--device", f.device, "where to train: cpu, cuda or cuda:N")
      ->check(DeviceNameCheck());
  sub->add_option("--select-on-collm-valid", f.select_on,
                  "CoLLM split folder or split file: keep the best point-wise valid AUC in "
                  "DIR/best-valid-auc (see below)");
  sub->add_option("--weight-decay", f.weight_decay,
                  "pointwise: Adam's L2 weight decay (default 0.01)");
  sub->add_option("--patience", f.patience,
                  "pointwise: stop after N epochs without a better valid AUC (default 100)")
      ->check(AtLeast(1));
  sub->add_option("--init-from", f.init_from,
                  "pointwise: start from this SASRec checkpoint folder (same shape)");
  return sub.RunWith(TrainSasrec);
}

Command AddEvalSasrec(CLI::App& app) {
  Subcommand<EvalSasrecFlags> sub(
      app, "eval-sasrec",
      "HR@10 / NDCG@10 of a SASRec checkpoint (paper protocol), or AUC / UAUC on CoLLM rows with "
      "--pointwise",
      R"(Evaluates a pmixer-layout SASRec folder (config.json + model.safetensors).

Ranking (default), the paper's protocol on a sequence file: the held-out item
(last = test, second last = valid) ranked against 100 sampled items the user
never interacted with; prints HR@10 and NDCG@10.

--pointwise, on the CoLLM split (../shared/data/collm-ml1m; --data is the split
folder, read as DIR/<split>.tsv, or one split file): each row is scored
sigmoid(user representation of its `history` column (the last maxlen items,
left-padded) . item embedding of item_id); prints AUC and UAUC (mean per-user
AUC over users with both labels) on all, warm and cold rows. History items
beyond the model's item_num are dropped; a candidate beyond it has no
embedding and scores 0.5 (cold). Both counts are reported on stderr.)");
  EvalSasrecFlags& f = sub.flags();
  sub->add_option("--data", f.data,
                  "ranking: the sequence file the model was trained on; --pointwise: a CoLLM "
                  "split folder or split file")
      ->required();
  sub->add_option("--format", f.format, "ranking: sequence file layout: auto, pairs or lists");
  sub->add_option("--model", f.model, "folder with config.json + model.safetensors")->required();
  sub->add_option("--split", f.split, "test or valid")->check(CLI::IsMember({"test", "valid"}));
  sub->add_flag("--pointwise", f.pointwise, "AUC / UAUC on CoLLM rows instead of HR@10 / NDCG@10");
  sub->add_option("--seed", f.seed, "ranking: random seed (negatives, user sample)");
  sub->add_option("--eval-users", f.eval_users,
                  "ranking: evaluate at most N sampled users (0: all)");
  sub->add_option("--batch-size", f.batch_size, "--pointwise: rows per forward pass")
      ->check(AtLeast(1));
  sub->add_option("--threads", f.threads, "libtorch threads (default: all cores)")
      ->check(AtLeast(1));
  sub->add_option("--json", f.json, kJsonHelp)->type_name("FILE");
  sub->add_option("--scores", f.scores,
                  "--pointwise: also write one P(like) per row to this file, in the split's "
                  "row order")
      ->type_name("FILE");
  return sub.RunWith(EvalSasrec);
}

Command AddExport(CLI::App& app) {
  Subcommand<ExportFlags> sub(app, "export",
                              "write a serving bundle (SASRec folder, or --hybrid checkpoint)",
                              R"(--sasrec DIR: writes a serving bundle (manifest.json, catalog.tsv,
sasrec.safetensors) from a pmixer-layout SASRec folder (config.json +
model.safetensors), e.g. ../shared/models/sasrec-pmixer-games or a train-sasrec
output. The catalog lists items 1..item_num with the index as the external id and
titles from --items (item_id<TAB>title) when given.
--hybrid CHECKPOINT: writes a SASRecLLM bundle from a train-hybrid checkpoint (e.g.
OUT/final): manifest.json (with the prompt), catalog.tsv, sasrec.safetensors,
mapping.safetensors and llm/ (config.json, model.safetensors with the LoRA merged,
the tokenizer).)");
  ExportFlags& f = sub.flags();
  CLI::Option* sasrec = sub->add_option("--sasrec", f.sasrec, "pmixer-layout SASRec folder");
  sub->add_option("--hybrid", f.hybrid, "hybrid checkpoint folder (with hybrid.json)")
      ->excludes(sasrec);
  sub->add_option("--out", f.out, "bundle folder to write")->required();
  sub->add_option("--items", f.items, "items.tsv with titles (the LLM stage needs them)");
  sub->add_option("--model-version", f.model_version,
                  "model version (default: sasrec-<folder name>, or sasrecllm-<strategy>)");
  return sub.RunWith(Export);
}

}  // namespace sasrecllm::cli
