// HybridReranker: SASRecLLM's scorer for serving. Scores many (user,
// candidate item) pairs, several users at a time, computing each user's
// prompt prefix once and continuing every candidate from it.
//
// How (share_prefix = true): one row per user (or per piece of a user's
// candidates, when they do not fit the token budget). Each row's prefix is
// prefilled into a KV cache; then every candidate's suffix runs as a branch
// of it (LlamaModel::ForwardBranches): a suffix token attends to its own
// prefix and the earlier tokens of its own suffix only, positions restart at
// the prefix length for every suffix, and the "Yes" logit is read at each
// suffix's last token. Nothing is copied per candidate: the prefix keys and
// values exist once, and attention is computed only where it is needed.
//
// Prompt parts: a PromptCache (prompt_cache.h), when given, holds the
// tokens of every catalog title's suffix and of the empty-history prefix,
// made once at load; without one every part is tokenized per call.
//
// The empty-history prefix (a user with no history: the same tokens and the
// same user vector for everyone) can also be run once:
// PrecomputeEmptyPrefix() keeps its keys and values, and then every row of
// such users starts from a copy of them instead of a prefill. Their pieces
// run in passes of their own for that.
//
// share_prefix = false runs every pair's whole prompt as one row (the
// straightforward way; the benchmark's baseline). Both give the same
// logits as HybridModel::YesLogits up to float rounding, and Logits (the
// served score: fused with SASRec's logit when the model has a fusion) the
// same as HybridModel::Logits.
//
//   HybridReranker reranker(model, {.share_prefix = true, .max_batch_tokens = 8192});
//   RerankQuery q{.history = {3, 7}, .history_titles = {"Heat (1995)", "Up (2009)"},
//                 .candidates = {{12, "Alien (1979)"}, {0, "A cold item (2024)"}}};
//   SASRECLLM_ASSIGN_OR_RETURN(auto logits, reranker.Logits({q}));  // logits[0][c]
//
// Thread safety: YesLogits only reads the model (every call has its own KV
// caches), so calls may run concurrently, on one reranker or several, as
// long as nothing trains or moves the model meanwhile (HybridModel's and
// Sasrec's contract). The server runs one per stage thread.
#ifndef SASRECLLM_MODEL_HYBRID_HYBRID_RERANKER_H_
#define SASRECLLM_MODEL_HYBRID_HYBRID_RERANKER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/hybrid/hybrid_model.h"
#include "model/hybrid/prompt_cache.h"
#include "base/status.h"

namespace sasrecllm::hybrid {

struct RerankCandidate {
  int64_t item = 0;   // SASRec index; 0 = cold (scored from its title alone)
  std::string title;
};

// One user's request: the history and the candidates to score.
struct RerankQuery {
  std::vector<int64_t> history;             // SASRec indices, oldest first (0 = not in SASRec)
  std::vector<std::string> history_titles;  // titles for the prompt, oldest first
  std::vector<RerankCandidate> candidates;
};

struct RerankOptions {
  // Compute each user's prefix once (see above). Default: true.
  bool share_prefix = true;
  // The most token positions one forward pass holds, padding included
  // (rows x (longest prefix + candidates x longest suffix)): bounds the
  // activations and the KV cache,
  // whatever the histories' lengths. A single prompt longer than this still
  // runs, alone. Default: 8192.
  int64_t max_batch_tokens = 8192;
};

// What one YesLogits call computed.
struct RerankStats {
  int64_t prefill_tokens = 0;  // prompt tokens run through the LLM (padding excluded)
  int64_t reused_tokens = 0;   // prompt tokens not run because a computed prefix was reused
  int64_t forward_passes = 0;  // LLM batches (a prefill and its continuation count as one)
  // Token positions of those batches as max_batch_tokens counts them
  // (padding included): what a pass of these queries takes of the budget.
  int64_t budget_tokens = 0;
  int64_t skipped_queries = 0;  // queries dropped by `skip`
};

class HybridReranker {
 public:
  // `model`: shared, used without its LoRA adapter (serving models are
  // merged). INVALID_ARGUMENT-free: options are clamped (budget >= 1).
  // `prompts` (optional): built from this model's prompt builder.
  HybridReranker(std::shared_ptr<HybridModel> model, RerankOptions options,
                 std::shared_ptr<const PromptCache> prompts = nullptr);

