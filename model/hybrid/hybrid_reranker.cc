#include "model/hybrid/hybrid_reranker.h"

#include <algorithm>
#include <utility>

#include "model/torch_errors.h"

namespace sasrecllm::hybrid {

HybridReranker::HybridReranker(std::shared_ptr<HybridModel> model, RerankOptions options,
                               std::shared_ptr<const PromptCache> prompts)
    : model_(std::move(model)), options_(options), prompts_(std::move(prompts)) {
  options_.max_batch_tokens = std::max<int64_t>(options_.max_batch_tokens, 1);
}

StatusOr<std::vector<std::vector<float>>> HybridReranker::YesLogits(
    const std::vector<RerankQuery>& queries, const std::function<bool(size_t)>& skip,
    RerankStats* stats) {
  RerankStats local;
  if (stats == nullptr) stats = &local;
  std::vector<std::vector<float>> logits(queries.size());
  for (size_t q = 0; q < queries.size(); ++q) logits[q].assign(queries[q].candidates.size(), 0.0f);
  std::vector<bool> dropped(queries.size(), false);
  // True when query q is (now) dropped: asked once per batch it is in.
  auto is_dropped = [&](size_t q) {
    if (!dropped[q] && skip && skip(q)) {
      dropped[q] = true;
      ++stats->skipped_queries;
    }
    return dropped[q];
  };
  const PromptBuilder& builder = model_->prompt_builder();
  const int64_t budget = options_.max_batch_tokens;

  // Every prompt part once: from the cache where it holds it.
  std::vector<Encoded> encoded(queries.size());
  for (size_t q = 0; q < queries.size(); ++q) {
    if (queries[q].candidates.empty()) continue;
    const RerankQuery& query = queries[q];
    const int history_length = static_cast<int>(query.history.size());
    SASRECLLM_ASSIGN_OR_RETURN(encoded[q].prefix,
                               prompts_ ? prompts_->Prefix(query.history_titles, history_length)
                                        : builder.BuildPrefix(query.history_titles, history_length));
    encoded[q].suffixes.reserve(query.candidates.size());
    for (const RerankCandidate& c : query.candidates) {
      SASRECLLM_ASSIGN_OR_RETURN(PromptTokens suffix, prompts_ ? prompts_->Suffix(c.title)
                                                               : builder.BuildSuffix(c.title));
      encoded[q].suffixes.push_back(std::move(suffix));
    }
  }

  if (options_.share_prefix) {
    // Pieces: a query's candidates, split where its prefix plus its branches
    // (candidates x longest suffix) would exceed the budget on their own.
    std::vector<Piece> pieces;
    for (size_t q = 0; q < queries.size(); ++q) {
      const int64_t prefix = static_cast<int64_t>(encoded[q].prefix.ids.size());
      Piece piece{q, 0, 0, 0};
      for (size_t c = 0; c < encoded[q].suffixes.size(); ++c) {
        const int64_t len = static_cast<int64_t>(encoded[q].suffixes[c].ids.size());
        const int64_t longest = std::max(piece.longest_suffix, len);
        if (c > piece.begin &&
            prefix + static_cast<int64_t>(c + 1 - piece.begin) * longest > budget) {
          pieces.push_back(piece);
          piece = Piece{q, c, c, 0};
        }
        piece.end = c + 1;
        piece.longest_suffix = std::max(piece.longest_suffix, len);
      }
      if (piece.end > piece.begin) pieces.push_back(piece);
    }
    // With a precomputed empty-history prefix, those users' pieces go first
    // and never share a pass with others (their passes skip the prefill).
    auto starts_empty = [&](const Piece& p) {
      return empty_prefix_ != nullptr && HasEmptyHistory(queries[p.query]);
    };
    std::stable_partition(pieces.begin(), pieces.end(), starts_empty);
    // Batches of pieces, in order, while rows x (longest prefix + most
    // candidates x longest suffix) fits the budget.
    std::vector<Piece> batch;
    int64_t max_prefix = 0, max_branches = 0, max_suffix = 0;
    auto flush = [&]() -> Status {
      std::vector<Piece> live;
      for (const Piece& p : batch) {
        if (!is_dropped(p.query)) live.push_back(p);
      }
      batch.clear();
      max_prefix = max_branches = max_suffix = 0;
      if (live.empty()) return OkStatus();
      return RunSharedBatch(queries, encoded, live, &logits, stats);
    };
    for (const Piece& p : pieces) {
      const int64_t prefix = static_cast<int64_t>(encoded[p.query].prefix.ids.size());
      const int64_t rows = static_cast<int64_t>(batch.size()) + 1;
      const int64_t branches = std::max<int64_t>(max_branches, p.end - p.begin);
      const int64_t suffix = std::max(max_suffix, p.longest_suffix);
      if (!batch.empty() &&
          (rows * (std::max(max_prefix, prefix) + branches * suffix) > budget ||
           starts_empty(batch.back()) != starts_empty(p))) {
        SASRECLLM_RETURN_IF_ERROR(flush());
      }
      batch.push_back(p);
      max_prefix = std::max(max_prefix, prefix);
      max_branches = std::max<int64_t>(max_branches, p.end - p.begin);
      max_suffix = std::max(max_suffix, p.longest_suffix);
    }
    SASRECLLM_RETURN_IF_ERROR(flush());
  } else {
    // One row per (query, candidate): its whole prompt.
    std::vector<std::pair<size_t, size_t>> batch;
    int64_t max_len = 0;
    auto flush = [&]() -> Status {
      std::vector<std::pair<size_t, size_t>> live;
      for (const auto& pair : batch) {
        if (!is_dropped(pair.first)) live.push_back(pair);
      }
      batch.clear();
      max_len = 0;
      if (live.empty()) return OkStatus();
      return RunUnsharedBatch(queries, encoded, live, &logits, stats);
    };
    for (size_t q = 0; q < queries.size(); ++q) {
      const int64_t prefix = static_cast<int64_t>(encoded[q].prefix.ids.size());
      for (size_t c = 0; c < encoded[q].suffixes.size(); ++c) {
        const int64_t len = prefix + static_cast<int64_t>(encoded[q].suffixes[c].ids.size());
        const int64_t rows = static_cast<int64_t>(batch.size()) + 1;
        if (!batch.empty() && rows * std::max(max_len, len) > budget) {
          SASRECLLM_RETURN_IF_ERROR(flush());
        }
        batch.emplace_back(q, c);
        max_len = std::max(max_len, len);
      }
    }
    SASRECLLM_RETURN_IF_ERROR(flush());
  }
  for (size_t q = 0; q < queries.size(); ++q) {
    if (dropped[q]) logits[q].clear();
  }
  return logits;
}

Status HybridReranker::PrecomputeEmptyPrefix() {
  const RerankQuery empty;
  std::vector<Encoded> encoded(1);
  SASRECLLM_ASSIGN_OR_RETURN(encoded[0].prefix,
                             prompts_ ? prompts_->Prefix({})
                                      : model_->prompt_builder().BuildPrefix({}));
  auto computed = std::make_shared<ComputedPrefix>();
  computed->length = static_cast<int64_t>(encoded[0].prefix.ids.size());
  torch::Tensor mask;
  try {
    torch::NoGradGuard no_grad;
    SASRECLLM_ASSIGN_OR_RETURN(computed->cache,
                               PrefillPrefixes({empty}, encoded, {Piece{}}, &mask));
  } catch (const std::exception& e) {
    return InternalError(std::string("HybridReranker: ") + TorchErrorMessage(e));
  }
  empty_prefix_ = std::move(computed);
  return OkStatus();
}

HybridReranker HybridReranker::WithOptions(RerankOptions options) const {
  HybridReranker copy(model_, options, prompts_);
  copy.empty_prefix_ = empty_prefix_;
  return copy;
}

StatusOr<llm::KvCache> HybridReranker::PrefillPrefixes(const std::vector<RerankQuery>& queries,
                                                       const std::vector<Encoded>& encoded,
                                                       const std::vector<Piece>& pieces,
                                                       torch::Tensor* prefix_mask) {
  const llm::LlamaModel& llm = *model_->parts().llm;
  const int64_t rows = static_cast<int64_t>(pieces.size());
  int64_t prefix_max = 0;
  for (const Piece& p : pieces) {
    prefix_max = std::max<int64_t>(prefix_max, encoded[p.query].prefix.ids.size());
  }
  // Right-padded ids ([R, P]); the mask hides the padding.
  torch::Tensor prefix_ids = torch::zeros({rows, prefix_max}, torch::kLong);  // [R, P]
  *prefix_mask = torch::zeros({rows, prefix_max}, torch::kBool);              // [R, P]
  auto prefix_a = prefix_ids.accessor<int64_t, 2>();
  auto mask_a = prefix_mask->accessor<bool, 2>();
  std::vector<const std::vector<int64_t>*> histories;
  std::vector<int64_t> user_rows, user_cols;
  HistorySlots history_slots;
  for (int64_t r = 0; r < rows; ++r) {
    const PromptTokens& prefix = encoded[pieces[r].query].prefix;
    for (size_t j = 0; j < prefix.ids.size(); ++j) {
      prefix_a[r][j] = prefix.ids[j];
      mask_a[r][j] = true;
    }
    histories.push_back(&queries[pieces[r].query].history);
    if (prefix.slot >= 0) user_rows.push_back(r), user_cols.push_back(prefix.slot);
    history_slots.Add(r, prefix.history_slots, queries[pieces[r].query].history);
  }
  SASRECLLM_ASSIGN_OR_RETURN(torch::Tensor prefix_embeds, llm.Embed(prefix_ids));  // [R, P, D]
  torch::Tensor user_vec = model_->UserSlotVectors(histories);                    // [R, D]
  prefix_embeds = SpliceSlotVectors(prefix_embeds, user_vec, user_rows, user_cols,
                                    /*values_by_row=*/true);
  prefix_embeds = model_->SpliceHistorySlots(prefix_embeds, history_slots);
  SASRECLLM_ASSIGN_OR_RETURN(llm::KvCache cache, llm.NewCache(rows, prefix_max));
  llm::ForwardArgs prefill;
  prefill.inputs_embeds = prefix_embeds;
  prefill.logits = llm::LogitsMode::kNone;
  SASRECLLM_RETURN_IF_ERROR(llm.Forward(prefill, &cache).status());
  return cache;
}

Status HybridReranker::RunSharedBatch(const std::vector<RerankQuery>& queries,
                                      const std::vector<Encoded>& encoded,
                                      const std::vector<Piece>& pieces,
                                      std::vector<std::vector<float>>* logits,
                                      RerankStats* stats) {
  const llm::LlamaModel& llm = *model_->parts().llm;
  const int64_t rows = static_cast<int64_t>(pieces.size());
  int64_t prefix_max = 0, branches = 0, suffix_max = 0;
  for (const Piece& p : pieces) {
    prefix_max = std::max<int64_t>(prefix_max, encoded[p.query].prefix.ids.size());
    branches = std::max<int64_t>(branches, p.end - p.begin);
    suffix_max = std::max(suffix_max, p.longest_suffix);
  }
  const bool from_empty_prefix =
      empty_prefix_ != nullptr &&
      std::all_of(pieces.begin(), pieces.end(),
                  [&](const Piece& p) { return HasEmptyHistory(queries[p.query]); });
  try {
    torch::NoGradGuard no_grad;
    // 1. The prefixes: computed now, or copies of the precomputed one.
    llm::KvCache cache;
    torch::Tensor prefix_mask;  // [R, P] bool: the real prefix tokens
    if (from_empty_prefix) {
      SASRECLLM_ASSIGN_OR_RETURN(cache, empty_prefix_->cache.RepeatInterleaveBatch(rows));
      prefix_mask = torch::ones({rows, empty_prefix_->length}, torch::kBool);
    } else {
      SASRECLLM_ASSIGN_OR_RETURN(cache, PrefillPrefixes(queries, encoded, pieces, &prefix_mask));
    }

    // 2. Every candidate's suffix as a branch of its row's prefix: [R, C, L].
    torch::Tensor ids = torch::zeros({rows, branches, suffix_max}, torch::kLong);        // [R, C, L]
    torch::Tensor positions = torch::zeros({rows, branches, suffix_max}, torch::kLong);  // [R, C, L]
    torch::Tensor last = torch::zeros({rows, branches}, torch::kLong);                   // [R, C]
    auto ids_a = ids.accessor<int64_t, 3>();
    auto pos_a = positions.accessor<int64_t, 3>();
    auto last_a = last.accessor<int64_t, 2>();
    std::vector<int64_t> items, item_rows, item_cols;  // cols index the flat [C * L]
    for (int64_t r = 0; r < rows; ++r) {
      const Piece& p = pieces[r];
      const Encoded& e = encoded[p.query];
      const int64_t prefix_len = static_cast<int64_t>(e.prefix.ids.size());
      for (size_t c = p.begin; c < p.end; ++c) {
        const int64_t b = static_cast<int64_t>(c - p.begin);
        const PromptTokens& suffix = e.suffixes[c];
        const int64_t len = static_cast<int64_t>(suffix.ids.size());
        for (int64_t j = 0; j < suffix_max; ++j) {
          if (j < len) ids_a[r][b][j] = suffix.ids[j];
          pos_a[r][b][j] = prefix_len + j;  // padding after the suffix is never read
        }
        last_a[r][b] = len - 1;
        if (suffix.slot >= 0) {
          items.push_back(queries[p.query].candidates[c].item);
          item_rows.push_back(r);
          item_cols.push_back(b * suffix_max + suffix.slot);
        }
      }
    }
    SASRECLLM_ASSIGN_OR_RETURN(torch::Tensor embeds,
                               llm.Embed(ids.view({rows, branches * suffix_max})));  // [R, C*L, D]
    torch::Tensor item_vec = model_->ItemSlotVectors(items);                         // [N, D]
    embeds = SpliceSlotVectors(embeds, item_vec, item_rows, item_cols, /*values_by_row=*/false);
    llm::BranchArgs next;
    next.inputs_embeds = embeds.view({rows, branches, suffix_max, embeds.size(-1)});
    next.position_ids = positions;
    next.prefix_mask = prefix_mask;
    next.last_positions = last;
    next.logit_ids = torch::tensor({static_cast<int64_t>(model_->yes_token_id())}, torch::kLong);
    SASRECLLM_ASSIGN_OR_RETURN(torch::Tensor out, llm.ForwardBranches(next, cache));  // [R, C, 1]
    out = out.view({rows, branches}).to(torch::kCPU).contiguous();
    auto out_a = out.accessor<float, 2>();
    for (int64_t r = 0; r < rows; ++r) {
      const Piece& p = pieces[r];
      const Encoded& e = encoded[p.query];
      const int64_t prefix_len = static_cast<int64_t>(e.prefix.ids.size());
      for (size_t c = p.begin; c < p.end; ++c) {
        (*logits)[p.query][c] = out_a[r][c - p.begin];
        stats->prefill_tokens += static_cast<int64_t>(e.suffixes[c].ids.size());
      }
      const int64_t prefix_runs = from_empty_prefix ? 0 : 1;
      stats->prefill_tokens += prefix_runs * prefix_len;
      stats->reused_tokens += prefix_len * static_cast<int64_t>(p.end - p.begin - prefix_runs);
    }
    stats->budget_tokens += rows * (prefix_max + branches * suffix_max);
    ++stats->forward_passes;
  } catch (const std::exception& e) {
    return InternalError(std::string("HybridReranker: ") + TorchErrorMessage(e));
  }
  return OkStatus();
}

StatusOr<std::vector<std::vector<float>>> HybridReranker::Logits(
    const std::vector<RerankQuery>& queries, const std::function<bool(size_t)>& skip,
    RerankStats* stats) {
  SASRECLLM_ASSIGN_OR_RETURN(std::vector<std::vector<float>> logits,
                             YesLogits(queries, skip, stats));
  const ScoreFusion& fusion = model_->parts().fusion;
  if (fusion.is_identity()) return logits;
  std::vector<float> sasrec;  // one per candidate of the kept queries, in order
  if (fusion.uses_sasrec()) {
    // One SASRec pass for all kept queries: a user vector each, a dot
    // product per candidate.
    std::vector<const std::vector<int64_t>*> histories;
    std::vector<int64_t> user_of, items;
    for (size_t q = 0; q < queries.size(); ++q) {
      if (logits[q].empty()) continue;  // dropped, or no candidates
      const int64_t user = static_cast<int64_t>(histories.size());
      histories.push_back(&queries[q].history);
      for (const RerankCandidate& c : queries[q].candidates) {
        user_of.push_back(user);
        items.push_back(c.item);
      }
    }
    if (!items.empty()) {
      try {
        torch::NoGradGuard no_grad;
        torch::Tensor out = model_->SasrecLogits(histories, user_of, items)
                                .to(torch::kCPU, torch::kFloat)
                                .contiguous();  // [K]
        sasrec.assign(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
      } catch (const std::exception& e) {
        return InternalError("HybridReranker: SASRec logits: " + TorchErrorMessage(e));
      }
    }
  }
  size_t k = 0;
  for (std::vector<float>& row : logits) {
    for (float& logit : row) logit = fusion.Apply(logit, sasrec.empty() ? 0.0f : sasrec[k++]);
  }
  return logits;
}

Status HybridReranker::RunUnsharedBatch(const std::vector<RerankQuery>& queries,
                                        const std::vector<Encoded>& encoded,
                                        const std::vector<std::pair<size_t, size_t>>& pairs,
                                        std::vector<std::vector<float>>* logits,
                                        RerankStats* stats) {
  std::vector<HybridExample> examples;
  examples.reserve(pairs.size());
  int64_t longest = 0;
  for (const auto& [q, c] : pairs) {
    longest = std::max<int64_t>(
        longest, encoded[q].prefix.ids.size() + encoded[q].suffixes[c].ids.size());
  }
  for (const auto& [q, c] : pairs) {
    HybridExample e;
    e.history = queries[q].history;
    e.history_titles = queries[q].history_titles;
    e.target = queries[q].candidates[c].item;
    e.target_title = queries[q].candidates[c].title;
    examples.push_back(std::move(e));
  }
  // HybridModel::YesLogits tokenizes again: this path is the baseline, kept
  // as plain as it can be.
  SASRECLLM_ASSIGN_OR_RETURN(torch::Tensor out, model_->YesLogits(examples, /*train=*/false));
  try {
    out = out.to(torch::kCPU).contiguous();  // [N]
    for (size_t i = 0; i < pairs.size(); ++i) {
      const auto [q, c] = pairs[i];
      (*logits)[q][c] = out[i].item<float>();
      stats->prefill_tokens += static_cast<int64_t>(encoded[q].prefix.ids.size() +
                                                    encoded[q].suffixes[c].ids.size());
    }
  } catch (const std::exception& e) {
    return InternalError("HybridReranker: " + TorchErrorMessage(e));
  }
  stats->budget_tokens += static_cast<int64_t>(pairs.size()) * longest;
  ++stats->forward_passes;
  return OkStatus();
}

}  // namespace sasrecllm::hybrid
