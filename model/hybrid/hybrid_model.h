// HybridModel: SASRecLLM's scorer. For a (history, target item) pair it
// builds the prompt (prompt.h), replaces the <UserID> slot's input embedding
// by mapping(SASRec sequence representation of the history), the
// <TargetItemID> slot's by mapping(SASRec item embedding of the target) and,
// when the template has them, each <HistoryItemIDs> slot's by mapping(SASRec
// item embedding of that history item),
// runs the LLM (with an unmerged LoRA adapter while training, merged for
// serving) and returns the logit of the "Yes" token at the last position
// (YesLogits). The model's score is Logits: that logit, combined with
// SASRec's own logit of the pair when the parts carry a ScoreFusion
// (score_fusion.h; by default the "Yes" logit alone, as CoLLM scores).
// P(like) = sigmoid(logit); training minimises BCE against the label.
//
// A text-only template (TALLRec) uses no mapping layer, and no SASRec unless
// its fusion does.
//
//   HybridModel::Parts parts;  // llm, tokenizer, sasrec, mapping, lora, template, fusion
//   SASRECLLM_ASSIGN_OR_RETURN(auto model, HybridModel::Create(std::move(parts)));
//   SASRECLLM_ASSIGN_OR_RETURN(torch::Tensor logits, model->Logits(batch, /*train=*/false));
//
// Thread safety: Logits / YesLogits(train=false) may run concurrently when
// the parts are not being trained; training is single-threaded.
#ifndef SASRECLLM_MODEL_HYBRID_HYBRID_MODEL_H_
#define SASRECLLM_MODEL_HYBRID_HYBRID_MODEL_H_

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/hybrid/mapping.h"
#include "model/hybrid/prompt.h"
#include "model/hybrid/score_fusion.h"
#include "model/llm/llama_model.h"
#include "model/llm/lora.h"
#include "model/llm/tokenizers/tokenizer.h"
#include "model/sasrec.h"
#include "base/status.h"

namespace sasrecllm::hybrid {

// One (user history, target item) pair, self-contained: ids for SASRec,
// titles for the prompt.
struct HybridExample {
  std::vector<int64_t> history;             // SASRec item indices, oldest first (0 = unknown)
  std::vector<std::string> history_titles;  // titles of the same items (any may be "")
  int64_t target = 0;                       // SASRec index of the target; 0 = cold (title only)
  std::string target_title;
  float label = 0;                          // 1 = liked (training and evaluation)
};

// The tokenized prompt of one example and where its slots are.
struct EncodedPrompt {
  std::vector<int> ids;  // prefix ids + suffix ids
  int prefix_length = 0;
  int user_slot = -1;    // index in ids, -1 = none
  int item_slot = -1;    // index in ids, -1 = none
  // Indices in ids of the <HistoryItemIDs> slots: the last
  // history_slots.size() items of the history, oldest first.
  std::vector<int> history_slots;
};

// Replaces the input embeddings of slot tokens: embeds[rows[k], cols[k]] =
// values[k] (values[rows[k]] when `values_by_row`), cast to embeds' dtype.
// embeds: [B, T, D]; values: [K, D] with K = rows.size(), or [B, D] by row.
// Out of place, so differentiable. Returns `embeds` itself when `values` is
// undefined or there is no slot.
torch::Tensor SpliceSlotVectors(const torch::Tensor& embeds, const torch::Tensor& values,
                                const std::vector<int64_t>& rows,
                                const std::vector<int64_t>& cols, bool values_by_row);

// What a prompt's <HistoryItemIDs> slots show: the last `slots` items of
// `history` (SASRec indices, oldest first), appended to *items; slots
// beyond the history's length show item 0 (padding) first.
void AppendHistorySlotItems(const std::vector<int64_t>& history, size_t slots,
                            std::vector<int64_t>* items);

// The <HistoryItemIDs> slots of a batch of prompts, gathered for one splice:
// slot k sits at (rows[k], cols[k]) of the batch's embeddings and shows
// items[k].
struct HistorySlots {
  std::vector<int64_t> items, rows, cols;

  // Adds the slots of the prompt in `row`, at positions `slot_cols` (oldest
  // history item first), for `history` (SASRec indices, oldest first).
  void Add(int64_t row, const std::vector<int>& slot_cols, const std::vector<int64_t>& history);
};

class HybridModel {
 public:
  struct Parts {
    std::shared_ptr<const llm::LlamaModel> llm;       // required
    std::shared_ptr<const llm::Tokenizer> tokenizer;  // required
    PromptTemplate prompt_template = PromptTemplate::CollmMovie();
    int max_titles = 10;                              // Default: 10 (CoLLM)
    int max_history_ids = 10;                         // <HistoryItemIDs> slots at most
    model::Sasrec sasrec{nullptr};  // required when the template has slots or fusion uses SASRec
    MappingLayer mapping{nullptr};                    // required when the template has slots
    std::optional<llm::LoraAdapter> lora;             // unmerged adapter (training); none = merged/no LoRA
    ScoreFusion fusion;                               // Default: the "Yes" logit alone
  };

