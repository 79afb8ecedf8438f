#include "model/hybrid/collm_examples.h"

#include <unordered_map>

namespace sasrecllm::hybrid {

std::vector<HybridExample> ExamplesFromCollmRows(const std::vector<CollmRow>& rows,
                                                 const std::vector<model::ItemTitle>& items,
                                                 int64_t sasrec_item_num) {
  std::unordered_map<int64_t, std::string> titles;
  for (const model::ItemTitle& item : items) titles[item.item_id] = item.title;
  auto title_of = [&](int64_t id) {
    auto it = titles.find(id);
    return it == titles.end() ? std::string() : it->second;
  };
  auto index_of = [&](int64_t id) { return id >= 1 && id <= sasrec_item_num ? id : 0; };

  std::vector<HybridExample> out;
  out.reserve(rows.size());
  for (const CollmRow& row : rows) {
    HybridExample e;
    for (int64_t id : row.history) {
      e.history.push_back(index_of(id));
      e.history_titles.push_back(title_of(id));
    }
    e.target = index_of(row.item_id);
    e.target_title = title_of(row.item_id);
    e.label = static_cast<float>(row.label);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace sasrecllm::hybrid