  // logits[q][c]: the "Yes" logit of queries[q].candidates[c]
  // (P(like) = sigmoid). `skip` (optional) is asked before each forward pass
  // for each query it contains; true drops the query: its logits come back
  // empty and its remaining work is not done (cancelled or expired
  // requests). `stats` (optional) is added to.
  StatusOr<std::vector<std::vector<float>>> YesLogits(
      const std::vector<RerankQuery>& queries,
      const std::function<bool(size_t query)>& skip = nullptr, RerankStats* stats = nullptr);
  // The same, as the model scores: each "Yes" logit fused with SASRec's
  // logit of its pair by the model's ScoreFusion (YesLogits itself when the
  // fusion is the default). Dropped queries stay empty.
  StatusOr<std::vector<std::vector<float>>> Logits(
      const std::vector<RerankQuery>& queries,
      const std::function<bool(size_t query)>& skip = nullptr, RerankStats* stats = nullptr);

  // Runs the empty-history prefix once and keeps its keys and values for
  // every later call (see above). Call at load, before serving: not
  // thread-safe against YesLogits on this reranker. Errors are the model's.
  Status PrecomputeEmptyPrefix();
  bool has_empty_prefix() const { return empty_prefix_ != nullptr; }

  // This reranker with other options (clamped as the constructor does); the
  // prompt cache and the precomputed prefix are shared, not redone.
  HybridReranker WithOptions(RerankOptions options) const;

  const RerankOptions& options() const { return options_; }
  HybridModel& model() { return *model_; }
  const std::shared_ptr<const PromptCache>& prompts() const { return prompts_; }

 private:
  // A query's tokenized prompt parts.
  struct Encoded {
    PromptTokens prefix;
    std::vector<PromptTokens> suffixes;  // one per candidate
  };
  // A run of one query's candidates [begin, end) that shares one row.
  struct Piece {
    size_t query = 0;
    size_t begin = 0, end = 0;
    int64_t longest_suffix = 0;  // tokens of its longest candidate suffix
  };

  // A prefix's keys and values, computed once (PrecomputeEmptyPrefix).
  struct ComputedPrefix {
    int64_t length = 0;  // tokens
    llm::KvCache cache;  // batch 1, `length` positions
  };

  static bool HasEmptyHistory(const RerankQuery& query) {
    return query.history.empty() && query.history_titles.empty();
  }
  // Prefills the pieces' prefixes, right-padded to the longest: a cache of
  // [R rows, longest prefix]; *prefix_mask ([R, P] bool) marks the real
  // tokens.
  StatusOr<llm::KvCache> PrefillPrefixes(const std::vector<RerankQuery>& queries,
                                         const std::vector<Encoded>& encoded,
                                         const std::vector<Piece>& pieces,
                                         torch::Tensor* prefix_mask);
  Status RunSharedBatch(const std::vector<RerankQuery>& queries,
                        const std::vector<Encoded>& encoded, const std::vector<Piece>& pieces,
                        std::vector<std::vector<float>>* logits, RerankStats* stats);
  Status RunUnsharedBatch(const std::vector<RerankQuery>& queries,
                          const std::vector<Encoded>& encoded,
                          const std::vector<std::pair<size_t, size_t>>& pairs,
                          std::vector<std::vector<float>>* logits, RerankStats* stats);

  std::shared_ptr<HybridModel> model_;
  RerankOptions options_;
  std::shared_ptr<const PromptCache> prompts_;  // may be null
  std::shared_ptr<const ComputedPrefix> empty_prefix_;  // null until PrecomputeEmptyPrefix
};

}  // namespace sasrecllm::hybrid

#endif  // SASRECLLM_MODEL_HYBRID_HYBRID_RERANKER_H_
