// Training SASRecLLM: the three strategies of DESIGN.md section 1 as
// sequences of stages, each training some of {LoRA, mapping layer, SASRec}
// with AdamW, linear warm-up + cosine decay, gradient clipping, and early
// stopping on validation AUC. Every evaluation writes a resumable
// checkpoint; the best one of each stage is what the next stage starts from.
//
//   two-stage               1. "text-lora": LoRA on the text-only (TALLRec) prompt
//                           2. "mapping":   mapping layer on the full prompt
//                              (LoRA and SASRec frozen)
//   two-stage-tune-encoder  1. as above    2. "mapping+sasrec": mapping and SASRec
//   joint                   1. "joint":     LoRA and mapping together, SASRec frozen
//
// Deterministic: for a fixed seed, thread count and device, two runs (and a
// run stopped anywhere and resumed) produce the same weights bit for bit: the
// subsets, each epoch's order and each step's dropout come from seeds derived
// from (seed, epoch) and (seed, step) alone.
//
// Layout of options.out_dir:
//   STAGE/best/    hybrid checkpoint (hybrid_checkpoint.h) of the stage's best valid AUC
//   STAGE/last/    the latest evaluation's (or max_steps_this_run's stop's) checkpoint
//                  + optimizer.pt; STAGE/state.json where to resume
//   final -> the last stage's best/ (a copy named final/)
//   log.jsonl      one line per evaluation
//
//   HybridTrainOptions options;  options.out_dir = "runs/joint";
//   SASRECLLM_ASSIGN_OR_RETURN(HybridTrainResult r,
//       TrainHybrid(Strategy::kJoint, base_parts, train, valid, options));
//
// Data-parallel (options.data_parallel, model/distributed.h): batch_size is
// the global batch. Every rank builds the same epoch order and keeps its
// ShardOf() rows of each batch; its loss is its rows' BCE sum over the global
// batch's size, times world_size, so the all-reduced (averaged) gradient, then
// clipped, is the one-process one, and with LoRA dropout 0 world_size ranks
// follow the one-process run up to float summation order. With dropout, rank r
// > 0 draws its masks from a seed of (seed, step, r) (rank 0's are the
// one-process run's): each world size is deterministic, and differs from one
// process by dropout draws only. Each rank holds the whole data set and the
// whole LLM. Rank 0 alone validates, logs, writes out_dir and reads a resume
// point, then broadcasts the trained parts, the optimizer and where to
// continue; early stopping is its decision, broadcast. Checkpoints do not
// depend on the world size: a run resumes at any.
//
// Thread safety: one training run at a time per model and out_dir.
#ifndef SASRECLLM_MODEL_HYBRID_HYBRID_TRAINER_H_
#define SASRECLLM_MODEL_HYBRID_HYBRID_TRAINER_H_

#include <functional>
#include <string>
#include <vector>

#include "model/distributed.h"
#include "model/hybrid/hybrid_model.h"
#include "base/json.h"
#include "base/status.h"

