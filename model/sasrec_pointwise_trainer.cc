#include "model/sasrec_pointwise_trainer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>
#include <utility>

#include "base/file.h"
#include "base/text.h"
#include "model/sasrec_pointwise.h"
#include "model/sasrec_trainer.h"
#include "model/torch_errors.h"

namespace sasrecllm::model {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The training rows as tensors, built once: the shuffled batches of every
// epoch are index_select-ed from them.
struct TrainTensors {
  torch::Tensor seqs;    // [N, maxlen] int64, left-padded histories (0 = padding)
  torch::Tensor items;   // [N] int64, the candidate item_id
  torch::Tensor labels;  // [N] float32, 1 = liked
};

StatusOr<TrainTensors> MakeTrainTensors(const std::vector<CollmRow>& rows,
                                        const SasrecConfig& config) {
  const int64_t n = static_cast<int64_t>(rows.size());
  TrainTensors t;
  t.items = torch::empty({n}, torch::kInt64);
  t.labels = torch::empty({n}, torch::kFloat32);
  int64_t* items = t.items.data_ptr<int64_t>();
  float* labels = t.labels.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    const CollmRow& r = rows[i];
    if (r.item_id < 1 || r.item_id > config.item_num) {
      return InvalidArgumentError("training row " + std::to_string(i + 1) + " (line " +
                                  std::to_string(r.line) + "): item_id " +
                                  std::to_string(r.item_id) + " is outside the model's 1.." +
                                  std::to_string(config.item_num));
    }
    if (r.label != 0 && r.label != 1) {
      return InvalidArgumentError("training row " + std::to_string(i + 1) + " (line " +
                                  std::to_string(r.line) + "): label must be 0 or 1, got " +
                                  std::to_string(r.label));
    }
    items[i] = r.item_id;
    labels[i] = static_cast<float>(r.label);
  }
  t.seqs = CollmHistoryBatch(rows, 0, rows.size(), config);
  return t;
}

bool BothLabels(const std::vector<CollmRow>& rows) {
  bool pos = false, neg = false;
  for (const CollmRow& r : rows) (r.label != 0 ? pos : neg) = true;
  return pos && neg;
}

Json EpochJson(const PointwiseEpochRecord& r) {
  return {{"epoch", r.epoch},           {"loss", r.loss},
          {"seconds", r.seconds},       {"rows_per_s", r.rows_per_s},
          {"valid_seconds", r.valid_seconds}, {"valid", r.valid.ToJson()}};
}

StatusOr<PointwiseEpochRecord> EpochFromJson(const Json& j) {
  PointwiseEpochRecord r;
  SASRECLLM_ASSIGN_OR_RETURN(r.epoch, GetInt(j, "epoch"));
  SASRECLLM_ASSIGN_OR_RETURN(r.loss, GetDouble(j, "loss"));
  SASRECLLM_ASSIGN_OR_RETURN(r.seconds, GetDouble(j, "seconds"));
  SASRECLLM_ASSIGN_OR_RETURN(r.rows_per_s, GetDouble(j, "rows_per_s"));
  SASRECLLM_ASSIGN_OR_RETURN(r.valid_seconds, GetDouble(j, "valid_seconds"));
  SASRECLLM_ASSIGN_OR_RETURN(const Json* valid, GetObject(j, "valid"));
  SASRECLLM_ASSIGN_OR_RETURN(r.valid, PointwiseReport::FromJson(*valid));
  return r;
}

// What resume needs beyond the weights and the optimizer: the selection state.
struct SelectionState {
  int64_t best_epoch = 0;
  double best_auc = -1.0;
  int64_t epochs_since_best = 0;
};

Json StateJson(int64_t epoch, const SelectionState& sel, const PointwiseTrainResult& result) {
  Json history = Json::array();
  for (const PointwiseEpochRecord& r : result.history) history.push_back(EpochJson(r));
  return {{"epoch", epoch},
          {"best_epoch", sel.best_epoch},
          {"best_valid_auc", sel.best_auc},
          {"epochs_since_best", sel.epochs_since_best},
          {"history", std::move(history)}};
}

Json TrainLogJson(const PointwiseTrainResult& result, const PointwiseTrainOptions& o,
                  const SasrecConfig& config, int64_t train_rows, int64_t valid_rows,
                  bool initialised) {
  Json epochs = Json::array();
  for (const PointwiseEpochRecord& r : result.history) epochs.push_back(EpochJson(r));
  return {{"objective", "pointwise"},
          {"options",
           {{"max_epochs", o.max_epochs},
            {"batch_size", o.batch_size},
            {"lr", o.lr},
            {"weight_decay", o.weight_decay},
            {"patience", o.patience},
            {"seed", static_cast<int64_t>(o.seed)},
            {"threads", static_cast<int64_t>(torch::get_num_threads())},
            {"initialised_from_checkpoint", initialised}}},
          {"model", config.ToJson()},
          {"train_rows", train_rows},
          {"valid_rows", valid_rows},
          {"best_epoch", result.best_epoch},
          {"best_valid", result.best_valid.ToJson()},
          {"stopped_early", result.stopped_early},
          {"epochs", std::move(epochs)}};
}