  // INVALID_ARGUMENT when a required part is missing or dims disagree
  // (SASRec hidden_units != mapping d_rec, mapping d_llm != LLM hidden size),
  // or "Yes" cannot be tokenized.
  static StatusOr<std::unique_ptr<HybridModel>> Create(Parts parts);

  // [B] float32 "Yes" logits on the LLM's device. train = true keeps the
  // autograd graph (gradients reach whatever requires grad: the LoRA
  // adapter, the mapping layer, SASRec) and enables LoRA dropout.
  StatusOr<torch::Tensor> YesLogits(const std::vector<HybridExample>& batch, bool train);
  // [B] float32: the model's logit of P(like), YesLogits fused with
  // SasrecLogits by parts().fusion (YesLogits itself when the fusion is the
  // default). Same contract as YesLogits.
  StatusOr<torch::Tensor> Logits(const std::vector<HybridExample>& batch, bool train);
  // SASRec's own logit of each pair: dot(user representation of
  // histories[user_of[k]], item embedding of items[k]); 0 for items outside
  // 1..item_num (cold). histories: SASRec indices, oldest first. Returns [K]
  // float32 on the LLM's device. Differentiable. Precondition: the model has
  // a SASRec, user_of.size() == items.size(), user_of[k] < histories.size().
  torch::Tensor SasrecLogits(const std::vector<const std::vector<int64_t>*>& histories,
                             const std::vector<int64_t>& user_of,
                             const std::vector<int64_t>& items);
  // The same for each example's (history, target): [B].
  torch::Tensor SasrecLogits(const std::vector<HybridExample>& batch);

  // The prompt of one example (for tests, logs and serving).
  StatusOr<EncodedPrompt> Encode(const HybridExample& example) const;

  // The mapped slot vectors for a batch: user [B, D_llm], item [B, D_llm]
  // (undefined when the template lacks the slot). Differentiable.
  std::pair<torch::Tensor, torch::Tensor> SlotEmbeddings(const std::vector<HybridExample>& batch);

  // The same vectors computed apart (serving: one user vector per request,
  // one item vector per candidate). Histories: SASRec indices, oldest first
  // (indices outside 1..item_num are skipped); items: 0 = cold. Returns
  // [N, D_llm] on the LLM's device, or an undefined tensor when the template
  // lacks that slot.
  torch::Tensor UserSlotVectors(const std::vector<const std::vector<int64_t>*>& histories);
  torch::Tensor ItemSlotVectors(const std::vector<int64_t>& items);
  // The <HistoryItemIDs> slot vectors of `items` (see AppendHistorySlotItems):
  // [N, D_llm], or undefined when the template has no such slots or `items`
  // is empty. Differentiable.
  torch::Tensor HistorySlotVectors(const std::vector<int64_t>& items);
  // `embeds` ([B, T, D_llm]) with the history slots gathered in `slots`
  // replaced by their vectors (SpliceSlotVectors). Differentiable.
  torch::Tensor SpliceHistorySlots(const torch::Tensor& embeds, const HistorySlots& slots);

  const Parts& parts() const { return parts_; }
  Parts& mutable_parts() { return parts_; }
  const PromptBuilder& prompt_builder() const { return builder_; }
  int yes_token_id() const { return yes_id_; }
  // True when the model runs SASRec: for feature slots, for the fusion, or both.
  bool uses_sasrec() const { return uses_sasrec_; }
  // True when the template has feature slots (and the model a mapping layer).
  bool uses_mapping() const { return parts_.prompt_template.has_feature_slots(); }

 private:
  HybridModel(Parts parts, PromptBuilder builder, int yes_id);
  // SASRec's input for `histories`: the last maxlen known items, left-padded
  // with 0: [N, maxlen] int64 on the LLM's device.
  torch::Tensor SasrecInput(const std::vector<const std::vector<int64_t>*>& histories) const;
  // Valid SASRec indices of `items` (others -> 0): [N] int64 on the LLM's device.
  torch::Tensor SasrecItems(const std::vector<int64_t>& items) const;
  // mapping(SASRec item embedding) of `items`: [N, D_llm]. Differentiable.
  torch::Tensor MappedItemEmbeddings(const std::vector<int64_t>& items);

  Parts parts_;
  PromptBuilder builder_;
  int yes_id_;
  bool uses_sasrec_;
};

// The first token of "Yes" as the tokenizer encodes an answer (CoLLM takes
// the first id of tokenizer("Yes")); -1 when it encodes to nothing.
int YesTokenId(const llm::Tokenizer& tokenizer);

}  // namespace sasrecllm::hybrid

#endif  // SASRECLLM_MODEL_HYBRID_HYBRID_MODEL_H_
