#include "model/bundle.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "base/file.h"
#include "model/bundle_files.h"
#include "model/safetensors.h"
#include "model/torch_errors.h"

namespace sasrecllm::model {

namespace fs = std::filesystem;

namespace {
constexpr char kManifestFile[] = "manifest.json";
constexpr char kCatalogFile[] = "catalog.tsv";
constexpr char kSasrecFile[] = "sasrec.safetensors";

// The manifest's "item_index": a FAISS index file inside the folder that
// covers exactly SASRec's items at its width (the index itself is read and
// checked by model/ann/, which model/ does not depend on).
Status CheckItemIndexEntry(const Json& index, const SasrecConfig& sasrec, int64_t version) {
  if (version < 2) {
    return InvalidArgumentError("key \"item_index\" needs format_version 2, got " +
                                std::to_string(version));
  }
  if (!index.is_object()) return InvalidArgumentError("key \"item_index\": expected object");
  SASRECLLM_ASSIGN_OR_RETURN(std::string kind, GetString(index, "kind"));
  if (kind != "faiss") {
    return UnimplementedError("item_index kind \"" + kind + "\" is not supported (only \"faiss\")");
  }
  SASRECLLM_ASSIGN_OR_RETURN(std::string path, GetString(index, "file"));
  if (path.empty() || path.find('/') != std::string::npos || path == "." || path == "..") {
    return InvalidArgumentError("item_index file \"" + path +
                                "\" must be a plain file name in the bundle folder");
  }
  SASRECLLM_ASSIGN_OR_RETURN(std::string metric, GetString(index, "metric"));
  if (metric != "inner_product") {
    return InvalidArgumentError("item_index metric \"" + metric + "\": expected inner_product");
  }
  SASRECLLM_ASSIGN_OR_RETURN(int64_t items, GetInt(index, "items"));
  SASRECLLM_ASSIGN_OR_RETURN(int64_t dim, GetInt(index, "dim"));
  if (items != sasrec.item_num || dim != sasrec.hidden_units) {
    return InvalidArgumentError("item_index covers " + std::to_string(items) + " items of width " +
                                std::to_string(dim) + ", but sasrec has item_num " +
                                std::to_string(sasrec.item_num) + " and hidden_units " +
                                std::to_string(sasrec.hidden_units));
  }
  return OkStatus();
}
}  // namespace

// ---------------------------------------------------------------------------
// Manifest
// ---------------------------------------------------------------------------

Json BundleManifest::ToJson() const {
  Json j = {{"format", kBundleFormat},
            {"format_version", format_version()},
            {"model_version", model_version},
            {"created_at", created_at},
            {"sasrec", sasrec.ToJson()},
            {"max_history", max_history},
            {"components", components},
            {"extra", extra.is_object() ? extra : Json::object()}};
  if (hybrid.is_object()) j["hybrid"] = hybrid;
  if (item_index.is_object()) j["item_index"] = item_index;
  if (files.is_object()) j["files"] = files;
  return j;
}

StatusOr<BundleManifest> BundleManifest::FromJson(const Json& json) {
  const std::string file = kManifestFile;
  if (!json.is_object()) return InvalidArgumentError(file + ": expected a JSON object");
  StatusOr<std::string> format = GetString(json, "format");
  if (!format.ok()) return format.status().WithPrefix(file);
  if (*format != kBundleFormat) {
    return InvalidArgumentError(file + ": format is \"" + *format + "\", expected \"" +
                                kBundleFormat + "\"");
  }
  StatusOr<int64_t> version = GetInt(json, "format_version");
  if (!version.ok()) return version.status().WithPrefix(file);
  if (*version < kBundleFormatVersionWithoutIndex || *version > kBundleFormatVersion) {
    return FailedPreconditionError(file + ": format_version " + std::to_string(*version) +
                                   " is not supported (this build reads versions " +
                                   std::to_string(kBundleFormatVersionWithoutIndex) + " to " +
                                   std::to_string(kBundleFormatVersion) + ")");
  }
  BundleManifest m;
  StatusOr<std::string> model_version = GetString(json, "model_version");
  if (!model_version.ok()) return model_version.status().WithPrefix(file);
  if (model_version->empty()) return InvalidArgumentError(file + ": empty model_version");
  m.model_version = *model_version;
  if (FindKey(json, "created_at") != nullptr) {
    StatusOr<std::string> created = GetString(json, "created_at");
    if (!created.ok()) return created.status().WithPrefix(file);
    m.created_at = *created;
  }
  const Json* sasrec = FindKey(json, "sasrec");
  if (sasrec == nullptr) return InvalidArgumentError(file + ": missing key \"sasrec\"");
  StatusOr<SasrecConfig> config = SasrecConfig::FromJson(*sasrec);
  if (!config.ok()) return config.status().WithPrefix(file + ": sasrec");
  m.sasrec = *config;
  m.max_history = std::min(m.sasrec.maxlen, kMaxHistoryLimit);
  if (FindKey(json, "max_history") != nullptr) {
    StatusOr<int64_t> max_history = GetInt(json, "max_history");
    if (!max_history.ok()) return max_history.status().WithPrefix(file);
    if (*max_history < 1 || *max_history > kMaxHistoryLimit) {
      return InvalidArgumentError(file + ": max_history " + std::to_string(*max_history) +
                                  " must be in [1, " + std::to_string(kMaxHistoryLimit) + "]");
    }
    m.max_history = *max_history;
  }
  if (const Json* comps = FindKey(json, "components"); comps != nullptr) {
    if (!comps->is_array()) return InvalidArgumentError(file + ": key \"components\": expected array");
    m.components.clear();
    for (const Json& c : *comps) {
      if (!c.is_string()) {
        return InvalidArgumentError(file + ": key \"components\": expected strings, got " + DumpJson(c));
      }
      m.components.push_back(c.get<std::string>());
    }
  }
  if (const Json* extra = FindKey(json, "extra"); extra != nullptr) {
    if (!extra->is_object()) return InvalidArgumentError(file + ": key \"extra\": expected object");
    m.extra = *extra;
  }
  if (const Json* hybrid = FindKey(json, "hybrid"); hybrid != nullptr) {
    if (!hybrid->is_object()) return InvalidArgumentError(file + ": key \"hybrid\": expected object");
    m.hybrid = *hybrid;
  }
  if (const Json* index = FindKey(json, "item_index"); index != nullptr) {
    SASRECLLM_RETURN_IF_ERROR(CheckItemIndexEntry(*index, m.sasrec, *version).WithPrefix(file));
    m.item_index = *index;
  }
  if (const Json* files = FindKey(json, "files"); files != nullptr) {
    if (!files->is_object()) return InvalidArgumentError(file + ": key \"files\": expected object");
    m.files = *files;  // its entries are checked against the folder (VerifyBundleFiles)
  }
  return m;
}

// ---------------------------------------------------------------------------
// Load
// ---------------------------------------------------------------------------

StatusOr<std::unique_ptr<Bundle>> Bundle::Load(const BundleLoadOptions& options) {
  const fs::path dir(options.dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return NotFoundError("bundle folder " + options.dir + " does not exist");
  }
  // No file the loaders open below may lead out of the folder.
  SASRECLLM_RETURN_IF_ERROR(CheckLinksStayInFolder(options.dir));
  std::unique_ptr<Bundle> bundle(new Bundle());
  bundle->options_ = options;

  // manifest.json
  const std::string manifest_path = (dir / kManifestFile).string();
  SASRECLLM_ASSIGN_OR_RETURN(Json manifest_json, ReadJsonFile(manifest_path));
  StatusOr<BundleManifest> manifest = BundleManifest::FromJson(manifest_json);
  if (!manifest.ok()) return manifest.status().WithPrefix(options.dir);
  bundle->manifest_ = std::move(*manifest);
  // Every file whole and unchanged before any is parsed.
  if (!bundle->manifest_.files.is_null()) {
    SASRECLLM_RETURN_IF_ERROR(VerifyBundleFiles(options.dir, bundle->manifest_.files));
  }
  const SasrecConfig& config = bundle->manifest_.sasrec;
  // The hybrid components are loaded by model/hybrid (hybrid_bundle.h); here
  // their files must at least be there.
  for (const std::string& c : bundle->manifest_.components) {
    std::string needed;
    if (c == "mapping") {
      needed = (dir / "mapping.safetensors").string();
    } else if (c == "llm") {
      needed = (dir / "llm" / "config.json").string();
      if (!bundle->manifest_.hybrid.is_object()) {
        return InvalidArgumentError(manifest_path + ": component \"llm\" needs the \"hybrid\" "
                                    "object (prompt template, yes_token_id)");
      }
    } else if (c != "sasrec") {
      return UnimplementedError(manifest_path + ": component \"" + c +
                                "\" is not supported by this build");
    }
    if (!needed.empty() && !std::filesystem::exists(needed)) {
      return NotFoundError(manifest_path + ": component \"" + c + "\" but " + needed +
                           " is missing");
    }
  }
  if (std::find(bundle->manifest_.components.begin(), bundle->manifest_.components.end(),
                "sasrec") == bundle->manifest_.components.end()) {
    return InvalidArgumentError(manifest_path + ": components must include \"sasrec\"");
  }

  if (bundle->manifest_.item_index.is_object() && bundle->manifest_.files.is_null()) {
    return InvalidArgumentError(manifest_path + ": item_index needs the \"files\" list (each "
                                "file's size and SHA-256): FAISS's reader trusts the index file, "
                                "so it is read only when its digest is vouched for");
  }
  if (bundle->manifest_.item_index.is_object() &&
      !fs::is_regular_file(bundle->item_index_path(), ec)) {
    return NotFoundError(manifest_path + ": item_index but " + bundle->item_index_path() +
                         " is missing");
  }

  // catalog.tsv
  const std::string catalog_path = (dir / kCatalogFile).string();
  SASRECLLM_ASSIGN_OR_RETURN(bundle->catalog_, Catalog::ReadTsv(catalog_path));
  if (bundle->catalog_.max_index() > config.item_num) {
    const CatalogEntry* e = bundle->catalog_.FindByIndex(bundle->catalog_.max_index());
    return InvalidArgumentError(catalog_path + ": item \"" + e->item_id + "\" has index " +
                                std::to_string(e->index) + " beyond item_num = " +
                                std::to_string(config.item_num) + " in " + kManifestFile);
  }

  // sasrec.safetensors
  const std::string sasrec_path = (dir / kSasrecFile).string();
  SASRECLLM_ASSIGN_OR_RETURN(auto tensors, ReadSafetensors(sasrec_path));
  // The module is allocated from the manifest's numbers: first check that the
  // file holds at least the values those numbers need (embeddings and the
  // blocks' four HxH matrices), so a manifest cannot claim a model bigger
  // than its weights file.
  int64_t values_in_file = 0;
  for (const auto& [name, t] : tensors) values_in_file += t.numel();
  const double h = static_cast<double>(config.hidden_units);
  const double values_needed =
      (static_cast<double>(config.item_num) + 1 + static_cast<double>(config.maxlen)) * h +
      static_cast<double>(config.num_blocks) * 4 * h * h;
  if (values_needed > static_cast<double>(values_in_file)) {
    return InvalidArgumentError(sasrec_path + " holds " + std::to_string(values_in_file) +
                                " values; the sasrec config in " + kManifestFile + " (item_num " +
                                std::to_string(config.item_num) + ", maxlen " +
                                std::to_string(config.maxlen) + ", hidden_units " +
                                std::to_string(config.hidden_units) + ", num_blocks " +
                                std::to_string(config.num_blocks) + ") needs at least " +
                                std::to_string(static_cast<int64_t>(values_needed)));
  }
  try {
    Sasrec model(config);
    Status loaded = model->LoadStateDict(tensors);
    if (!loaded.ok()) {
      return loaded.WithPrefix(sasrec_path + " (against the sasrec config in " +
                               std::string(kManifestFile) + ")");
    }
    tensors.clear();
    model->to(options.device, options.dtype);
    model->eval();
    bundle->sasrec_ = model;
  } catch (const std::exception& e) {
    std::ostringstream msg;
    msg << sasrec_path << ": cannot place the model on " << options.device << " as "
        << options.dtype << ": " << TorchErrorMessage(e);
    return InvalidArgumentError(msg.str());
  }
  return bundle;
}

std::string Bundle::item_index_path() const {
  if (!manifest_.item_index.is_object()) return "";
  return (fs::path(options_.dir) / manifest_.item_index.at("file").get<std::string>()).string();
}

// ---------------------------------------------------------------------------
// Write
// ---------------------------------------------------------------------------

Status ReplaceBundleFolder(const std::string& dir,
                           const std::function<Status(const std::string& staging)>& write) {
  std::error_code ec;
  if (fs::is_directory(dir, ec) && !fs::is_empty(dir, ec) &&
      !fs::exists(fs::path(dir) / kManifestFile, ec)) {
    return FailedPreconditionError(dir + ": holds files but no " + kManifestFile +
                                   ": not a bundle folder, so it is not replaced");
  }
  return ReplaceFolderAtomically(dir, write);
}

Status WriteBundle(const std::string& dir, const BundleManifest& manifest, const Catalog& catalog,
                   const Sasrec& sasrec) {
  return ReplaceBundleFolder(dir, [&](const std::string& staging) {
    return WriteBundleInto(staging, manifest, catalog, sasrec);
  });
}

Status WriteBundleInto(const std::string& dir, const BundleManifest& manifest,
                       const Catalog& catalog, const Sasrec& sasrec) {
  if (sasrec.is_empty()) return InvalidArgumentError("WriteBundle: no SASRec model");
  // The manifest describes the model actually written.
  BundleManifest m = manifest;
  m.sasrec = sasrec->config();
  SASRECLLM_RETURN_IF_ERROR(m.sasrec.Validate());
  if (m.model_version.empty()) return InvalidArgumentError("WriteBundle: empty model_version");
  if (catalog.max_index() > m.sasrec.item_num) {
    const CatalogEntry* e = catalog.FindByIndex(catalog.max_index());
    return InvalidArgumentError("WriteBundle: catalog item \"" + e->item_id + "\" has index " +
                                std::to_string(e->index) + " beyond item_num = " +
                                std::to_string(m.sasrec.item_num));
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return InternalError(dir + ": cannot create folder: " + ec.message());
  const fs::path d(dir);
  // Weights and catalog first, manifest last: a folder with a manifest is complete.
  SASRECLLM_RETURN_IF_ERROR(WriteSafetensors((d / kSasrecFile).string(), sasrec->StateDict(),
                                             {{"format", "pt"}, {"source", "sasrecllm"}}));
  SASRECLLM_RETURN_IF_ERROR(catalog.WriteTsv((d / kCatalogFile).string()));
  SASRECLLM_ASSIGN_OR_RETURN(m.files, DescribeBundleFiles(dir));
  return WriteStringToFile((d / kManifestFile).string(), DumpJson(m.ToJson(), 2) + "\n");
}

Status UpdateBundle(const std::string& dir, const BundleManifest& manifest,
                    const std::function<Status(const std::string& staging)>& add) {
  const fs::path source(dir);
  SASRECLLM_ASSIGN_OR_RETURN(Json old_json, ReadJsonFile((source / kManifestFile).string()));
  std::string old_index;
  if (const Json* index = FindKey(old_json, "item_index"); index != nullptr && index->is_object()) {
    old_index = index->value("file", "");
  }
  return ReplaceBundleFolder(dir, [&](const std::string& staging) -> Status {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(source, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const fs::path rel = fs::relative(it->path(), source, ec);
      if (ec) break;
      const fs::path target = fs::path(staging) / rel;
      if (it->is_directory(ec)) {
        fs::create_directories(target, ec);
        continue;
      }
      if (rel == kManifestFile || (!old_index.empty() && rel == old_index)) continue;
      fs::create_hard_link(it->path(), target, ec);
      if (ec) {
        ec.clear();
        fs::copy_file(it->path(), target, ec);
      }
      if (ec) return DataLossError(target.string() + ": cannot copy: " + ec.message());
    }
    if (ec) return DataLossError(dir + ": cannot list: " + ec.message());
    SASRECLLM_RETURN_IF_ERROR(add(staging));
    BundleManifest m = manifest;
    SASRECLLM_ASSIGN_OR_RETURN(m.files, DescribeBundleFiles(staging));
    return WriteStringToFile((fs::path(staging) / kManifestFile).string(),
                             DumpJson(m.ToJson(), 2) + "\n");
  });
}

}  // namespace sasrecllm::model