Status CheckSameShape(const SasrecConfig& got, const SasrecConfig& want, const std::string& what) {
  if (got.item_num != want.item_num || got.maxlen != want.maxlen ||
      got.hidden_units != want.hidden_units || got.num_blocks != want.num_blocks ||
      got.num_heads != want.num_heads) {
    return InvalidArgumentError(what + " is " + DumpJson(got.ToJson()) +
                                ", the model to train is " + DumpJson(want.ToJson()) +
                                " (item_num, maxlen, hidden_units, num_blocks and num_heads "
                                "must match)");
  }
  return OkStatus();
}

// The initial model may know fewer items than the one to train (a next-item
// run's catalog is the items its training sequences hold, the point-wise
// one's every item of the split); everything else must match.
Status CheckInitialModel(const SasrecConfig& init, const SasrecConfig& want) {
  SasrecConfig same_items = init;
  if (init.item_num <= want.item_num) same_items.item_num = want.item_num;
  Status s = CheckSameShape(same_items, want, "the initial model");
  if (s.ok()) return s;
  return InvalidArgumentError(
      "the initial model is " + DumpJson(init.ToJson()) + ", the model to train is " +
      DumpJson(want.ToJson()) +
      " (maxlen, hidden_units, num_blocks and num_heads must match, and item_num may not be "
      "larger)");
}

// Copies `init`'s weights into `model`; when init knows fewer items, its item
// embeddings fill the first rows and the others keep their random init.
Status LoadInitialWeights(const Sasrec& init, Sasrec& model) {
  std::map<std::string, torch::Tensor> tensors = init->StateDict();
  torch::Tensor& emb = tensors.at("item_emb.weight");  // [init item_num + 1, d]
  if (emb.size(0) < model->config().item_num + 1) {
    torch::NoGradGuard no_grad;
    torch::Tensor full = model->ItemEmbeddings().detach().to(torch::kCPU).clone();  // [item_num + 1, d]
    full.narrow(0, 0, emb.size(0)).copy_(emb);
    emb = full;
  }
  return model->LoadStateDict(tensors);
}

}  // namespace

SasrecConfig CollmPointwiseSasrecConfig() {
  SasrecConfig c;
  c.maxlen = 25;
  c.hidden_units = 64;
  c.num_blocks = 2;
  c.num_heads = 1;
  c.dropout_rate = 0.2;
  return c;
}

Status PointwiseTrainOptions::Validate() const {
  auto at_least = [](const char* name, int64_t v, int64_t min) -> Status {
    if (v >= min) return OkStatus();
    return InvalidArgumentError(std::string(name) + " must be >= " + std::to_string(min) +
                                ", got " + std::to_string(v));
  };
  SASRECLLM_RETURN_IF_ERROR(at_least("max_epochs", max_epochs, 1));
  SASRECLLM_RETURN_IF_ERROR(at_least("batch_size", batch_size, 1));
  SASRECLLM_RETURN_IF_ERROR(at_least("patience", patience, 1));
  SASRECLLM_RETURN_IF_ERROR(at_least("eval_batch_size", eval_batch_size, 1));
  if (!(lr > 0)) return InvalidArgumentError("lr must be > 0");
  if (!(weight_decay >= 0)) return InvalidArgumentError("weight_decay must be >= 0");
  if (resume && out_dir.empty()) return InvalidArgumentError("resume needs out_dir");
  return OkStatus();
}

