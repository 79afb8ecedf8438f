// SASRec trained point-wise on labelled CoLLM rows, the way CoLLM trains its
// SASRec baseline (their baseline_train_sasrec.py):
//
//   - each row (user, item_id, label, history) is one example; its logit is
//     dot(user representation of `history` (the last maxlen known items,
//     left-padded with 0, as SasrecPointwiseScores), item embedding of item_id);
//   - loss: BCE with logits against the label, the mean over the batch;
//   - torch.optim.Adam(lr, betas (0.9, 0.999), weight_decay): the decay is L2
//     added to the gradient, not AdamW's decoupled decay;
//   - every epoch the rows are shuffled and cut into batches of batch_size (the
//     last one shorter); after each epoch the model is scored on the
//     validation rows and the best by AUC is kept; training stops after
//     `patience` epochs without a better validation AUC, or at max_epochs.
//     Selection reads validation only.
//
// Deterministic: for a fixed seed, thread count and device, two runs (and a
// run interrupted and resumed at any epoch) produce the same weights bit for
// bit. Epoch e's shuffle and dropout masks are drawn from seeds derived from
// (seed, e) alone, and batches are built on the training thread.
//
// Output folder (pmixer layout, so eval-sasrec --pointwise, export --sasrec and
// train-hybrid --sasrec read it as any SASRec checkpoint):
//   out/config.json, out/model.safetensors   best on validation AUC (config.json
//                                             also has epoch, valid_auc, objective)
//   out/train_log.json                        options and per-epoch loss, speed, valid metrics
//   out/last/{config.json, model.safetensors, optimizer.pt, state.json}
//                                             the latest epoch, for resume
//
//   PointwiseTrainOptions opts;  opts.out_dir = "run";
//   SASRECLLM_ASSIGN_OR_RETURN(PointwiseTrainResult r,
//                              TrainSasrecPointwise(train_rows, valid_rows, config, opts));
//
// Thread safety: TrainSasrecPointwise owns its model; call it from one thread.
#ifndef SASRECLLM_MODEL_SASREC_POINTWISE_TRAINER_H_
#define SASRECLLM_MODEL_SASREC_POINTWISE_TRAINER_H_

#include <torch/torch.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "base/auc.h"
#include "base/collm_split.h"
#include "base/status.h"
#include "model/sasrec.h"

namespace sasrecllm::model {

// CoLLM's recorded best run of its SASRec baseline: hidden 64, 2 blocks,
// 1 head, dropout 0.2, maxlen 25 (the rest: PointwiseTrainOptions' defaults).
// item_num is left 0 for the caller to set.
SasrecConfig CollmPointwiseSasrecConfig();

struct PointwiseTrainOptions {
  int64_t max_epochs = 1000;     // Default: 1000 (early stopping usually ends it first)
  int64_t batch_size = 2048;     // Default: 2048 rows per step
  double lr = 1e-2;              // Default: 0.01
  double weight_decay = 1e-2;    // Default: 0.01 (Adam's L2 on every parameter)
  int64_t patience = 100;        // Default: 100 epochs without a better valid AUC
  int64_t eval_batch_size = 4096;  // Default: 4096 rows per validation forward
  uint64_t seed = 42;            // Default: 42 (init, shuffles, dropout)
  std::string out_dir;           // Default: "" = write nothing
  bool resume = false;           // continue from out_dir/last when it exists
  torch::Device device = torch::kCPU;  // Default: CPU
  std::ostream* log = nullptr;   // progress lines; Default: none
  double log_interval_s = 10;    // Default: a progress line every 10 s within an epoch

  Status Validate() const;
};

struct PointwiseEpochRecord {
  int64_t epoch = 0;
  double loss = 0.0;      // mean training loss over the epoch's batches
  double seconds = 0.0;   // training only (validation excluded)
  double rows_per_s = 0.0;
  double valid_seconds = 0.0;
  PointwiseReport valid;  // all / warm / cold AUC and UAUC
};

struct PointwiseTrainResult {
  Sasrec model{nullptr};   // the best on validation AUC
  int64_t best_epoch = 0;
  PointwiseReport best_valid;
  bool stopped_early = false;  // patience ran out before max_epochs
  std::vector<PointwiseEpochRecord> history;
};

// Trains `config` (item_num >= every train item_id; ids beyond it in
// histories are dropped, as in scoring) on `train`, selecting on `valid`.
// `init`, when set, supplies the starting weights instead of the random
// initialisation (e.g. a next-item checkpoint); its config must match in
// maxlen, hidden_units, num_blocks and num_heads, and its item_num may be
// smaller (its item embeddings then fill the first rows; the items it does
// not know start random).
// INVALID_ARGUMENT for bad options, an empty split, a train row whose item_id
// or label is out of range, or a mismatched `init`; FAILED_PRECONDITION when a
// resume point was written for another model; INTERNAL for libtorch errors.
StatusOr<PointwiseTrainResult> TrainSasrecPointwise(const std::vector<CollmRow>& train,
                                                    const std::vector<CollmRow>& valid,
                                                    const SasrecConfig& config,
                                                    const PointwiseTrainOptions& options,
                                                    Sasrec init = nullptr);

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_SASREC_POINTWISE_TRAINER_H_
