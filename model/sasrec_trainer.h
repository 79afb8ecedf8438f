// SASRec training with the paper's protocol, as pmixer/SASRec.pytorch's main.py.
//
// Each step draws batch_size users (with >= 2 train items) from one of
// sampler_streams streams in turn, each stream drawing its users in passes,
// each user once per pass in a freshly shuffled order (SasrecWarpSampler); for
// a user, seq = the last maxlen train items before the final train item,
// left-padded with 0; pos = the next item at each position; neg = a random item
// in 1..item_num outside the user's train set wherever pos != 0. Loss: BCE with
// logits on pos (label 1) plus on neg (label 0), each averaged over positions
// with pos != 0, plus l2_emb * ||item_emb||. Adam(lr, betas 0.9/0.98). One
// epoch = num_users / batch_size steps. Batches are built on a sampler thread
// while the model trains.
//
// Output folder (pmixer layout, loadable by `sasrecllm export --sasrec`):
//   out/config.json, out/model.safetensors   best-on-validation model
//   out/train_log.json                        per-epoch loss, speed, metrics
//   out/last/{config.json, model.safetensors, optimizer.pt, state.json}
//                                             the latest epoch, for --resume
//
//   SasrecTrainOptions opts;  opts.out_dir = "run";  opts.epochs = 200;
//   SASRECLLM_ASSIGN_OR_RETURN(SasrecTrainResult r, TrainSasrec(split, config, opts));
//
// Data-parallel (options.data_parallel, model/distributed.h): batch_size
// stays the global batch, the sequences of one optimizer step over all ranks.
// Every rank's sampler draws the same global batch (same seed, same random
// draws) and keeps its ShardOf() rows; its loss is its rows' BCE sums over the
// global batch's count of targets, times world_size, so the all-reduced
// (averaged) gradient is the one-process gradient of that batch, and world_size
// ranks follow the one-process run up to float summation order -- exactly, when
// dropout is 0. With dropout, rank r > 0 draws its masks from seed + r (rank
// 0's are the one-process run's), so runs differ from the one-process one by
// dropout draws only; each world size is deterministic on its own. Rank 0
// alone evaluates, logs and writes out_dir; a resume (any world size: the files
// do not depend on it) is read by rank 0 and broadcast. The epoch loss is the
// global batch's; progress lines mid-epoch show rank 0's shard estimate.
// Requires batch_size >= world_size.
//
// Thread safety: TrainSasrec owns its model; call it from one thread.
#ifndef SASRECLLM_MODEL_SASREC_TRAINER_H_
#define SASRECLLM_MODEL_SASREC_TRAINER_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "model/distributed.h"
#include "model/interaction_data.h"
#include "model/sasrec.h"
#include "model/sasrec_eval.h"

namespace sasrecllm::model {

// ---------------------------------------------------------------------------
// The training sampler (pmixer's WarpSampler, one thread's worth).

struct SasrecBatch {
  torch::Tensor users;  // [B] int64
  torch::Tensor seq;    // [B, T] int64, left-padded with 0
  torch::Tensor pos;    // [B, T] int64, next item at each position, 0 = none
  torch::Tensor neg;    // [B, T] int64, a negative where pos != 0, else 0
  // Positions with pos != 0 over the whole batch drawn, also those of rows
  // outside a shard (Next(batch_size, rows)).
  int64_t targets = 0;
};

class SasrecBatchSampler {
 public:
  // `split` must outlive the sampler. Users with < 2 train items are never
  // drawn; the others are drawn in passes, each user once per pass in an
  // order shuffled anew for every pass (as pmixer's sampler does), so a
  // batch may straddle two passes. Precondition: at least one user has >= 2 train items.
  SasrecBatchSampler(const SplitData& split, int64_t maxlen, uint64_t seed);
  // Each user's train items, sorted and unique (index: user id), as the
  // samplers of one split share them; users with < 2 train items have none.
  using TrainItemSets = std::vector<std::vector<int64_t>>;
  static std::shared_ptr<const TrainItemSets> BuildTrainItemSets(const SplitData& split);
  // The same sampler with `train_sets` (BuildTrainItemSets(split)) shared.
  SasrecBatchSampler(const SplitData& split, int64_t maxlen, uint64_t seed,
                     std::shared_ptr<const TrainItemSets> train_sets);

  SasrecBatch Next(int64_t batch_size) { return Next(batch_size, {0, batch_size}); }
  // Draws a batch of batch_size users, exactly as Next(batch_size) (the same
  // random draws), and returns only its rows [rows.begin, rows.end): what
  // one rank of a data-parallel run trains on.
  SasrecBatch Next(int64_t batch_size, ShardRange rows);
  int64_t num_eligible_users() const { return static_cast<int64_t>(users_.size()); }