StatusOr<PointwiseTrainResult> TrainSasrecPointwise(const std::vector<CollmRow>& train,
                                                    const std::vector<CollmRow>& valid,
                                                    const SasrecConfig& config,
                                                    const PointwiseTrainOptions& options,
                                                    Sasrec init) {
  SASRECLLM_RETURN_IF_ERROR(options.Validate());
  SASRECLLM_RETURN_IF_ERROR(config.Validate());
  if (train.empty()) return InvalidArgumentError("no training rows");
  if (!BothLabels(valid)) {
    return InvalidArgumentError("the validation rows need both labels (AUC selects the model)");
  }
  if (init) SASRECLLM_RETURN_IF_ERROR(CheckInitialModel(init->config(), config));
  SASRECLLM_ASSIGN_OR_RETURN(TrainTensors data, MakeTrainTensors(train, config));
  const int64_t n = static_cast<int64_t>(train.size());

  auto log = [&](const std::string& line) {
    if (options.log != nullptr) *options.log << line << std::endl;
  };
  const std::string last_dir = options.out_dir.empty() ? "" : options.out_dir + "/last";
  Json extra = {{"objective", "pointwise"}};

  try {
    torch::manual_seed(options.seed);
    PointwiseTrainResult result;
    result.model = Sasrec(config);
    Sasrec& model = result.model;
    if (init) SASRECLLM_RETURN_IF_ERROR(LoadInitialWeights(init, model));
    model->to(options.device);
    // torch.optim.Adam's defaults (betas 0.9 / 0.999, eps 1e-8) with L2 decay.
    torch::optim::Adam optimizer(
        model->parameters(),
        torch::optim::AdamOptions(options.lr).weight_decay(options.weight_decay));

    int64_t start_epoch = 1;
    SelectionState sel;
    std::map<std::string, torch::Tensor> best_state;  // the best of this run, on the CPU
    if (options.resume && fs::exists(last_dir + "/state.json")) {
      const std::string state_path = last_dir + "/state.json";
      SASRECLLM_ASSIGN_OR_RETURN(Sasrec loaded, LoadSasrecCheckpoint(last_dir));
      Status same = CheckSameShape(loaded->config(), config, last_dir);
      if (!same.ok()) return FailedPreconditionError(same.message());
      SASRECLLM_RETURN_IF_ERROR(model->LoadStateDict(loaded->StateDict()));
      torch::load(optimizer, last_dir + "/optimizer.pt");
      SASRECLLM_ASSIGN_OR_RETURN(Json state, ReadJsonFile(state_path));
      auto field = [&](const char* key, int64_t* out) -> Status {
        StatusOr<int64_t> v = GetInt(state, key);
        if (!v.ok()) return v.status().WithPrefix(state_path);
        *out = *v;
        return OkStatus();
      };
      int64_t done = 0;
      SASRECLLM_RETURN_IF_ERROR(field("epoch", &done));
      SASRECLLM_RETURN_IF_ERROR(field("best_epoch", &sel.best_epoch));
      SASRECLLM_RETURN_IF_ERROR(field("epochs_since_best", &sel.epochs_since_best));
      StatusOr<double> best_auc = GetDouble(state, "best_valid_auc");
      if (!best_auc.ok()) return best_auc.status().WithPrefix(state_path);
      sel.best_auc = *best_auc;
      for (const Json& e : Member(state, "history")) {
        StatusOr<PointwiseEpochRecord> record = EpochFromJson(e);
        if (!record.ok()) return record.status().WithPrefix(state_path);
        result.history.push_back(*record);
        if (record->epoch == sel.best_epoch) result.best_valid = record->valid;
      }
      start_epoch = done + 1;
      log("resumed from " + last_dir + " after epoch " + std::to_string(done) +
          " (best valid AUC " + std::to_string(sel.best_auc) + " at epoch " +
          std::to_string(sel.best_epoch) + ")");
    } else if (options.resume) {
      log("nothing to resume in " + last_dir + "; starting fresh");
    }

    auto write_log = [&]() -> Status {
      if (options.out_dir.empty()) return OkStatus();
      const Json j = TrainLogJson(result, options, config, n, static_cast<int64_t>(valid.size()),
                                  static_cast<bool>(init));
      return WriteStringToFile(options.out_dir + "/train_log.json", DumpJson(j, 1) + "\n");
    };
    const torch::Device device = options.device;
    const int64_t steps = (n + options.batch_size - 1) / options.batch_size;
    const Clock::time_point run_start = Clock::now();
    int64_t epochs_this_run = 0;
    for (int64_t epoch = start_epoch; epoch <= options.max_epochs; ++epoch) {
      if (sel.epochs_since_best >= options.patience) break;
      // Epoch e's randomness comes from (seed, e) alone, so a resumed run
      // draws what an uninterrupted one would.
      torch::manual_seed(options.seed + 1000003ULL * epoch);
      std::vector<int64_t> order(n);
      std::iota(order.begin(), order.end(), 0);
      std::mt19937_64 rng(options.seed * 7919ULL + epoch);
      std::shuffle(order.begin(), order.end(), rng);
      const torch::Tensor perm = torch::tensor(order, torch::kInt64);  // [N]

      model->train();
      const Clock::time_point epoch_start = Clock::now();
      Clock::time_point last_log = epoch_start;
      double loss_sum = 0.0;
      for (int64_t step = 0; step < steps; ++step) {
        const int64_t begin = step * options.batch_size;
        const torch::Tensor idx = perm.slice(0, begin, std::min(n, begin + options.batch_size));
        torch::Tensor seqs = data.seqs.index_select(0, idx).to(device);      // [B, T]
        torch::Tensor items = data.items.index_select(0, idx).to(device);    // [B]
        torch::Tensor labels = data.labels.index_select(0, idx).to(device);  // [B]
        torch::Tensor logits = model->Predict(seqs, items.unsqueeze(1)).select(1, 0);  // [B]
        torch::Tensor loss = torch::binary_cross_entropy_with_logits(logits, labels);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        loss_sum += loss.item<double>();
        if (options.log != nullptr && SecondsSince(last_log) >= options.log_interval_s) {
          last_log = Clock::now();
          char buf[160];
          std::snprintf(buf, sizeof(buf), "epoch %lld [%lld/%lld] loss %.4f",
                        static_cast<long long>(epoch), static_cast<long long>(step + 1),
                        static_cast<long long>(steps), loss_sum / (step + 1));
          log(buf);
        }
      }
      PointwiseEpochRecord rec;
      rec.epoch = epoch;
      rec.loss = loss_sum / steps;
      rec.seconds = SecondsSince(epoch_start);
      rec.rows_per_s = n / rec.seconds;

      const Clock::time_point valid_start = Clock::now();
      SASRECLLM_ASSIGN_OR_RETURN(std::vector<float> scores,
                                 SasrecPointwiseScores(model, valid, options.eval_batch_size));
      SASRECLLM_ASSIGN_OR_RETURN(rec.valid, EvaluatePointwise(scores, valid));
      rec.valid_seconds = SecondsSince(valid_start);
      ++epochs_this_run;

      const bool best = rec.valid.all.auc > sel.best_auc;
      if (best) {
        sel.best_auc = rec.valid.all.auc;
        sel.best_epoch = epoch;
        sel.epochs_since_best = 0;
        result.best_valid = rec.valid;
        best_state.clear();
        for (const auto& [name, t] : model->StateDict()) best_state[name] = t.clone();
        if (!options.out_dir.empty()) {
          Json e = extra;
          e["epoch"] = epoch;
          e["valid_auc"] = rec.valid.all.auc;
          SASRECLLM_RETURN_IF_ERROR(SaveSasrecCheckpoint(options.out_dir, model, e));
        }
      } else {
        ++sel.epochs_since_best;
      }
      result.history.push_back(rec);
      {
        // Early stopping makes the end unknown: the line gives the time to
        // the patience limit if nothing improves, and to max_epochs.
        const double per_epoch = SecondsSince(run_start) / epochs_this_run;
        const int64_t to_max = options.max_epochs - epoch;
        const int64_t to_patience =
            std::min(to_max, options.patience - sel.epochs_since_best);
        char buf[320];
        std::snprintf(buf, sizeof(buf),
                      "epoch %lld: loss %.4f, %.1f s (%.0f rows/s); valid AUC %.4f UAUC %.4f "
                      "(warm %.4f, cold %.4f)%s; stops in %s without a better AUC, %s at most",
                      static_cast<long long>(epoch), rec.loss, rec.seconds, rec.rows_per_s,
                      rec.valid.all.auc, rec.valid.all.uauc, rec.valid.warm.auc,
                      rec.valid.cold.auc, best ? " (best)" : "",
                      FormatDuration(per_epoch * to_patience).c_str(),
                      FormatDuration(per_epoch * to_max).c_str());
        log(buf);
      }

      if (!options.out_dir.empty()) {
        Json e = extra;
        e["epoch"] = epoch;
        const Json state = StateJson(epoch, sel, result);
        SASRECLLM_RETURN_IF_ERROR(SaveSasrecResumePoint(last_dir, model, e, optimizer, state));
      }
      result.best_epoch = sel.best_epoch;
      SASRECLLM_RETURN_IF_ERROR(write_log());
    }
    result.best_epoch = sel.best_epoch;
    result.stopped_early = sel.epochs_since_best >= options.patience;
    if (result.stopped_early) {
      log("stopped: no better valid AUC in " + std::to_string(options.patience) +
          " epochs; best epoch " + std::to_string(sel.best_epoch));
    }
    if (!best_state.empty()) {
      SASRECLLM_RETURN_IF_ERROR(model->LoadStateDict(best_state));
    } else if (sel.best_epoch > 0 && !options.out_dir.empty()) {
      // The best epoch was in an earlier run of a resumed training.
      SASRECLLM_ASSIGN_OR_RETURN(Sasrec best, LoadSasrecCheckpoint(options.out_dir));
      SASRECLLM_RETURN_IF_ERROR(model->LoadStateDict(best->StateDict()));
    }
    SASRECLLM_RETURN_IF_ERROR(write_log());
    model->eval();
    return result;
  } catch (const std::exception& e) {
    return InternalError(std::string("SASRec point-wise training failed: ") +
                         TorchErrorMessage(e));
  }
}

}  // namespace sasrecllm::model
