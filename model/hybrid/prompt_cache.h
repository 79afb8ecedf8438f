// PromptCache: the prompt parts a server would otherwise tokenize again for
// every request, tokenized once at load: the item suffix of every catalog
// title (keyed by the title, so a lookup gives exactly what
// PromptBuilder::BuildSuffix gives) and the empty-history prefix. Anything
// else (a title not in the cache, a non-empty history) falls through to the
// builder.
//
// Why the history prefix is not assembled from cached pieces: the tokenizer
// merges across the boundaries between the template text, the quotes and the
// titles (a BPE merge of `: "` or `", "`), so tokenizing pieces separately
// would not give the ids the model was trained on.
//
//   auto cache = PromptCache::Build(&model->prompt_builder(), catalog_titles);
//   HybridReranker reranker(model, options, *cache);
//   SASRECLLM_ASSIGN_OR_RETURN(PromptTokens item, (*cache)->Suffix("Alien (1979)"));
//
// Thread safety: immutable after Build; the builder must outlive the cache.
#ifndef SASRECLLM_MODEL_HYBRID_PROMPT_CACHE_H_
#define SASRECLLM_MODEL_HYBRID_PROMPT_CACHE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/hybrid/prompt.h"
#include "base/status.h"

namespace sasrecllm::hybrid {

class PromptCache {
 public:
  // Tokenizes the suffix of every title in `titles` (repeats are held once)
  // and the empty-history prefix. Errors are the builder's.
  static StatusOr<std::shared_ptr<const PromptCache>> Build(const PromptBuilder* builder,
                                                           const std::vector<std::string>& titles);

  // PromptBuilder::BuildPrefix(history_titles, history_length); cached for
  // an empty history.
  StatusOr<PromptTokens> Prefix(const std::vector<std::string>& history_titles,
                                int history_length = -1) const;
  // PromptBuilder::BuildSuffix(title); cached for the titles given to Build.
  StatusOr<PromptTokens> Suffix(const std::string& title) const;

  const PromptBuilder& builder() const { return *builder_; }
  size_t suffixes() const { return suffixes_.size(); }  // titles held
  int64_t tokens() const { return tokens_; }            // token ids held, all parts together

 private:
  explicit PromptCache(const PromptBuilder* builder) : builder_(builder) {}

  const PromptBuilder* builder_;
  PromptTokens empty_history_prefix_;
  std::unordered_map<std::string, PromptTokens> suffixes_;  // by title
  int64_t tokens_ = 0;
};

}  // namespace sasrecllm::hybrid

#endif  // SASRECLLM_MODEL_HYBRID_PROMPT_CACHE_H_
