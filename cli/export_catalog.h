// The catalog `sasrecllm export` writes into a bundle: items 1..item_num (the
// index is the external id), with titles from an items.tsv when given; items
// of the table beyond item_num (never seen by the model) become cold entries
// (index 0, title only).
#ifndef SASRECLLM_CLI_EXPORT_CATALOG_H_
#define SASRECLLM_CLI_EXPORT_CATALOG_H_

#include <cstdint>
#include <string>

#include "model/catalog.h"
#include "base/status.h"

namespace sasrecllm::cli {

// `items_path` may be "" (no titles). Reports the cold items on stderr.
StatusOr<model::Catalog> CatalogForExport(int64_t item_num, const std::string& items_path);

// Now as "2026-11-27T04:31:44Z".
std::string NowIso8601();

}  // namespace sasrecllm::cli

#endif  // SASRECLLM_CLI_EXPORT_CATALOG_H_
