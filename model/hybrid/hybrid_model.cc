#include "model/hybrid/hybrid_model.h"

#include <algorithm>

#include "model/torch_errors.h"

namespace sasrecllm::hybrid {

int YesTokenId(const llm::Tokenizer& tokenizer) {
  std::vector<int> ids = tokenizer.Encode("Yes", /*bos=*/false, /*eos=*/false);
  return ids.empty() ? -1 : ids.front();
}

HybridModel::HybridModel(Parts parts, PromptBuilder builder, int yes_id)
    : parts_(std::move(parts)), builder_(std::move(builder)), yes_id_(yes_id) {
  uses_sasrec_ = parts_.prompt_template.has_feature_slots() || parts_.fusion.uses_sasrec();
}

StatusOr<std::unique_ptr<HybridModel>> HybridModel::Create(Parts parts) {
  if (parts.llm == nullptr) return InvalidArgumentError("HybridModel: no LLM");
  if (parts.tokenizer == nullptr) return InvalidArgumentError("HybridModel: no tokenizer");
  if (parts.tokenizer->vocab_size() > parts.llm->config().vocab_size) {
    return InvalidArgumentError("HybridModel: the tokenizer has " +
                                std::to_string(parts.tokenizer->vocab_size()) +
                                " tokens, the LLM's vocab_size is " +
                                std::to_string(parts.llm->config().vocab_size));
  }
  if (parts.prompt_template.has_feature_slots()) {
    if (parts.sasrec.is_empty() || parts.mapping.is_empty()) {
      return InvalidArgumentError(
          "HybridModel: the prompt has feature slots, so SASRec and the mapping layer are "
          "required");
    }
    const int64_t d_rec = parts.sasrec->config().hidden_units;
    if (parts.mapping->d_rec() != d_rec) {
      return InvalidArgumentError("HybridModel: the mapping layer takes " +
                                  std::to_string(parts.mapping->d_rec()) +
                                  "-dim vectors, SASRec's hidden_units is " +
                                  std::to_string(d_rec));
    }
    if (parts.mapping->d_llm() != parts.llm->config().hidden_size) {
      return InvalidArgumentError("HybridModel: the mapping layer outputs " +
                                  std::to_string(parts.mapping->d_llm()) +
                                  "-dim vectors, the LLM's hidden_size is " +
                                  std::to_string(parts.llm->config().hidden_size));
    }
  }
  if (parts.fusion.uses_sasrec() && parts.sasrec.is_empty()) {
    return InvalidArgumentError("HybridModel: the score fusion weighs SASRec's logit (weight " +
                                std::to_string(parts.fusion.sasrec_weight) +
                                "), so SASRec is required");
  }
  const int yes_id = YesTokenId(*parts.tokenizer);
  if (yes_id < 0) return InvalidArgumentError("HybridModel: \"Yes\" encodes to no token");
  PromptBuilder builder(parts.prompt_template, parts.tokenizer.get(), parts.max_titles,
                        parts.max_history_ids);
  return std::unique_ptr<HybridModel>(new HybridModel(std::move(parts), std::move(builder), yes_id));
}

StatusOr<EncodedPrompt> HybridModel::Encode(const HybridExample& example) const {
  SASRECLLM_ASSIGN_OR_RETURN(
      PromptTokens prefix,
      builder_.BuildPrefix(example.history_titles, static_cast<int>(example.history.size())));
  SASRECLLM_ASSIGN_OR_RETURN(PromptTokens suffix, builder_.BuildSuffix(example.target_title));
  EncodedPrompt out;
  out.ids = std::move(prefix.ids);
  out.prefix_length = static_cast<int>(out.ids.size());
  out.user_slot = prefix.slot;
  out.item_slot = suffix.slot >= 0 ? out.prefix_length + suffix.slot : -1;
  out.history_slots = std::move(prefix.history_slots);
  out.ids.insert(out.ids.end(), suffix.ids.begin(), suffix.ids.end());
  return out;
}

torch::Tensor HybridModel::SasrecInput(
    const std::vector<const std::vector<int64_t>*>& histories) const {
  const model::Sasrec& sasrec = parts_.sasrec;
  // [N, maxlen] int64, 0 = padding; items SASRec does not know are left out.
  const torch::Tensor log_seqs = model::LeftPaddedHistories(
      histories, sasrec->config().item_num, sasrec->config().maxlen);
  return log_seqs.to(parts_.llm->options().device);
}

torch::Tensor HybridModel::SasrecItems(const std::vector<int64_t>& items) const {
  const int64_t item_num = parts_.sasrec->config().item_num;
  std::vector<int64_t> valid;
  valid.reserve(items.size());
  for (int64_t t : items) valid.push_back(t >= 1 && t <= item_num ? t : 0);
  return torch::tensor(valid, torch::kLong).to(parts_.llm->options().device);  // [N]
}

std::pair<torch::Tensor, torch::Tensor> HybridModel::SlotEmbeddings(
    const std::vector<HybridExample>& batch) {
  if (!uses_mapping()) return {};
  const int64_t b = static_cast<int64_t>(batch.size());
  std::vector<const std::vector<int64_t>*> histories;
  std::vector<int64_t> targets;
  for (const HybridExample& e : batch) {
    histories.push_back(&e.history);
    targets.push_back(e.target);
  }
  model::Sasrec& sasrec = parts_.sasrec;
  torch::Tensor user = sasrec->UserRepresentation(SasrecInput(histories));          // [B, d_rec]
  torch::Tensor item = sasrec->ItemEmbeddings().index_select(0, SasrecItems(targets));  // [B, d_rec]
  torch::Tensor both = parts_.mapping->forward(torch::cat({user, item}, 0));   // [2B, D_llm]
  torch::Tensor user_vec = parts_.prompt_template.has_user_slot() ? both.narrow(0, 0, b)
                                                                  : torch::Tensor();
  torch::Tensor item_vec = parts_.prompt_template.has_item_slot() ? both.narrow(0, b, b)
                                                                  : torch::Tensor();
  return {user_vec, item_vec};
}

torch::Tensor HybridModel::UserSlotVectors(
    const std::vector<const std::vector<int64_t>*>& histories) {
  if (!parts_.prompt_template.has_user_slot() || histories.empty()) return torch::Tensor();
  torch::Tensor user = parts_.sasrec->UserRepresentation(SasrecInput(histories));  // [N, d_rec]
  return parts_.mapping->forward(user);                                             // [N, D_llm]
}

torch::Tensor HybridModel::MappedItemEmbeddings(const std::vector<int64_t>& items) {
  torch::Tensor item = parts_.sasrec->ItemEmbeddings().index_select(0, SasrecItems(items));  // [N, d_rec]
  return parts_.mapping->forward(item);  // [N, D_llm]
}
torch::Tensor HybridModel::HistorySlotVectors(const std::vector<int64_t>& items) {
  if (!parts_.prompt_template.has_history_slots() || items.empty()) return torch::Tensor();
  return MappedItemEmbeddings(items);
}
torch::Tensor HybridModel::SpliceHistorySlots(const torch::Tensor& embeds,
                                              const HistorySlots& slots) {
  return SpliceSlotVectors(embeds, HistorySlotVectors(slots.items), slots.rows, slots.cols,
                           /*values_by_row=*/false);
}

void AppendHistorySlotItems(const std::vector<int64_t>& history, size_t slots,
                            std::vector<int64_t>* items) {
  const int64_t first = static_cast<int64_t>(history.size()) - static_cast<int64_t>(slots);
  for (int64_t k = 0; k < static_cast<int64_t>(slots); ++k) {
    items->push_back(first + k >= 0 ? history[first + k] : 0);
  }
}

void HistorySlots::Add(int64_t row, const std::vector<int>& slot_cols,
                       const std::vector<int64_t>& history) {
  for (int col : slot_cols) rows.push_back(row), cols.push_back(col);
  AppendHistorySlotItems(history, slot_cols.size(), &items);
}

torch::Tensor HybridModel::ItemSlotVectors(const std::vector<int64_t>& items) {
  if (!parts_.prompt_template.has_item_slot() || items.empty()) return torch::Tensor();
  return MappedItemEmbeddings(items);
}

StatusOr<torch::Tensor> HybridModel::YesLogits(const std::vector<HybridExample>& batch,
                                               bool train) {
  if (batch.empty()) return InvalidArgumentError("YesLogits: empty batch");
  torch::AutoGradMode grad_mode(train);  // autograd only while training
  const llm::LlamaModel& llm = *parts_.llm;
  const int64_t b = static_cast<int64_t>(batch.size());

  std::vector<EncodedPrompt> prompts;
  int64_t t_max = 0;
  for (const HybridExample& example : batch) {
    SASRECLLM_ASSIGN_OR_RETURN(EncodedPrompt p, Encode(example));
    t_max = std::max<int64_t>(t_max, static_cast<int64_t>(p.ids.size()));
    prompts.push_back(std::move(p));
  }
  try {
    // Right padding: with causal attention a real token never sees the
    // padding after it, so no mask is needed; each row's logit is read at
    // its own last real position.
    torch::Tensor ids = torch::zeros({b, t_max}, torch::kLong);  // [B, T], 0-padded on the right
    torch::Tensor last = torch::zeros({b}, torch::kLong);        // [B]
    std::vector<int64_t> user_rows, user_cols, item_rows, item_cols;
    HistorySlots history_slots;
    auto ids_a = ids.accessor<int64_t, 2>();
    for (int64_t i = 0; i < b; ++i) {
      const EncodedPrompt& p = prompts[i];
      for (size_t j = 0; j < p.ids.size(); ++j) ids_a[i][j] = p.ids[j];
      last[i] = static_cast<int64_t>(p.ids.size()) - 1;
      if (p.user_slot >= 0) user_rows.push_back(i), user_cols.push_back(p.user_slot);
      if (p.item_slot >= 0) item_rows.push_back(i), item_cols.push_back(p.item_slot);
      history_slots.Add(i, p.history_slots, batch[i].history);
    }
    SASRECLLM_ASSIGN_OR_RETURN(torch::Tensor embeds, llm.Embed(ids));  // [B, T, D]
    auto [user_vec, item_vec] = SlotEmbeddings(batch);                  // [B, D] each
    embeds = SpliceSlotVectors(embeds, user_vec, user_rows, user_cols, /*values_by_row=*/true);
    embeds = SpliceSlotVectors(embeds, item_vec, item_rows, item_cols, /*values_by_row=*/true);
    embeds = SpliceHistorySlots(embeds, history_slots);

    llm::ForwardArgs args;
    args.inputs_embeds = embeds;
    args.logits = llm::LogitsMode::kLast;
    args.last_positions = last;
    args.logit_ids = torch::tensor({static_cast<int64_t>(yes_id_)}, torch::kLong);
    args.lora = parts_.lora.has_value() ? &*parts_.lora : nullptr;
    args.train = train;
    SASRECLLM_ASSIGN_OR_RETURN(torch::Tensor logits, llm.Forward(args, nullptr));  // [B, 1, 1]
    return logits.view({b});
  } catch (const std::exception& e) {
    return InternalError(std::string("HybridModel::YesLogits: ") + TorchErrorMessage(e));
  }
}

torch::Tensor HybridModel::SasrecLogits(const std::vector<const std::vector<int64_t>*>& histories,
                                        const std::vector<int64_t>& user_of,
                                        const std::vector<int64_t>& items) {
  model::Sasrec& sasrec = parts_.sasrec;
  torch::Tensor users = sasrec->UserRepresentation(SasrecInput(histories));  // [U, d_rec]
  const torch::Tensor rows =
      torch::tensor(user_of, torch::kLong).to(parts_.llm->options().device);   // [K]
  const torch::Tensor valid = SasrecItems(items);                               // [K], 0 = cold
  torch::Tensor item = sasrec->ItemEmbeddings().index_select(0, valid);          // [K, d_rec]
  torch::Tensor logits = (users.index_select(0, rows) * item).sum(-1);           // [K]
  // The padding row's embedding is trained to 0 by pmixer's layout, but a
  // cold item's logit is 0 by contract, whatever that row holds.
  return torch::where(valid > 0, logits, torch::zeros_like(logits)).to(torch::kFloat);
}

torch::Tensor HybridModel::SasrecLogits(const std::vector<HybridExample>& batch) {
  std::vector<const std::vector<int64_t>*> histories;
  std::vector<int64_t> user_of, items;
  for (size_t i = 0; i < batch.size(); ++i) {
    histories.push_back(&batch[i].history);
    user_of.push_back(static_cast<int64_t>(i));
    items.push_back(batch[i].target);
  }
  return SasrecLogits(histories, user_of, items);  // [B]
}

StatusOr<torch::Tensor> HybridModel::Logits(const std::vector<HybridExample>& batch, bool train) {
  SASRECLLM_ASSIGN_OR_RETURN(torch::Tensor yes, YesLogits(batch, train));  // [B]
  const ScoreFusion& fusion = parts_.fusion;
  if (fusion.is_identity()) return yes;
  try {
    torch::AutoGradMode grad_mode(train);
    torch::Tensor out = yes * fusion.llm_weight + fusion.bias;  // [B]
    if (fusion.uses_sasrec()) out = out + SasrecLogits(batch) * fusion.sasrec_weight;
    return out;
  } catch (const std::exception& e) {
    return InternalError(std::string("HybridModel::Logits: ") + TorchErrorMessage(e));
  }
}

torch::Tensor SpliceSlotVectors(const torch::Tensor& embeds, const torch::Tensor& values,
                                const std::vector<int64_t>& rows,
                                const std::vector<int64_t>& cols, bool values_by_row) {
  if (!values.defined() || rows.empty()) return embeds;
  const torch::Tensor r = torch::tensor(rows, torch::kLong).to(embeds.device());  // [K]
  const torch::Tensor c = torch::tensor(cols, torch::kLong).to(embeds.device());  // [K]
  const torch::Tensor v = values_by_row ? values.index_select(0, r) : values;    // [K, D]
  return embeds.index_put({r, c}, v.to(embeds.scalar_type()));
}

}  // namespace sasrecllm::hybrid
