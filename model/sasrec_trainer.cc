#include "model/sasrec_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "base/file.h"
#include "base/text.h"
#include "model/distributed.h"
#include "model/safetensors.h"
#include "model/torch_errors.h"

namespace sasrecllm::model {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A bounded queue filled by one sampler thread for one epoch.
class BatchPrefetcher {
 public:
  // Batches of batch_size users, of which `rows` are kept (all of them in
  // one process; a rank's shard when data-parallel).
  BatchPrefetcher(const SplitData& split, int64_t maxlen, uint64_t seed, int64_t streams,
                  int64_t batch_size, ShardRange rows, int64_t num_batches, int64_t capacity)
      : sampler_(split, maxlen, seed, streams), capacity_(std::max<int64_t>(capacity, 1)) {
    thread_ = std::thread([this, batch_size, rows, num_batches] {
      for (int64_t i = 0; i < num_batches; ++i) {
        SasrecBatch batch = sampler_.Next(batch_size, rows);
        std::unique_lock<std::mutex> lock(mu_);
        not_full_.wait(lock, [&] { return stop_ || static_cast<int64_t>(queue_.size()) < capacity_; });
        if (stop_) return;
        queue_.push_back(std::move(batch));
        not_empty_.notify_one();
      }
    });
  }
  ~BatchPrefetcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    not_full_.notify_all();
    thread_.join();
  }

  SasrecBatch Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [&] { return !queue_.empty(); });
    SasrecBatch batch = std::move(queue_.front());
    queue_.pop_front();
    not_full_.notify_one();
    return batch;
  }

 private:
  SasrecWarpSampler sampler_;  // used by thread_ only
  const int64_t capacity_;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<SasrecBatch> queue_;  // GUARDED_BY(mu_)
  bool stop_ = false;              // GUARDED_BY(mu_)
  std::thread thread_;
};

Json MetricsJson(const RankMetrics& m) {
  return {{"hr@10", m.hr}, {"ndcg@10", m.ndcg}, {"users", m.users}};
}

StatusOr<RankMetrics> MetricsFromJson(const Json& j) {
  RankMetrics m;
  SASRECLLM_ASSIGN_OR_RETURN(m.hr, GetDoubleOr(j, "hr@10", m.hr));
  SASRECLLM_ASSIGN_OR_RETURN(m.ndcg, GetDoubleOr(j, "ndcg@10", m.ndcg));
  SASRECLLM_ASSIGN_OR_RETURN(m.users, GetIntOr(j, "users", m.users));
  return m;
}

Json EpochJson(const EpochRecord& r) {
  Json j = {{"epoch", r.epoch}, {"loss", r.loss}, {"seconds", r.seconds}, {"seq_per_s", r.seq_per_s}};
  if (r.evaluated) {
    j["valid"] = MetricsJson(r.valid);
    j["test"] = MetricsJson(r.test);
  }
  return j;
}

StatusOr<EpochRecord> EpochFromJson(const Json& j) {
  EpochRecord r;
  SASRECLLM_ASSIGN_OR_RETURN(r.epoch, GetInt(j, "epoch"));
  SASRECLLM_ASSIGN_OR_RETURN(r.loss, GetDouble(j, "loss"));
  SASRECLLM_ASSIGN_OR_RETURN(r.seconds, GetDouble(j, "seconds"));
  SASRECLLM_ASSIGN_OR_RETURN(r.seq_per_s, GetDouble(j, "seq_per_s"));
  if (const Json* v = FindKey(j, "valid")) {
    r.evaluated = true;
    SASRECLLM_ASSIGN_OR_RETURN(r.valid, MetricsFromJson(*v));
    SASRECLLM_ASSIGN_OR_RETURN(r.test, MetricsFromJson(Member(j, "test")));
  }
  return r;
}

// best_epoch, best_valid, test_at_best, then the per-epoch records under
// `history_key`: what train_log.json and last/state.json share.
void AddProgressJson(const SasrecTrainResult& result, const char* history_key, Json* j) {
  (*j)["best_epoch"] = result.best_epoch;
  (*j)["best_valid"] = MetricsJson(result.best_valid);
  (*j)["test_at_best"] = MetricsJson(result.test_at_best);
  Json history = Json::array();
  for (const EpochRecord& r : result.history) history.push_back(EpochJson(r));
  (*j)[history_key] = std::move(history);
}

