// `sasrecllm train-sasrec`, `eval-sasrec` and `export`.
#include <torch/torch.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <unordered_map>

#include "cli/commands.h"
#include "cli/flags.h"
#include "model/bundle.h"
#include "model/catalog.h"
#include "model/interaction_data.h"
#include "model/json.h"
#include "model/sasrec.h"
#include "model/sasrec_eval.h"
#include "model/sasrec_trainer.h"

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
  Json j = Json::Object();
  j.Set("hr@10", Json(m.hr));
  j.Set("ndcg@10", Json(m.ndcg));
  j.Set("users", Json(m.users));
  return j;
}

std::string NowIso8601() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
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
      "--resume. Progress and ETA go to stderr.");
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
  int code = 0;
  if (!flags.Parse(argc, argv, first, &code)) return code;
  if (!SetThreads(flags)) return kExitUsage;
  try {
    t.device = torch::Device(flags.GetString("device"));
  } catch (const c10::Error&) {
    std::cerr << "error: --device: expected cpu, cuda or cuda:N, got \"" << flags.GetString("device")
              << "\"\n";
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
  std::cerr << "training SASRec: " << c.ToJson().Dump() << ", " << torch::get_num_threads()
            << " threads\n";
  StatusOr<model::SasrecTrainResult> result = model::TrainSasrec(*split, c, t);
  if (!result.ok()) return Fail(result.status());
  std::cout << "best epoch " << result->best_epoch << ": valid HR@10 " << result->best_valid.hr
            << " NDCG@10 " << result->best_valid.ndcg << "; test HR@10 "
            << result->test_at_best.hr << " NDCG@10 " << result->test_at_best.ndcg << "\n"
            << "model: " << t.out_dir << "\n";
  return kExitOk;
}

int RunEvalSasrec(int argc, char** argv, int first) {
  model::EvalOptions e;
  FlagSet flags("sasrecllm eval-sasrec --data FILE --model DIR [flags]",
                "Evaluates a pmixer-layout SASRec folder (config.json + model.safetensors)\n"
                "with the paper's protocol: the held-out item (last = test, second last =\n"
                "valid) ranked against 100 sampled items the user never interacted with;\n"
                "prints HR@10 and NDCG@10.");
  flags.AddString("data", "", "sequence file the model was trained on", true);
  flags.AddString("format", "auto", "sequence file layout: auto, pairs or lists");
  flags.AddString("model", "", "folder with config.json + model.safetensors", true);
  flags.AddString("split", "test", "test or valid");
  flags.AddInt("seed", static_cast<int64_t>(e.seed), "random seed (negatives, user sample)");
  flags.AddInt("eval-users", 0, "evaluate at most N sampled users (0: all)");
  flags.AddInt("threads", DefaultThreads(), "libtorch threads (default: all cores)");
  flags.AddBool("json", "print the result as JSON");
  int code = 0;
  if (!flags.Parse(argc, argv, first, &code)) return code;
  if (!SetThreads(flags)) return kExitUsage;
  const std::string split_name = flags.GetString("split");
  if (split_name != "test" && split_name != "valid") {
    std::cerr << "error: --split must be test or valid, got \"" << split_name << "\"\n";
    return kExitUsage;
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
  if (flags.GetBool("json")) {
    Json j = MetricsJson(*m);
    j.Set("split", Json(split_name));
    j.Set("seed", Json(static_cast<int64_t>(e.seed)));
    std::cout << j.Dump() << "\n";
  } else {
    std::printf("%s: HR@10 %.4f NDCG@10 %.4f (%lld users)\n", split_name.c_str(), m->hr,
                m->ndcg, static_cast<long long>(m->users));
  }
  return kExitOk;
}

int RunExport(int argc, char** argv, int first) {
  FlagSet flags("sasrecllm export --sasrec DIR --out BUNDLE_DIR [--items items.tsv] [flags]",
                "Writes a serving bundle (manifest.json, catalog.tsv, sasrec.safetensors)\n"
                "from a pmixer-layout SASRec folder (config.json + model.safetensors), e.g.\n"
                "../shared/models/sasrec-pmixer-games or a train-sasrec output. The catalog\n"
                "lists items 1..item_num with the index as the external id and titles from\n"
                "--items (item_id<TAB>title) when given.");
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

  std::unordered_map<int64_t, std::string> titles;
  // Items the model never saw (ids beyond item_num, e.g. only in valid/test)
  // go into the catalog as cold items: index 0, known by title only.
  std::vector<model::CatalogEntry> cold;
  if (!flags.GetString("items").empty()) {
    StatusOr<std::vector<model::ItemTitle>> items = model::ReadItemsTsv(flags.GetString("items"));
    if (!items.ok()) return Fail(items.status());
    for (auto& item : *items) {
      if (item.item_id > config.item_num) {
        cold.push_back({0, std::to_string(item.item_id), std::move(item.title)});
        continue;
      }
      titles[item.item_id] = std::move(item.title);
    }
  }
  if (!cold.empty()) {
    std::cerr << "export: " << cold.size() << " item(s) of " << flags.GetString("items")
              << " are beyond the model's item_num " << config.item_num
              << ": cataloged as cold (title only)\n";
  }
  std::vector<model::CatalogEntry> entries;
  entries.reserve(config.item_num + cold.size());
  for (int64_t i = 1; i <= config.item_num; ++i) {
    auto it = titles.find(i);
    entries.push_back({i, std::to_string(i), it == titles.end() ? "" : it->second});
  }
  entries.insert(entries.end(), std::make_move_iterator(cold.begin()),
                 std::make_move_iterator(cold.end()));
  StatusOr<model::Catalog> catalog = model::Catalog::FromEntries(std::move(entries));
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
  Json extra = Json::Object();
  extra.Set("sasrec_source", Json(dir));
  if (!flags.GetString("items").empty()) extra.Set("items", Json(flags.GetString("items")));
  manifest.extra = extra;
  const std::string out = flags.GetString("out");
  if (Status s = model::WriteBundle(out, manifest, *catalog, *sasrec); !s.ok()) return Fail(s);
  std::cerr << "wrote bundle " << out << " (" << config.item_num << " items, "
            << titles.size() << " titles, model_version " << version << ")\n";
  return kExitOk;
}

}  // namespace sasrecllm::cli
