#include "cli/export_catalog.h"

#include <ctime>
#include <iostream>
#include <iterator>
#include <unordered_map>
#include <vector>

#include "model/interaction_data.h"

namespace sasrecllm::cli {

StatusOr<model::Catalog> CatalogForExport(int64_t item_num, const std::string& items_path) {
  std::unordered_map<int64_t, std::string> titles;
  std::vector<model::CatalogEntry> cold;
  if (!items_path.empty()) {
    SASRECLLM_ASSIGN_OR_RETURN(std::vector<model::ItemTitle> items, model::ReadItemsTsv(items_path));
    for (auto& item : items) {
      if (item.item_id > item_num) {
        cold.push_back({0, std::to_string(item.item_id), std::move(item.title)});
        continue;
      }
      titles[item.item_id] = std::move(item.title);
    }
  }
  if (!cold.empty()) {
    std::cerr << "export: " << cold.size() << " item(s) of " << items_path
              << " are beyond the model's item_num " << item_num
              << ": cataloged as cold (title only)\n";
  }
  std::vector<model::CatalogEntry> entries;
  entries.reserve(item_num + cold.size());
  for (int64_t i = 1; i <= item_num; ++i) {
    auto it = titles.find(i);
    entries.push_back({i, std::to_string(i), it == titles.end() ? "" : it->second});
  }
  entries.insert(entries.end(), std::make_move_iterator(cold.begin()),
                 std::make_move_iterator(cold.end()));
  return model::Catalog::FromEntries(std::move(entries));
}

std::string NowIso8601() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace sasrecllm::cli