Json TrainLogJson(const SasrecTrainResult& result, const SasrecTrainOptions& options,
                  const SplitData& split) {
  Json j = {{"options",
             {{"epochs", options.epochs},
              {"batch_size", options.batch_size},
              {"lr", options.lr},
              {"l2_emb", options.l2_emb},
              {"seed", static_cast<int64_t>(options.seed)},
              {"sampler_streams", options.sampler_streams},
              {"eval_every", options.eval_every},
              {"eval_users", options.eval_users},
              {"threads", static_cast<int64_t>(torch::get_num_threads())}}},
            {"user_num", split.user_num},
            {"item_num", split.item_num}};
  if (options.data_parallel != nullptr) {
    j["options"]["world_size"] = options.data_parallel->world_size();  // the log only: not the checkpoint
  }
  AddProgressJson(result, "epochs", &j);
  return j;
}

torch::Tensor FindItemEmbeddingParameter(Sasrec& model) {
  for (const auto& item : model->named_parameters()) {
    if (item.key().find("item_emb") != std::string::npos) return item.value();
  }
  return model->ItemEmbeddings();
}

}  // namespace

// ---------------------------------------------------------------------------
// Sampler

std::shared_ptr<const SasrecBatchSampler::TrainItemSets> SasrecBatchSampler::BuildTrainItemSets(
    const SplitData& split) {
  auto sets = std::make_shared<TrainItemSets>(split.user_num + 1);
  for (int64_t u = 1; u <= split.user_num; ++u) {
    const auto& train = split.train[u];
    if (train.size() < 2) continue;
    auto& set = (*sets)[u];
    set.assign(train.begin(), train.end());
    std::sort(set.begin(), set.end());
    set.erase(std::unique(set.begin(), set.end()), set.end());
  }
  return sets;
}

SasrecBatchSampler::SasrecBatchSampler(const SplitData& split, int64_t maxlen, uint64_t seed)
    : SasrecBatchSampler(split, maxlen, seed, BuildTrainItemSets(split)) {}

SasrecBatchSampler::SasrecBatchSampler(const SplitData& split, int64_t maxlen, uint64_t seed,
                                       std::shared_ptr<const TrainItemSets> train_sets)
    : split_(split), maxlen_(maxlen), rng_(seed), train_sets_(std::move(train_sets)) {
  // Eligible users are those with a train-item set (>= 2 train items).
  for (int64_t u = 1; u <= split.user_num; ++u) {
    if (!(*train_sets_)[u].empty()) users_.push_back(u);
  }
  std::shuffle(users_.begin(), users_.end(), rng_);
}

SasrecBatch SasrecBatchSampler::Next(int64_t batch_size, ShardRange rows) {
  const int64_t t_len = maxlen_;
  const int64_t kept = rows.size();
  SasrecBatch b;
  b.users = torch::empty({kept}, torch::kInt64);
  b.seq = torch::zeros({kept, t_len}, torch::kInt64);
  b.pos = torch::zeros({kept, t_len}, torch::kInt64);
  b.neg = torch::zeros({kept, t_len}, torch::kInt64);
  int64_t* users = b.users.data_ptr<int64_t>();
  int64_t* seq = b.seq.data_ptr<int64_t>();
  int64_t* pos = b.pos.data_ptr<int64_t>();
  int64_t* neg = b.neg.data_ptr<int64_t>();
  std::uniform_int_distribution<int64_t> pick_item(1, split_.item_num);
  for (int64_t i = 0; i < batch_size; ++i) {
    // pmixer's sampler: users in a shuffled order, each once per pass, the
    // order shuffled again at the start of every pass.
    if (next_user_ == users_.size()) {
      std::shuffle(users_.begin(), users_.end(), rng_);
      next_user_ = 0;
    }
    const int64_t u = users_[next_user_++];
    // Rows outside `rows` draw the same random numbers, unwritten.
    const bool kept_row = i >= rows.begin && i < rows.end;
    const int64_t row = i - rows.begin;
    if (kept_row) users[row] = u;
    const auto& train = split_.train[u];
    const auto& set = (*train_sets_)[u];
    int64_t nxt = train.back();
    int64_t idx = t_len - 1;
    for (auto it = train.rbegin() + 1; it != train.rend() && idx >= 0; ++it, --idx) {
      int64_t t = pick_item(rng_);
      while (std::binary_search(set.begin(), set.end(), t)) t = pick_item(rng_);
      ++b.targets;  // pos = nxt >= 1 here
      if (kept_row) {
        const int64_t off = row * t_len + idx;
        seq[off] = *it;
        pos[off] = nxt;
        neg[off] = t;
      }
      nxt = *it;
    }
  }
  return b;
}