namespace sasrecllm::hybrid {

enum class Strategy { kTwoStage, kTwoStageTuneEncoder, kJoint };
StatusOr<Strategy> ParseStrategy(const std::string& name);
std::string StrategyName(Strategy strategy);

// What one stage trains, and with which prompt.
struct StageSpec {
  std::string name;        // "text-lora", "mapping", "mapping+sasrec", "joint"
  bool text_only = false;  // the TALLRec template (no slots)
  bool train_lora = false;
  bool train_mapping = false;
  bool train_sasrec = false;
};
std::vector<StageSpec> StagesOf(Strategy strategy);

struct HybridTrainOptions {
  int64_t epochs = 3;              // per stage (early stopping may end sooner); Default: 3
  int64_t batch_size = 16;         // Default: 16
  double lr_lora = 1e-3;           // Default: 1e-3
  double lr_mapping = 1e-3;        // Default: 1e-3
  double lr_sasrec = 1e-4;         // Default: 1e-4
  double weight_decay = 1e-3;      // AdamW; Default: 1e-3 (CoLLM)
  int64_t warmup_steps = 100;      // linear warm-up, then cosine to 0; Default: 100
  double max_grad_norm = 1.0;      // Default: 1.0
  int64_t eval_every = 0;          // steps between validations; 0 = each epoch's end
  int64_t patience = 2;            // validations without a gain before a stage stops; Default: 2
  int64_t max_train_samples = 0;   // 0 = all (a seeded random subset otherwise)
  int64_t max_valid_samples = 0;   // 0 = all
  int64_t eval_batch_size = 64;    // Default: 64
  uint64_t seed = 42;              // shuffling, subsets, LoRA init, dropout
  // Ends this run (resumably: last/ and state.json are written) after this
  // many training steps, counted from where it started; 0 = no limit. For
  // time-boxed runs and tests of resume. Default: 0
  int64_t max_steps_this_run = 0;
  llm::LoraConfig lora;            // Default: r 8, alpha 16, dropout 0.05, q_proj v_proj
  // The prompt of the stages with feature slots (PromptTemplate::Named);
  // text-only stages use tallrec_movie. Default: "collm_movie"
  std::string prompt_template = "collm_movie";
  std::string llm_dir;             // base LLM folder (recorded in checkpoints)
  std::string out_dir;             // required
  bool resume = true;              // continue from out_dir when it holds a run
  std::function<void(const std::string&)> log;  // progress lines; Default: stderr (rank 0 only)
  // Trains data-parallel with the other ranks of this group (see above); must
  // outlive the call. Default: nullptr = one process
  model::DataParallel* data_parallel = nullptr;
};

struct StageResult {
  std::string name;
  double best_valid_auc = 0;
  int64_t steps = 0;
  double seconds = 0;
  double train_samples_per_s = 0;
  double eval_samples_per_s = 0;
};

struct HybridTrainResult {
  std::vector<StageResult> stages;
  std::string final_dir;  // hybrid checkpoint of the result (out_dir/final)
  // max_steps_this_run ended the run before the last stage was done: the
  // run is resumable, final_dir is not written and `stages` holds only the
  // stages done before. Default: false
  bool interrupted = false;
};

// `base`: the LLM, tokenizer, pretrained SASRec and a fresh mapping layer
// (the template and LoRA are set per stage). Examples carry labels.
StatusOr<HybridTrainResult> TrainHybrid(Strategy strategy, HybridModel::Parts base,
                                        const std::vector<HybridExample>& train,
                                        const std::vector<HybridExample>& valid,
                                        const HybridTrainOptions& options);

// P(like) for every example, in order (eval mode, batched by prompt length):
// sigmoid(model.Logits). progress(done, total) is called now and then when
// given.
StatusOr<std::vector<float>> ScoreExamples(HybridModel& model,
                                           const std::vector<HybridExample>& examples,
                                           int64_t batch_size,
                                           const std::function<void(size_t, size_t)>& progress = {});

// Which logit ExampleLogits returns.
enum class LogitKind {
  kModel,   // HybridModel::Logits: the model's score (fused when it has a fusion)
  kYes,     // HybridModel::YesLogits: the LLM's "Yes" logit alone
  kSasrec,  // HybridModel::SasrecLogits: SASRec's own (needs model.uses_sasrec())
};

// One logit per example, in order, as ScoreExamples batches them.
StatusOr<std::vector<float>> ExampleLogits(HybridModel& model,
                                           const std::vector<HybridExample>& examples,
                                           int64_t batch_size,
                                           const std::function<void(size_t, size_t)>& progress = {},
                                           LogitKind kind = LogitKind::kModel);

}  // namespace sasrecllm::hybrid

#endif  // SASRECLLM_MODEL_HYBRID_HYBRID_TRAINER_H_
