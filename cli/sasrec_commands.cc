// `sasrecllm train-sasrec`, `eval-sasrec` and `export`.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/file.h"
#include "cli/commands.h"
#include "cli/export_catalog.h"
#include "cli/flags.h"
#include "model/bundle.h"
#include "base/auc.h"
#include "model/catalog.h"
#include "model/interaction_data.h"
#include "base/json.h"
#include "model/sasrec.h"
#include "model/sasrec_eval.h"
#include "model/sasrec_pointwise.h"
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

// Sets libtorch's intra-op threads (it defaults to 1 here).
bool SetThreads(const FlagSet& flags) {
  int64_t threads = flags.GetInt("threads");
  if (threads < 1) {
    std::cerr << "error: --threads must be >= 1, got " << threads << "\n";
    return false;
  }
  torch::set_num_threads(static_cast<int>(threads));
  return true;
}

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
// beyond the model's item_num on stderr.
StatusOr<PointwiseReport> ScoreCollmRows(model::Sasrec sasrec,
                                                const std::vector<CollmRow>& rows,
                                                int64_t batch_size,
                                                model::SasrecPointwiseStats* stats) {
  SASRECLLM_ASSIGN_OR_RETURN(std::vector<float> scores,
                             model::SasrecPointwiseScores(sasrec, rows, batch_size, stats));
  if (stats->unknown_items > 0 || stats->unknown_history > 0) {
    std::cerr << "note: " << stats->unknown_items << " candidate item(s) beyond the model's "
              << "item_num " << sasrec->config().item_num << " scored 0.5 (cold); "
              << stats->unknown_history << " history entr(ies) beyond it dropped\n";
  }
  return EvaluatePointwise(scores, rows);
}

// `--json` used to be a switch (JSON on stdout); it now also takes a FILE. A
// bare `--json` (last, or followed by another flag) is rewritten to `--json=-`.
std::vector<char*> BareJsonMeansStdout(int argc, char** argv) {
  static char kJsonStdout[] = "--json=-";
  std::vector<char*> out(argv, argv + argc);
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") != 0) continue;
    const bool bare = i + 1 >= argc || std::strncmp(argv[i + 1], "--", 2) == 0;
    if (bare) out[i] = kJsonStdout;
  }
  return out;
}

// Writes `json` to `target` ("-" = stdout).
Status WriteJsonTarget(const std::string& target, const Json& json) {
  if (target == "-") {
    std::cout << DumpJson(json) << "\n";
    return OkStatus();
  }
  return WriteStringToFile(target, DumpJson(json, 1) + "\n");
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
    if (!done) SASRECLLM_RETURN_IF_ERROR(SelectAfterChunk(options.out_dir, sel));
    options.resume = true;
  }
  return result;
}

}  // namespace