SasrecWarpSampler::SasrecWarpSampler(const SplitData& split, int64_t maxlen, uint64_t seed,
                                     int64_t streams) {
  const auto train_sets = SasrecBatchSampler::BuildTrainItemSets(split);
  for (int64_t i = 0; i < std::max<int64_t>(streams, 1); ++i) {
    streams_.push_back(std::make_unique<SasrecBatchSampler>(split, maxlen, seed + 104729ULL * i,
                                                            train_sets));
  }
}

SasrecBatch SasrecWarpSampler::Next(int64_t batch_size, ShardRange rows) {
  SasrecBatchSampler& stream = *streams_[next_stream_];
  next_stream_ = (next_stream_ + 1) % streams_.size();
  return stream.Next(batch_size, rows);
}

// ---------------------------------------------------------------------------
// Checkpoints

Status SaveSasrecCheckpoint(const std::string& dir, Sasrec model, const Json& extra) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return InternalError(dir + ": cannot create folder: " + ec.message());
  Json config = model->config().ToJson();
  if (extra.is_object()) {
    for (const auto& [k, v] : extra.items()) config[k] = v;
  }
  SASRECLLM_RETURN_IF_ERROR(WriteStringToFile(dir + "/config.json", DumpJson(config, 1) + "\n"));
  return WriteSafetensors(dir + "/model.safetensors", model->StateDict(),
                          {{"source", "sasrecllm train-sasrec"}});
}

Status SaveSasrecResumePoint(const std::string& dir, Sasrec model, const Json& extra,
                             torch::optim::Optimizer& optimizer, const Json& state) {
  return ReplaceFolderAtomically(dir, [&](const std::string& staging) -> Status {
    SASRECLLM_RETURN_IF_ERROR(SaveSasrecCheckpoint(staging, model, extra));
    try {
      torch::save(optimizer, staging + "/optimizer.pt");
    } catch (const std::exception& ex) {
      return DataLossError(dir + "/optimizer.pt: " + TorchErrorMessage(ex));
    }
    return WriteStringToFile(staging + "/state.json", DumpJson(state, 1) + "\n");
  });
}

StatusOr<Sasrec> LoadSasrecCheckpoint(const std::string& dir) {
  const std::string config_path = dir + "/config.json";
  SASRECLLM_ASSIGN_OR_RETURN(Json json, ReadJsonFile(config_path));
  StatusOr<SasrecConfig> config = SasrecConfig::FromJson(json);
  if (!config.ok()) return config.status().WithPrefix(config_path);
  SASRECLLM_RETURN_IF_ERROR(config->Validate().WithPrefix(config_path));
  const std::string weights_path = dir + "/model.safetensors";
  auto tensors = ReadSafetensors(weights_path);
  if (!tensors.ok()) return tensors.status();
  Sasrec model(*config);
  SASRECLLM_RETURN_IF_ERROR(model->LoadStateDict(*tensors).WithPrefix(weights_path));
  model->eval();
  return model;
}

// ---------------------------------------------------------------------------
// Training

Status SasrecTrainOptions::Validate() const {
  if (epochs < 0) return InvalidArgumentError("epochs must be >= 0, got " + std::to_string(epochs));
  if (batch_size < 1) {
    return InvalidArgumentError("batch_size must be >= 1, got " + std::to_string(batch_size));
  }
  if (!(lr > 0)) return InvalidArgumentError("lr must be > 0");
  if (l2_emb < 0) return InvalidArgumentError("l2_emb must be >= 0");
  if (eval_every < 0) return InvalidArgumentError("eval_every must be >= 0");
  if (sampler_streams < 1) {
    return InvalidArgumentError("sampler_streams must be >= 1, got " +
                                std::to_string(sampler_streams));
  }
  if (resume && out_dir.empty()) return InvalidArgumentError("resume needs out_dir");
  if (data_parallel != nullptr && batch_size < data_parallel->world_size()) {
    return InvalidArgumentError("batch_size " + std::to_string(batch_size) + " < world size " +
                                std::to_string(data_parallel->world_size()) +
                                ": every rank needs at least one sequence per step");
  }
  return OkStatus();
}

