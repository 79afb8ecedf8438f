#include "server/model_loader.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/file.h"
#ifdef SASRECLLM_HAVE_ANN
#include "model/ann/faiss_item_index.h"
#endif
#include "model/hybrid/hybrid_bundle.h"

namespace sasrecllm::server {

namespace {

// The model's status as Abseil's (the codes are numbered alike), "prefix: message".
absl::Status Prefixed(const Status& status, const std::string& prefix) {
  return absl::Status(static_cast<absl::StatusCode>(status.code()),
                      absl::StrCat(prefix, ": ", status.message()));
}

}  // namespace

absl::StatusOr<LoadedModel> LoadModel(const std::string& dir, const ModelLoadOptions& options) {
  model::BundleLoadOptions load_options;
  load_options.dir = dir;
  load_options.device = options.device;
  load_options.dtype = options.dtype;
  auto bundle = model::Bundle::Load(load_options);
  if (!bundle.ok()) {
    return Prefixed(bundle.status(), absl::StrCat("cannot load bundle ", dir));
  }
  LoadedModel loaded;
  loaded.bundle = std::move(bundle).value();
  const std::vector<std::string>& components = loaded.bundle->manifest().components;
  if (options.llm && std::find(components.begin(), components.end(), "llm") != components.end()) {
    llm::LlamaModel::Options llm_options;
    llm_options.device = options.device;
    llm_options.dtype = options.dtype;
    auto llm = hybrid::LoadBundleHybridModel(*loaded.bundle, llm_options);
    if (!llm.ok()) {
      return Prefixed(llm.status(), absl::StrCat("cannot load the LLM stage of ", dir,
                                                 " (--llm=false serves SASRec only)"));
    }
    loaded.llm = std::move(llm).value();
  }
  const model::BundleManifest& manifest = loaded.bundle->manifest();
  loaded.retrieval = "exact";
  if (options.retrieval != "exact") {
    if (!manifest.item_index.is_object()) {
      if (options.retrieval == "ann") {
        loaded.retrieval = "exact (--retrieval=ann, but the bundle has no item index: "
                           "`sasrecllm build-index` adds one)";
      }
      return loaded;
    }
#ifndef SASRECLLM_HAVE_ANN
    loaded.retrieval = "exact (this build has no FAISS: the bundle's item index is not used)";
    return loaded;
#else
    auto index = ann::FaissItemIndex::Load(loaded.bundle->item_index_path());
    if (!index.ok()) {
      return Prefixed(index.status(), absl::StrCat("cannot load the item index of ", dir,
                                                   " (--retrieval=exact serves without it)"));
    }
    (*index)->set_factory(manifest.item_index.value("factory", ""));
    const std::string params = options.ann_search_params.empty()
                                   ? manifest.item_index.value("search_params", "")
                                   : options.ann_search_params;
    if (Status s = (*index)->SetSearchParams(params); !s.ok()) {
      return Prefixed(s, absl::StrCat("--ann-search-params for ", dir));
    }
    if ((*index)->size() != manifest.sasrec.item_num || (*index)->dim() != manifest.sasrec.hidden_units) {
      return absl::InvalidArgumentError(absl::StrCat(
          loaded.bundle->item_index_path(), ": indexes ", (*index)->size(), " items of width ",
          (*index)->dim(), ", but the bundle's SASRec has ", manifest.sasrec.item_num, " of width ",
          manifest.sasrec.hidden_units));
    }
    loaded.retrieval = (*index)->Describe();
    loaded.retriever = std::move(*index);
#endif
  }
  return loaded;
}

absl::StatusOr<std::string> ReloadTarget(const std::string& bundle,
                                         const std::string& path_file) {
  if (path_file.empty()) return bundle;
  StatusOr<std::string> text = ReadFileToString(path_file);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--reload-path-file: ", text.status().message()));
  }
  const std::string first_line(absl::StripAsciiWhitespace(
      std::vector<absl::string_view>(absl::StrSplit(*text, '\n')).front()));
  if (first_line.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--reload-path-file ", path_file, ": the first line names no bundle folder"));
  }
  return first_line;
}

}  // namespace sasrecllm::server