int RunTrainSasrec(int argc, char** argv, int first) {
  model::SasrecConfig c;
  model::SasrecTrainOptions t;
  FlagSet flags(
      "sasrecllm train-sasrec --data FILE --out DIR [flags]",
      "Trains SASRec with the paper's protocol (as pmixer/SASRec.pytorch): per user the\n"
      "last item is test, the second last valid, the rest train; BCE on one sampled\n"
      "negative per position; Adam betas (0.9, 0.98). Every --eval-every epochs it\n"
      "reports HR@10/NDCG@10 on valid and test (101 candidates) and keeps the best model\n"
      "on validation NDCG@10 in DIR (config.json + model.safetensors, pmixer layout);\n"
      "DIR/train_log.json records every epoch; DIR/last/ holds the latest epoch for\n"
      "--resume. Progress and ETA go to stderr.\n"
      "\n"
      "--select-on-collm-valid PATH (a CoLLM split folder, whose valid.tsv is used, or\n"
      "one split file) also scores the latest model point-wise on those rows every\n"
      "--eval-every epochs (as eval-sasrec --pointwise) and keeps the best by AUC in\n"
      "DIR/best-valid-auc (config.json + model.safetensors, its epoch and valid AUC in\n"
      "config.json); DIR/collm_valid_log.json records every check. DIR itself stays the\n"
      "best on ranking NDCG@10.");
  flags.AddString("data", "", "sequence file (`user item` or `user item1 item2 ...` lines)", true);
  flags.AddString("format", "auto", "sequence file layout: auto, pairs or lists");
  flags.AddString("out", "", "output folder", true);
  flags.AddInt("epochs", t.epochs, "training epochs");
  flags.AddInt("batch-size", t.batch_size, "sequences per step");
  flags.AddDouble("lr", t.lr, "Adam learning rate");
  flags.AddInt("maxlen", c.maxlen, "longest input sequence");
  flags.AddInt("hidden-units", c.hidden_units, "embedding and hidden size");
  flags.AddInt("num-blocks", c.num_blocks, "self-attention blocks");
  flags.AddInt("num-heads", c.num_heads, "attention heads");
  flags.AddDouble("dropout", c.dropout_rate, "dropout rate");
  flags.AddBool("norm-first", "pre-LayerNorm blocks (default: post-LayerNorm, as pmixer)");
  flags.AddDouble("layernorm-eps", c.layernorm_eps, "LayerNorm epsilon");
  flags.AddDouble("l2-emb", t.l2_emb, "weight of ||item_emb|| in the loss");
  flags.AddInt("seed", static_cast<int64_t>(t.seed), "random seed (init, sampling, evaluation)");
  flags.AddInt("threads", DefaultThreads(), "libtorch threads (default: all cores)");
  flags.AddInt("eval-every", t.eval_every, "evaluate every N epochs (0: only at the end)");
  flags.AddInt("eval-users", t.eval_users, "evaluate at most N sampled users (0: all)");
  flags.AddBool("resume", "continue from DIR/last when it exists");
  flags.AddString("device", "cpu", "where to train: cpu, cuda or cuda:N");
  flags.AddString("select-on-collm-valid", "",
                  "CoLLM split folder or split file: keep the best point-wise valid AUC in "
                  "DIR/best-valid-auc (see above)");
  int code = 0;
  if (!flags.Parse(argc, argv, first, &code)) return code;
  if (!SetThreads(flags)) return kExitUsage;
  if (auto device = model::TorchDevice(flags.GetString("device")); device.ok()) {
    t.device = *device;
  } else {
    std::cerr << "error: --device: " << device.status().message() << "\n";
    return kExitUsage;
  }

  c.maxlen = flags.GetInt("maxlen");
  c.hidden_units = flags.GetInt("hidden-units");
  c.num_blocks = flags.GetInt("num-blocks");
  c.num_heads = flags.GetInt("num-heads");
  c.dropout_rate = flags.GetDouble("dropout");
  c.norm_first = flags.GetBool("norm-first");
  c.layernorm_eps = flags.GetDouble("layernorm-eps");
  t.epochs = flags.GetInt("epochs");
  t.batch_size = flags.GetInt("batch-size");
  t.lr = flags.GetDouble("lr");
  t.l2_emb = flags.GetDouble("l2-emb");
  t.seed = static_cast<uint64_t>(flags.GetInt("seed"));
  t.eval_every = flags.GetInt("eval-every");
  t.eval_users = flags.GetInt("eval-users");
  t.out_dir = flags.GetString("out");
  t.resume = flags.GetBool("resume");
  t.log = &std::cerr;
  if (Status s = t.Validate(); !s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return kExitUsage;
  }

  StatusOr<model::SplitData> split = LoadSplit(flags.GetString("data"), flags.GetString("format"));
  if (!split.ok()) return Fail(split.status());
  c.item_num = split->item_num;
  if (Status s = c.Validate(); !s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return kExitUsage;
  }
  const std::string select_on = flags.GetString("select-on-collm-valid");
  CollmSelection selection;
  if (!select_on.empty()) {
    if (t.epochs < 1) {
      std::cerr << "error: --select-on-collm-valid needs --epochs >= 1, got " << t.epochs << "\n";
      return kExitUsage;
    }
    selection.valid_path = CollmSplitPath(select_on, "valid");
    StatusOr<std::vector<CollmRow>> rows = LoadCollmRows(selection.valid_path);
    if (!rows.ok()) return Fail(rows.status());
    selection.rows = std::move(*rows);
    selection.best_dir = t.out_dir + "/best-valid-auc";
    selection.log_path = t.out_dir + "/collm_valid_log.json";
  }
  std::cerr << "training SASRec: " << DumpJson(c.ToJson()) << ", " << torch::get_num_threads()
            << " threads\n";
  StatusOr<model::SasrecTrainResult> result =
      select_on.empty() ? model::TrainSasrec(*split, c, t)
                        : TrainSelectingOnCollmValid(*split, c, t, &selection);
  if (!result.ok()) return Fail(result.status());
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

int RunEvalSasrec(int argc, char** argv, int first) {
  model::EvalOptions e;
  FlagSet flags(
      "sasrecllm eval-sasrec --data FILE --model DIR [flags]\n"
      "       sasrecllm eval-sasrec --pointwise --data DIR_OR_SPLIT_FILE --model DIR [flags]",
      "Evaluates a pmixer-layout SASRec folder (config.json + model.safetensors).\n"
      "\n"
      "Ranking (default), the paper's protocol on a sequence file: the held-out item\n"
      "(last = test, second last = valid) ranked against 100 sampled items the user\n"
      "never interacted with; prints HR@10 and NDCG@10.\n"
      "\n"
      "--pointwise, on the CoLLM split (../shared/data/collm-ml1m; --data is the split\n"
      "folder, read as DIR/<split>.tsv, or one split file): each row is scored\n"
      "sigmoid(user representation of its `history` column (the last maxlen items,\n"
      "left-padded) . item embedding of item_id); prints AUC and UAUC (mean per-user\n"
      "AUC over users with both labels) on all, warm and cold rows. History items\n"
      "beyond the model's item_num are dropped; a candidate beyond it has no\n"
      "embedding and scores 0.5 (cold). Both counts are reported on stderr.\n"
      "\n"
      "--json FILE writes the result as JSON to FILE ('-' or a bare --json: to stdout\n"
      "instead of the text).");
  flags.AddString("data", "",
                  "ranking: the sequence file the model was trained on; --pointwise: a CoLLM "
                  "split folder or split file",
                  true);
  flags.AddString("format", "auto", "ranking: sequence file layout: auto, pairs or lists");
  flags.AddString("model", "", "folder with config.json + model.safetensors", true);
  flags.AddString("split", "test", "test or valid");
  flags.AddBool("pointwise", "AUC / UAUC on CoLLM rows instead of HR@10 / NDCG@10");
  flags.AddInt("seed", static_cast<int64_t>(e.seed),
               "ranking: random seed (negatives, user sample)");
  flags.AddInt("eval-users", 0, "ranking: evaluate at most N sampled users (0: all)");
  flags.AddInt("batch-size", 1024, "--pointwise: rows per forward pass");
  flags.AddInt("threads", DefaultThreads(), "libtorch threads (default: all cores)");
  flags.AddString("json", "", "write the result as JSON to FILE ('-' or bare --json: stdout)");
  std::vector<char*> args = BareJsonMeansStdout(argc, argv);
  int code = 0;
  if (!flags.Parse(argc, args.data(), first, &code)) return code;
  if (!SetThreads(flags)) return kExitUsage;
  const std::string split_name = flags.GetString("split");
  if (split_name != "test" && split_name != "valid") {
    std::cerr << "error: --split must be test or valid, got \"" << split_name << "\"\n";
    return kExitUsage;
  }
  const std::string json_target = flags.GetString("json");

  if (flags.GetBool("pointwise")) {
    const int64_t batch_size = flags.GetInt("batch-size");
    if (batch_size < 1) {
      std::cerr << "error: --batch-size must be >= 1, got " << batch_size << "\n";
      return kExitUsage;
    }
    const std::string path = CollmSplitPath(flags.GetString("data"), split_name);
    StatusOr<model::Sasrec> sasrec = model::LoadSasrecCheckpoint(flags.GetString("model"));
    if (!sasrec.ok()) return Fail(sasrec.status());
    StatusOr<std::vector<CollmRow>> rows = LoadCollmRows(path);
    if (!rows.ok()) return Fail(rows.status());
    const auto start = std::chrono::steady_clock::now();
    model::SasrecPointwiseStats stats;
    StatusOr<PointwiseReport> report = ScoreCollmRows(*sasrec, *rows, batch_size, &stats);
    if (!report.ok()) return Fail(report.status());
    const double seconds = SecondsSince(start);
    std::cerr << "scored " << rows->size() << " rows in " << seconds << " s\n";
    if (!json_target.empty()) {
      Json j = report->ToJson();
      j["split"] = Json(split_name);
      j["data"] = Json(path);
      j["model"] = Json(flags.GetString("model"));
      j["unknown_items"] = Json(stats.unknown_items);
      j["unknown_history"] = Json(stats.unknown_history);
      j["seconds"] = Json(seconds);
      if (Status s = WriteJsonTarget(json_target, j); !s.ok()) return Fail(s);
    }
    if (json_target != "-") std::cout << path << "\n" << report->ToString();
    return kExitOk;
  }

  e.split = split_name == "test" ? model::EvalSplit::kTest : model::EvalSplit::kValid;
  e.seed = static_cast<uint64_t>(flags.GetInt("seed"));
  e.max_users = flags.GetInt("eval-users");
  StatusOr<model::Sasrec> sasrec = model::LoadSasrecCheckpoint(flags.GetString("model"));
  if (!sasrec.ok()) return Fail(sasrec.status());
  StatusOr<model::SplitData> split = LoadSplit(flags.GetString("data"), flags.GetString("format"));
  if (!split.ok()) return Fail(split.status());
  StatusOr<model::RankMetrics> m = model::EvaluateSasrec(*sasrec, *split, e);
  if (!m.ok()) return Fail(m.status());
  if (!json_target.empty()) {
    Json j = MetricsJson(*m);
    j["split"] = Json(split_name);
    j["seed"] = Json(static_cast<int64_t>(e.seed));
    if (Status s = WriteJsonTarget(json_target, j); !s.ok()) return Fail(s);
  }
  if (json_target != "-") {
    std::printf("%s: HR@10 %.4f NDCG@10 %.4f (%lld users)\n", split_name.c_str(), m->hr,
                m->ndcg, static_cast<long long>(m->users));
  }
  return kExitOk;
}

int RunExport(int argc, char** argv, int first) {
  // `export --hybrid CHECKPOINT`: the SASRecLLM bundle (hybrid_commands.cc).
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--hybrid" || arg.rfind("--hybrid=", 0) == 0) return RunExportHybrid(argc, argv, first);
  }
  FlagSet flags("sasrecllm export --sasrec DIR --out BUNDLE_DIR [--items items.tsv] [flags]",
                "Writes a serving bundle (manifest.json, catalog.tsv, sasrec.safetensors)\n"
                "from a pmixer-layout SASRec folder (config.json + model.safetensors), e.g.\n"
                "../shared/models/sasrec-pmixer-games or a train-sasrec output. The catalog\n"
                "lists items 1..item_num with the index as the external id and titles from\n"
                "--items (item_id<TAB>title) when given.\n"
                "`export --hybrid CHECKPOINT ...` writes a SASRecLLM bundle instead (see\n"
                "`sasrecllm export --hybrid X --help`).");
  flags.AddString("sasrec", "", "pmixer-layout SASRec folder", true);
  flags.AddString("out", "", "bundle folder to write", true);
  flags.AddString("items", "", "items.tsv with titles (optional)");
  flags.AddString("model-version", "", "model version (default: sasrec-<folder name>)");
  int code = 0;
  if (!flags.Parse(argc, argv, first, &code)) return code;
  const std::string dir = flags.GetString("sasrec");
  StatusOr<model::Sasrec> sasrec = model::LoadSasrecCheckpoint(dir);
  if (!sasrec.ok()) return Fail(sasrec.status());
  const model::SasrecConfig& config = (*sasrec)->config();

  StatusOr<model::Catalog> catalog = CatalogForExport(config.item_num, flags.GetString("items"));
  if (!catalog.ok()) return Fail(catalog.status());

  model::BundleManifest manifest;
  std::string version = flags.GetString("model-version");
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
  if (!flags.GetString("items").empty()) extra["items"] = Json(flags.GetString("items"));
  manifest.extra = extra;
  const std::string out = flags.GetString("out");
  if (Status s = model::WriteBundle(out, manifest, *catalog, *sasrec); !s.ok()) return Fail(s);
  std::cerr << "wrote bundle " << out << " (" << config.item_num << " items, "
            << catalog->size() << " catalog entries, model_version " << version << ")\n";
  return kExitOk;
}

}  // namespace sasrecllm::cli