StatusOr<SasrecTrainResult> TrainSasrec(const SplitData& split, const SasrecConfig& config_in,
                                        const SasrecTrainOptions& options) {
  SASRECLLM_RETURN_IF_ERROR(options.Validate());
  SasrecConfig config = config_in;
  if (config.item_num == 0) config.item_num = split.item_num;
  if (config.item_num < split.item_num) {
    return InvalidArgumentError("config item_num " + std::to_string(config.item_num) +
                                " < data item_num " + std::to_string(split.item_num));
  }
  SASRECLLM_RETURN_IF_ERROR(config.Validate());
  int64_t eligible = 0;
  for (int64_t u = 1; u <= split.user_num; ++u) eligible += split.train[u].size() >= 2 ? 1 : 0;
  if (eligible == 0) return FailedPreconditionError("no user has >= 2 training items");

  // Data-parallel: rank 0 alone reads the resume point, evaluates, logs and
  // writes; `root` is true in one process.
  DataParallel* const dp = options.data_parallel;
  const bool root = dp == nullptr || dp->IsRankZero();
  const int64_t world = dp == nullptr ? 1 : dp->world_size();
  const int64_t rank = dp == nullptr ? 0 : dp->rank();
  const bool writes = root && !options.out_dir.empty();
  auto log = [&](const std::string& line) {
    if (root && options.log != nullptr) *options.log << line << std::endl;
  };
  const std::string last_dir = options.out_dir.empty() ? "" : options.out_dir + "/last";
  Json extra = Json::object();
  extra["user_num"] = split.user_num;

  try {
    torch::manual_seed(options.seed);
    SasrecTrainResult result;
    result.model = Sasrec(config);
    Sasrec& model = result.model;
    model->to(options.device);
    torch::optim::Adam optimizer(
        model->parameters(),
        torch::optim::AdamOptions(options.lr).betas(std::make_tuple(0.9, 0.98)));
    int64_t start_epoch = 1;
    double best_ndcg = -1.0;
    std::map<std::string, torch::Tensor> best_state;  // kept when evaluated this run

    if (root && options.resume && fs::exists(last_dir + "/state.json")) {
      SASRECLLM_ASSIGN_OR_RETURN(Sasrec loaded, LoadSasrecCheckpoint(last_dir));
      if (loaded->config().item_num != config.item_num ||
          loaded->config().hidden_units != config.hidden_units ||
          loaded->config().maxlen != config.maxlen ||
          loaded->config().num_blocks != config.num_blocks) {
        return FailedPreconditionError(last_dir +
                                       ": checkpoint config differs from the requested model");
      }
      SASRECLLM_RETURN_IF_ERROR(model->LoadStateDict(loaded->StateDict()));
      torch::load(optimizer, last_dir + "/optimizer.pt");
      SASRECLLM_ASSIGN_OR_RETURN(Json state, ReadJsonFile(last_dir + "/state.json"));
      const std::string state_path = last_dir + "/state.json";
      SASRECLLM_ASSIGN_OR_RETURN(start_epoch, GetInt(state, "epoch"));
      ++start_epoch;
      SASRECLLM_ASSIGN_OR_RETURN(result.best_epoch, GetInt(state, "best_epoch"));
      SASRECLLM_ASSIGN_OR_RETURN(result.best_valid, MetricsFromJson(Member(state, "best_valid")));
      SASRECLLM_ASSIGN_OR_RETURN(result.test_at_best,
                                 MetricsFromJson(Member(state, "test_at_best")));
      if (result.best_epoch > 0) best_ndcg = result.best_valid.ndcg;
      for (const Json& e : Member(state, "history")) {
        StatusOr<EpochRecord> record = EpochFromJson(e);
        if (!record.ok()) return record.status().WithPrefix(state_path);
        result.history.push_back(*record);
      }
      log("resumed from " + last_dir + " after epoch " + std::to_string(start_epoch - 1));
    } else if (options.resume) {
      log("nothing to resume in " + last_dir + "; starting fresh");
    }
    if (dp != nullptr) {
      // Every rank starts where rank 0 does: its weights, its optimizer
      // state when it resumed, and the epoch.
      std::string start = std::to_string(start_epoch);
      SASRECLLM_RETURN_IF_ERROR(dp->BroadcastString(&start));
      start_epoch = std::stoll(start);
      SASRECLLM_RETURN_IF_ERROR(dp->BroadcastParameters(model->parameters()));
      if (start_epoch > 1) SASRECLLM_RETURN_IF_ERROR(dp->BroadcastOptimizer(optimizer));
    }

    const int64_t steps = std::max<int64_t>(1, split.user_num / options.batch_size);
    const torch::Tensor item_emb = FindItemEmbeddingParameter(model);
    const Clock::time_point run_start = Clock::now();
    int64_t epochs_done_this_run = 0;
    for (int64_t epoch = start_epoch; epoch <= options.epochs; ++epoch) {
      // Dropout: rank 0 draws the one-process run's masks, rank r another seed.
      torch::manual_seed(options.seed + 1000003ULL * epoch + 7919ULL * rank);
      model->train();
      const ShardRange rows = dp == nullptr ? ShardRange{0, options.batch_size}
                                            : ShardOf(options.batch_size, rank, world);
      BatchPrefetcher prefetch(split, config.maxlen, options.seed * 7919ULL + epoch,
                               options.sampler_streams, options.batch_size, rows, steps,
                               options.prefetch);
      const Clock::time_point epoch_start = Clock::now();
      Clock::time_point last_log = epoch_start;
      double loss_sum = 0.0;        // this rank's losses (the global batch's in one process)
      double global_loss_sum = 0.0; // this rank's share of the global batches' losses
      for (int64_t step = 1; step <= steps; ++step) {
        SasrecBatch b = prefetch.Pop();
        const torch::Device device = item_emb.device();
        torch::Tensor seq = b.seq.to(device), pos = b.pos.to(device), neg = b.neg.to(device);
        auto [pos_logits, neg_logits] = model->forward(seq, pos, neg);  // [B, T] each
        torch::Tensor mask = pos.ne(0).to(pos_logits.scalar_type());    // [B, T]
        // One process: the batch's target count. Data-parallel: the global
        // batch's, and the loss times world size, so that the averaged
        // gradient is the global batch's.
        torch::Tensor count = mask.sum();
        if (dp != nullptr) count = torch::full({}, static_cast<double>(b.targets) / world, mask.options());
        // BCE(x, 1) = softplus(-x); BCE(x, 0) = softplus(x).
        torch::Tensor loss = (torch::softplus(-pos_logits) * mask).sum() / count +
                             (torch::softplus(neg_logits) * mask).sum() / count;
        if (options.l2_emb > 0) loss = loss + options.l2_emb * item_emb.norm();
        optimizer.zero_grad();
        loss.backward();
        if (dp != nullptr) SASRECLLM_RETURN_IF_ERROR(dp->AllReduceGradients(model->parameters()));
        optimizer.step();
        loss_sum += loss.item<double>();
        global_loss_sum += loss.item<double>() / world;

        if (options.log != nullptr && SecondsSince(last_log) >= options.log_interval_s) {
          last_log = Clock::now();
          const double el = SecondsSince(epoch_start);
          const double sps = step * options.batch_size / el;
          const double per_epoch = el / step * steps;
          const double remaining =
              per_epoch * (options.epochs - epoch) + (steps - step) * (el / step);
          char buf[256];
          std::snprintf(buf, sizeof(buf),
                        "epoch %lld/%lld [%lld/%lld] loss %.4f %.0f seq/s ETA %s",
                        static_cast<long long>(epoch), static_cast<long long>(options.epochs),
                        static_cast<long long>(step), static_cast<long long>(steps),
                        loss_sum / step, sps, FormatDuration(remaining).c_str());
          log(buf);
        }
      }
      if (dp != nullptr) {
        torch::Tensor total = torch::full({1}, global_loss_sum, torch::kFloat64).to(item_emb.device());
        SASRECLLM_RETURN_IF_ERROR(dp->AllReduceSum(total));
        loss_sum = total.item<double>();
      }
      EpochRecord rec;
      rec.epoch = epoch;
      rec.loss = loss_sum / steps;
      rec.seconds = SecondsSince(epoch_start);
      rec.seq_per_s = steps * options.batch_size / rec.seconds;
      ++epochs_done_this_run;

      const bool eval_now = root && ((options.eval_every > 0 && epoch % options.eval_every == 0) ||
                                     epoch == options.epochs);
      if (eval_now) {
        const Clock::time_point eval_start = Clock::now();
        EvalOptions eo;
        eo.max_users = options.eval_users;
        eo.seed = options.seed;
        eo.split = EvalSplit::kValid;
        SASRECLLM_ASSIGN_OR_RETURN(rec.valid, EvaluateSasrec(model, split, eo));
        eo.split = EvalSplit::kTest;
        SASRECLLM_ASSIGN_OR_RETURN(rec.test, EvaluateSasrec(model, split, eo));
        rec.evaluated = true;
        const bool best = rec.valid.ndcg > best_ndcg;
        if (best) {
          best_ndcg = rec.valid.ndcg;
          result.best_epoch = epoch;
          result.best_valid = rec.valid;
          result.test_at_best = rec.test;
          best_state.clear();
          for (const auto& [name, t] : model->StateDict()) best_state[name] = t.clone();
          if (writes) {
            Json e = extra;
            e["epoch"] = epoch;
            SASRECLLM_RETURN_IF_ERROR(SaveSasrecCheckpoint(options.out_dir, model, e));
          }
        }
        char buf[256];
        std::snprintf(buf, sizeof(buf),
                      "epoch %lld eval (%.1f s): valid HR@10 %.4f NDCG@10 %.4f | test HR@10 "
                      "%.4f NDCG@10 %.4f%s",
                      static_cast<long long>(epoch), SecondsSince(eval_start), rec.valid.hr,
                      rec.valid.ndcg, rec.test.hr, rec.test.ndcg, best ? " (best)" : "");
        log(buf);
      }
      result.history.push_back(rec);
      {
        const double el = SecondsSince(run_start);
        const double remaining = el / epochs_done_this_run * (options.epochs - epoch);
        char buf[256];
        std::snprintf(buf, sizeof(buf), "epoch %lld/%lld done: loss %.4f, %.1f s, %.0f seq/s, ETA %s",
                      static_cast<long long>(epoch), static_cast<long long>(options.epochs),
                      rec.loss, rec.seconds, rec.seq_per_s, FormatDuration(remaining).c_str());
        log(buf);
      }

      if (writes) {
        Json e = extra;
        e["epoch"] = epoch;
        Json state = {{"epoch", epoch}};
        AddProgressJson(result, "history", &state);
        // The resume point as a whole: weights, optimizer and state.json
        // agree, and a failed save (a full disk) leaves the previous one.
        SASRECLLM_RETURN_IF_ERROR(SaveSasrecResumePoint(last_dir, model, e, optimizer, state));
        SASRECLLM_RETURN_IF_ERROR(WriteStringToFile(
            options.out_dir + "/train_log.json", DumpJson(TrainLogJson(result, options, split), 1) + "\n"));
      }
    }
    if (!best_state.empty()) {
      SASRECLLM_RETURN_IF_ERROR(model->LoadStateDict(best_state));
    } else if (result.best_epoch > 0 && writes) {
      SASRECLLM_ASSIGN_OR_RETURN(result.model, LoadSasrecCheckpoint(options.out_dir));
    } else if (result.best_epoch == 0 && writes) {
      SASRECLLM_RETURN_IF_ERROR(SaveSasrecCheckpoint(options.out_dir, model, extra));
    }
    // No rank returns before rank 0's files are written (a caller may read them).
    if (dp != nullptr) SASRECLLM_RETURN_IF_ERROR(dp->Barrier());
    result.model->eval();
    return result;
  } catch (const std::exception& e) {
    return InternalError(std::string("SASRec training failed: ") + TorchErrorMessage(e));
  }
}

}  // namespace sasrecllm::model