 private:
  const SplitData& split_;
  int64_t maxlen_;
  std::mt19937_64 rng_;
  std::vector<int64_t> users_;                    // eligible user ids, in this pass's order
  size_t next_user_ = 0;                          // users_[next_user_] is drawn next
  std::shared_ptr<const TrainItemSets> train_sets_;  // sorted unique train items per user
};

// pmixer's WarpSampler as a whole: it runs three worker processes, each
// drawing batches from its own user order, and the training loop takes their
// batches as they arrive. Here batch i comes from stream i % streams, each
// stream a SasrecBatchSampler with its own seed (stream 0: `seed` itself, so
// one stream draws exactly what a SasrecBatchSampler(seed) draws). Over
// num_users / batch_size batches (one epoch) a user is then drawn between 0
// and `streams` times instead of exactly once; that is what makes pmixer's
// first epochs reach a lower loss (README, SASRec training). Deterministic
// for a seed. Precondition: streams >= 1.
class SasrecWarpSampler {
 public:
  SasrecWarpSampler(const SplitData& split, int64_t maxlen, uint64_t seed, int64_t streams);

  SasrecBatch Next(int64_t batch_size) { return Next(batch_size, {0, batch_size}); }
  // The next stream's Next(batch_size, rows).
  SasrecBatch Next(int64_t batch_size, ShardRange rows);

 private:
  std::vector<std::unique_ptr<SasrecBatchSampler>> streams_;
  size_t next_stream_ = 0;  // streams_[next_stream_] draws the next batch
};

// ---------------------------------------------------------------------------
// Training

struct SasrecTrainOptions {
  int64_t epochs = 200;        // Default: 200
  int64_t batch_size = 128;    // Default: 128
  double lr = 0.001;           // Default: 0.001
  double l2_emb = 0.0;         // Default: 0
  uint64_t seed = 42;          // Default: 42
  int64_t eval_every = 20;     // Default: 20 epochs (0 = only after the last epoch)
  int64_t eval_users = 0;      // Default: 0 = all users (see EvalOptions::max_users)
  std::string out_dir;         // Default: "" = write nothing
  bool resume = false;         // continue from out_dir/last
  int64_t prefetch = 8;        // batches queued by the sampler thread; Default: 8
  // Batches come from this many samplers in turn, each with its own seed and
  // user order (pmixer's WarpSampler: 3 worker processes). 1 = every user
  // exactly once per epoch. Default: 3
  int64_t sampler_streams = 3;
  torch::Device device = torch::kCPU;  // where the model trains; Default: CPU
  std::ostream* log = nullptr; // progress lines; Default: none (rank 0's only when data-parallel)
  // Trains data-parallel with the other ranks of this group (see above); must
  // outlive the call. Default: nullptr = one process
  DataParallel* data_parallel = nullptr;
  double log_interval_s = 10;  // Default: a progress line every 10 s

  Status Validate() const;
};

struct EpochRecord {
  int64_t epoch = 0;
  double loss = 0.0;       // mean training loss over the epoch
  double seconds = 0.0;
  double seq_per_s = 0.0;  // training sequences per second
  bool evaluated = false;
  RankMetrics valid, test;
};

// Data-parallel: rank 0's result as in one process; the other ranks' holds
// the last epoch's model, no metrics, and history with the epochs' losses.
struct SasrecTrainResult {
  Sasrec model{nullptr};   // the best-on-validation model (the last when never evaluated)
  int64_t best_epoch = 0;  // 0 when never evaluated
  RankMetrics best_valid;
  RankMetrics test_at_best;
  std::vector<EpochRecord> history;
};

StatusOr<SasrecTrainResult> TrainSasrec(const SplitData& split, const SasrecConfig& config,
                                        const SasrecTrainOptions& options);

// ---------------------------------------------------------------------------
// Checkpoints in pmixer layout (config.json + model.safetensors).

// `extra` members are added to config.json (e.g. "user_num").
Status SaveSasrecCheckpoint(const std::string& dir, Sasrec model, const Json& extra);
// A resume point: dir/{config.json, model.safetensors, optimizer.pt,
// state.json (`state`, dumped)}, written as one (base/file.h
// ReplaceFolderAtomically): a failed save, e.g. on a full disk, leaves the
// previous one. DATA_LOSS naming optimizer.pt when libtorch cannot write it.
Status SaveSasrecResumePoint(const std::string& dir, Sasrec model, const Json& extra,
                             torch::optim::Optimizer& optimizer, const Json& state);
// Reads dir/config.json and dir/model.safetensors; errors name the file.
StatusOr<Sasrec> LoadSasrecCheckpoint(const std::string& dir);

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_SASREC_TRAINER_H_
