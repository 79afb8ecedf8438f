#include "model/catalog.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "model/json.h"

namespace sasrecllm::model {
namespace {

bool HasTabOrNewline(std::string_view s) {
  return s.find_first_of("\t\r\n") != std::string_view::npos;
}

}  // namespace

StatusOr<Catalog> Catalog::FromEntries(std::vector<CatalogEntry> entries) {
  Catalog catalog;
  catalog.by_id_.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const CatalogEntry& e = entries[i];
    const std::string where = "catalog entry " + std::to_string(i) + " (id \"" + e.item_id + "\")";
    if (e.item_id.empty()) return InvalidArgumentError("catalog entry " + std::to_string(i) + ": empty item id");
    if (HasTabOrNewline(e.item_id) || HasTabOrNewline(e.title)) {
      return InvalidArgumentError(where + ": id or title contains a tab or newline");
    }
    if (e.index < 0) {
      return InvalidArgumentError(where + ": negative index " + std::to_string(e.index));
    }
    if (!catalog.by_id_.emplace(e.item_id, i).second) {
      return InvalidArgumentError(where + ": duplicate item id");
    }
    if (e.index != 0) {
      auto [it, inserted] = catalog.by_index_.emplace(e.index, i);
      if (!inserted) {
        return InvalidArgumentError(where + ": duplicate index " + std::to_string(e.index) +
                                    " (also item \"" + entries[it->second].item_id + "\")");
      }
      catalog.max_index_ = std::max(catalog.max_index_, e.index);
    }
  }
  catalog.entries_ = std::move(entries);
  return catalog;
}

StatusOr<Catalog> Catalog::ReadTsv(const std::string& path) {
  SASRECLLM_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  std::vector<CatalogEntry> entries;
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view line(text.data() + pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string where = path + ":" + std::to_string(line_no);
    if (line_no == 1) {
      if (line.substr(0, 5) != "index") {
        return InvalidArgumentError(where + ": expected the header \"index<TAB>item_id<TAB>title\"");
      }
      continue;
    }
    if (line.empty()) continue;
    std::vector<std::string_view> cols;
    size_t start = 0;
    while (true) {
      size_t tab = line.find('\t', start);
      if (tab == std::string_view::npos) {
        cols.push_back(line.substr(start));
        break;
      }
      cols.push_back(line.substr(start, tab - start));
      start = tab + 1;
    }
    if (cols.size() < 2 || cols.size() > 3) {
      return InvalidArgumentError(where + ": expected 3 tab-separated columns, got " +
                                  std::to_string(cols.size()));
    }
    CatalogEntry e;
    const std::string index_text(cols[0]);
    char* end = nullptr;
    errno = 0;
    long long index = std::strtoll(index_text.c_str(), &end, 10);
    if (index_text.empty() || errno != 0 || *end != '\0' || index < 0) {
      return InvalidArgumentError(where + ": bad index \"" + index_text + "\"");
    }
    e.index = index;
    e.item_id = std::string(cols[1]);
    if (cols.size() == 3) e.title = std::string(cols[2]);
    if (e.item_id.empty()) return InvalidArgumentError(where + ": empty item id");
    entries.push_back(std::move(e));
  }
  if (line_no == 0) return InvalidArgumentError(path + ": empty file (no header)");
  StatusOr<Catalog> catalog = FromEntries(std::move(entries));
  if (!catalog.ok()) return catalog.status().WithPrefix(path);
  return catalog;
}

Status Catalog::WriteTsv(const std::string& path) const {
  std::string out = "index\titem_id\ttitle\n";
  for (const CatalogEntry& e : entries_) {
    out += std::to_string(e.index);
    out += '\t';
    out += e.item_id;
    out += '\t';
    out += e.title;
    out += '\n';
  }
  return WriteStringToFile(path, out);
}

const CatalogEntry* Catalog::FindById(std::string_view item_id) const {
  auto it = by_id_.find(std::string(item_id));
  return it == by_id_.end() ? nullptr : &entries_[it->second];
}

const CatalogEntry* Catalog::FindByIndex(int64_t index) const {
  if (index == 0) return nullptr;
  auto it = by_index_.find(index);
  return it == by_index_.end() ? nullptr : &entries_[it->second];
}

}  // namespace sasrecllm::model
