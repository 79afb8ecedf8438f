// The item catalog: external item ids <-> SASRec item indices, and titles.
//
// catalog.tsv (in a bundle) has a header line and three columns:
//   index<TAB>item_id<TAB>title
// index is 1..item_num for items SASRec knows, 0 for items it never saw (cold:
// known by title only). Titles may be empty; they contain no tabs or newlines.
//
// Thread safety: immutable after construction; safe to share.
#ifndef SASRECLLM_MODEL_CATALOG_H_
#define SASRECLLM_MODEL_CATALOG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace sasrecllm::model {

struct CatalogEntry {
  int64_t index = 0;     // SASRec item index, 1..item_num; 0 = not in SASRec
  std::string item_id;   // external id (as in the data set / on the wire)
  std::string title;     // may be empty
};

class Catalog {
 public:
  Catalog() = default;
  // Fails (INVALID_ARGUMENT) on duplicate ids, duplicate non-zero indices or
  // empty ids, naming the entry.
  static StatusOr<Catalog> FromEntries(std::vector<CatalogEntry> entries);
  // Errors name the file and line.
  static StatusOr<Catalog> ReadTsv(const std::string& path);
  Status WriteTsv(const std::string& path) const;

  // nullptr when unknown.
  const CatalogEntry* FindById(std::string_view item_id) const;
  const CatalogEntry* FindByIndex(int64_t index) const;

  const std::vector<CatalogEntry>& entries() const { return entries_; }
  int64_t size() const { return static_cast<int64_t>(entries_.size()); }
  // The largest SASRec index in the catalog.
  int64_t max_index() const { return max_index_; }

 private:
  std::vector<CatalogEntry> entries_;
  std::unordered_map<std::string, size_t> by_id_;
  std::unordered_map<int64_t, size_t> by_index_;
  int64_t max_index_ = 0;
};

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_CATALOG_H_
