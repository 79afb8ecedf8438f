#include "model/bundle_files.h"

#include <string_view>
#include <vector>

#include "base/file.h"
#include "base/file_digest.h"

namespace sasrecllm::model {
namespace {

constexpr char kManifestFile[] = "manifest.json";

// A listed path must name a file inside the folder: relative, '/'-separated
// parts, none empty, "." or "..".
Status CheckRelativePath(std::string_view path) {
  if (path.empty() || path.front() == '/') {
    return InvalidArgumentError("\"" + std::string(path) + "\" is not a path inside the bundle");
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    SASRECLLM_RETURN_IF_ERROR(
        CheckFileNameInFolder(path.substr(start, end - start), "a path inside the bundle"));
    start = end + 1;
  }
  return OkStatus();
}

bool IsSha256Hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

StatusOr<Json> DescribeBundleFiles(const std::string& dir) {
  SASRECLLM_ASSIGN_OR_RETURN(std::vector<std::string> paths, ListFilesRecursively(dir));
  Json files = Json::object();
  for (const std::string& path : paths) {
    if (path == kManifestFile) continue;
    SASRECLLM_ASSIGN_OR_RETURN(FileDigest d, DigestFile(dir + "/" + path));
    files[path] = {{"bytes", d.bytes}, {"sha256", d.sha256}};
  }
  return files;
}

Status VerifyBundleFiles(const std::string& dir, const Json& files) {
  const std::string where = dir + "/" + kManifestFile + ": key \"files\"";
  if (!files.is_object()) return InvalidArgumentError(where + ": expected an object");
  for (const auto& [path, entry] : files.items()) {
    if (Status s = CheckRelativePath(path); !s.ok()) return s.WithPrefix(where);
    const Json* bytes = entry.is_object() ? FindKey(entry, "bytes") : nullptr;
    const Json* sha256 = entry.is_object() ? FindKey(entry, "sha256") : nullptr;
    if (bytes == nullptr || !bytes->is_number_integer() || sha256 == nullptr ||
        !sha256->is_string() || !IsSha256Hex(sha256->get<std::string>())) {
      return InvalidArgumentError(where + ": \"" + path +
                                  "\": expected {\"bytes\": N, \"sha256\": 64 hex digits}");
    }
    const std::string file = dir + "/" + path;
    if (Status s = CheckRegularFile(file); !s.ok()) {
      if (s.code() == StatusCode::kNotFound) {
        return NotFoundError(file + ": missing (listed in " + kManifestFile + ")");
      }
      return s;
    }
    SASRECLLM_ASSIGN_OR_RETURN(FileDigest d, DigestFile(file));
    if (d.bytes != bytes->get<int64_t>()) {
      return DataLossError(file + ": " + std::to_string(d.bytes) + " bytes, but " +
                           kManifestFile + " says " + std::to_string(bytes->get<int64_t>()) +
                           " (truncated, or changed after export)");
    }
    if (d.sha256 != sha256->get<std::string>()) {
      return DataLossError(file + ": SHA-256 " + d.sha256 + " differs from " + kManifestFile +
                           "'s " + sha256->get<std::string>() +
                           " (corrupted, or changed after export)");
    }
  }
  return OkStatus();
}

}  // namespace sasrecllm::model
