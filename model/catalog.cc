#include "model/catalog.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "base/file.h"
#include "base/json.h"
#include "base/text.h"

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
  int64_t lines = 0;
  SASRECLLM_RETURN_IF_ERROR(ForEachLine(text, [&](int64_t line_no, std::string_view line) {
    lines = line_no;
    const std::string where = path + ":" + std::to_string(line_no);
    if (line_no == 1) {
      if (line.substr(0, 5) == "index") return OkStatus();
      return InvalidArgumentError(where + ": expected the header \"index<TAB>item_id<TAB>title\"");
    }
    if (line.empty()) return OkStatus();
    const std::vector<std::string_view> cols = SplitOn(line, "\t");
    if (cols.size() < 2 || cols.size() > 3) {
      return InvalidArgumentError(where + ": expected 3 tab-separated columns, got " +
                                  std::to_string(cols.size()));
    }
    CatalogEntry e;
    if (!ParseInt64(cols[0], &e.index) || e.index < 0) {
      return InvalidArgumentError(where + ": bad index \"" + std::string(cols[0]) + "\"");
    }
    e.item_id = std::string(cols[1]);
    if (cols.size() == 3) e.title = std::string(cols[2]);
    if (e.item_id.empty()) return InvalidArgumentError(where + ": empty item id");
    entries.push_back(std::move(e));
    return OkStatus();
  }));
  if (lines == 0) return InvalidArgumentError(path + ": empty file (no header)");
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
