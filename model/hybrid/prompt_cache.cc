#include "model/hybrid/prompt_cache.h"

namespace sasrecllm::hybrid {

StatusOr<std::shared_ptr<const PromptCache>> PromptCache::Build(
    const PromptBuilder* builder, const std::vector<std::string>& titles) {
  std::shared_ptr<PromptCache> cache(new PromptCache(builder));
  SASRECLLM_ASSIGN_OR_RETURN(cache->empty_history_prefix_, builder->BuildPrefix({}));
  cache->tokens_ = static_cast<int64_t>(cache->empty_history_prefix_.ids.size());
  cache->suffixes_.reserve(titles.size());
  for (const std::string& title : titles) {
    if (cache->suffixes_.count(title) > 0) continue;
    SASRECLLM_ASSIGN_OR_RETURN(PromptTokens suffix, builder->BuildSuffix(title));
    cache->tokens_ += static_cast<int64_t>(suffix.ids.size());
    cache->suffixes_.emplace(title, std::move(suffix));
  }
  return std::shared_ptr<const PromptCache>(std::move(cache));
}

StatusOr<PromptTokens> PromptCache::Prefix(const std::vector<std::string>& history_titles,
                                           int history_length) const {
  if (history_titles.empty() && history_length <= 0) return empty_history_prefix_;
  return builder_->BuildPrefix(history_titles, history_length);
}

StatusOr<PromptTokens> PromptCache::Suffix(const std::string& title) const {
  auto it = suffixes_.find(title);
  if (it != suffixes_.end()) return it->second;
  return builder_->BuildSuffix(title);
}

}  // namespace sasrecllm::hybrid
