#include "model/llm/tokenizers/spm_tokenizer.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace sasrecllm::llm {

// The plugin built from spm_shim.cc (see there for why it is not linked).
struct SpmTokenizer::Api {
  void* (*load)(const char*, std::string*) = nullptr;
  void (*free)(void*) = nullptr;
  bool (*encode)(const void*, const std::string*, std::vector<int>*) = nullptr;
  bool (*decode)(const void*, const std::vector<int>*, std::string*) = nullptr;
  void (*info)(const void*, int*, int*, int*) = nullptr;
  int (*piece_to_id)(const void*, const std::string*) = nullptr;
};

namespace {

// Where the plugin is: $SASRECLLM_SPM_SHIM when set; else beside an installed
// binary (PREFIX/bin/X -> PREFIX/lib/sasrecllm/, what `cmake --install` and
// the container image lay out); else where this build wrote it.
std::string PluginPath() {
  const char* env = std::getenv("SASRECLLM_SPM_SHIM");
  if (env != nullptr && *env != '\0') return env;
  std::error_code error;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    const std::filesystem::path installed =
        exe.parent_path().parent_path() / "lib" / "sasrecllm" / SASRECLLM_SPM_SHIM_NAME;
    if (std::filesystem::exists(installed, error)) return installed.string();
  }
  return SASRECLLM_SPM_SHIM_PATH;
}

// Loads the plugin once per process; never unloaded.
StatusOr<const SpmTokenizer::Api*> LoadApi() {
  static const auto* const result = []() -> StatusOr<const SpmTokenizer::Api*>* {
    const std::string shim = PluginPath();
    void* handle = ::dlopen(shim.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (handle == nullptr) {
      const char* why = ::dlerror();
      return new StatusOr<const SpmTokenizer::Api*>(FailedPreconditionError(
          "cannot load the SentencePiece plugin " + shim + ": " + (why ? why : "?")));
    }
    auto* api = new SpmTokenizer::Api();
    api->load = reinterpret_cast<decltype(api->load)>(::dlsym(handle, "SasrecllmSpmLoad"));
    api->free = reinterpret_cast<decltype(api->free)>(::dlsym(handle, "SasrecllmSpmFree"));
    api->encode = reinterpret_cast<decltype(api->encode)>(::dlsym(handle, "SasrecllmSpmEncode"));
    api->decode = reinterpret_cast<decltype(api->decode)>(::dlsym(handle, "SasrecllmSpmDecode"));
    api->info = reinterpret_cast<decltype(api->info)>(::dlsym(handle, "SasrecllmSpmInfo"));
    api->piece_to_id =
        reinterpret_cast<decltype(api->piece_to_id)>(::dlsym(handle, "SasrecllmSpmPieceToId"));
    if (!api->load || !api->free || !api->encode || !api->decode || !api->info ||
        !api->piece_to_id) {
      return new StatusOr<const SpmTokenizer::Api*>(
          FailedPreconditionError("SentencePiece plugin " + shim + " lacks a Sasrecllm* symbol"));
    }
    return new StatusOr<const SpmTokenizer::Api*>(api);
  }();
  return *result;
}

}  // namespace

StatusOr<std::unique_ptr<SpmTokenizer>> SpmTokenizer::Load(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFoundError("SentencePiece model not found: " + path);
  }
  SASRECLLM_ASSIGN_OR_RETURN(const Api* api, LoadApi());
  std::string error;
  void* processor = api->load(path.c_str(), &error);
  if (processor == nullptr) {
    return DataLossError("cannot load SentencePiece model " + path + ": " + error);
  }
  std::unique_ptr<SpmTokenizer> tokenizer(new SpmTokenizer());
  tokenizer->api_ = api;
  tokenizer->processor_ = processor;
  tokenizer->path_ = path;
  api->info(processor, &tokenizer->vocab_size_, &tokenizer->bos_id_, &tokenizer->eos_id_);
  if (tokenizer->vocab_size_ <= 0) {
    return DataLossError("SentencePiece model " + path + " has an empty vocabulary");
  }
  return tokenizer;
}

SpmTokenizer::~SpmTokenizer() {
  if (processor_ != nullptr) api_->free(processor_);
}

std::vector<int> SpmTokenizer::EncodeRaw(const std::string& text) const {
  std::vector<int> ids;
  // Encoding with a loaded model only fails on internal errors; give no ids
  // rather than half a sequence.
  if (!api_->encode(processor_, &text, &ids)) ids.clear();
  return ids;
}

std::vector<int> SpmTokenizer::Encode(std::string_view text, bool bos, bool eos,
                                      bool leading_space) const {
  std::vector<int> ids;
  if (leading_space || text.empty()) {
    ids = EncodeRaw(std::string(text));
  } else {
    // See the header: "\n" + text, less the ids of "\n".
    const std::vector<int> marker = EncodeRaw("\n");
    ids = EncodeRaw("\n" + std::string(text));
    if (!marker.empty() && ids.size() >= marker.size() &&
        std::equal(marker.begin(), marker.end(), ids.begin())) {
      ids.erase(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(marker.size()));
    } else {
      ids = EncodeRaw(std::string(text));
      const int lone_prefix = PieceToId("\xE2\x96\x81");  // "▁"
      if (text[0] != ' ' && !ids.empty() && lone_prefix >= 0 && ids[0] == lone_prefix) {
        ids.erase(ids.begin());
      }
    }
  }
  if (bos && bos_id_ >= 0) ids.insert(ids.begin(), bos_id_);
  if (eos && eos_id_ >= 0) ids.push_back(eos_id_);
  return ids;
}

int SpmTokenizer::PieceToId(std::string_view piece) const {
  const std::string p(piece);
  return api_->piece_to_id(processor_, &p);
}

std::string SpmTokenizer::Decode(const std::vector<int>& ids) const {
  std::vector<int> valid;
  valid.reserve(ids.size());
  for (int id : ids) {
    if (id >= 0 && id < vocab_size_) valid.push_back(id);
  }
  std::string text;
  if (!api_->decode(processor_, &valid, &text)) text.clear();
  return text;
}

}  // namespace sasrecllm::llm
