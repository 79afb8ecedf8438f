#include "model/safetensors.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <memory>
#include <sstream>
#include <vector>

#include "base/file.h"
#include "base/json.h"
#include "model/torch_errors.h"

namespace sasrecllm::model {
namespace {

// The format is little-endian; so is every machine this runs on.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes little-endian");

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the reference implementation's limit

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
  int64_t itemsize;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8}, {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeInfo* FindDtype(const std::string& name) {
  for (const auto& d : kDtypes) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

const DtypeInfo* FindDtype(torch::ScalarType type) {
  for (const auto& d : kDtypes) {
    if (type == d.type) return &d;
  }
  return nullptr;
}

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

struct Entry {
  std::string name;
  const DtypeInfo* dtype = nullptr;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

// Parses one tensor's header entry. Errors are relative ("tensor \"x\": ...").
Status ParseEntry(const std::string& name, const Json& j, Entry* out) {
  const std::string where = "tensor \"" + name + "\"";
  if (!j.is_object()) return DataLossError(where + ": header entry is not an object");
  out->name = name;
  const Json* dtype = FindKey(j, "dtype");
  if (dtype == nullptr || !dtype->is_string()) {
    return DataLossError(where + ": missing or non-string \"dtype\"");
  }
  out->dtype = FindDtype(dtype->get<std::string>());
  if (out->dtype == nullptr) {
    return InvalidArgumentError(where + ": unsupported dtype \"" + dtype->get<std::string>() +
                                "\" (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
  }
  const Json* shape = FindKey(j, "shape");
  if (shape == nullptr || !shape->is_array()) {
    return DataLossError(where + ": missing or non-array \"shape\"");
  }
  uint64_t numel = 1;
  for (const Json& d : *shape) {
    if (!IsInteger(d) || d.get<int64_t>() < 0) {
      return DataLossError(where + ": shape has a bad dimension " + DumpJson(d));
    }
    const uint64_t dim = static_cast<uint64_t>(d.get<int64_t>());
    if (dim != 0 && numel > (uint64_t{1} << 62) / dim) {
      return DataLossError(where + ": shape " + DumpJson(*shape) + " is too large");
    }
    numel *= dim;
    out->shape.push_back(d.get<int64_t>());
  }
  const Json* offsets = FindKey(j, "data_offsets");
  if (offsets == nullptr || !offsets->is_array() || offsets->size() != 2 ||
      !IsInteger((*offsets)[0]) || !IsInteger((*offsets)[1]) || (*offsets)[0].get<int64_t>() < 0 ||
      (*offsets)[1].get<int64_t>() < (*offsets)[0].get<int64_t>()) {
    return DataLossError(where + ": \"data_offsets\" must be [begin, end] with 0 <= begin <= end" +
                         (offsets != nullptr ? ", got " + DumpJson(*offsets) : ""));
  }
  out->begin = static_cast<uint64_t>((*offsets)[0].get<int64_t>());
  out->end = static_cast<uint64_t>((*offsets)[1].get<int64_t>());
  // Checked before multiplying: 2^62 x F32 would wrap to 0 bytes and match an
  // empty [x, x] range.
  if (numel > (uint64_t{1} << 62) / static_cast<uint64_t>(out->dtype->itemsize)) {
    return DataLossError(where + ": shape " + DumpJson(*shape) + " x " + out->dtype->name +
                         " is too large");
  }
  const uint64_t expected = numel * static_cast<uint64_t>(out->dtype->itemsize);
  if (out->end - out->begin != expected) {
    return DataLossError(where + ": shape " + DumpJson(*shape) + " x " + out->dtype->name +
                         " needs " + std::to_string(expected) + " bytes, data_offsets span " +
                         std::to_string(out->end - out->begin));
  }
  return OkStatus();
}

// A checked file: its tensors' entries in offset order, tiling the data
// section exactly, which starts at byte `data_start` of a `file_size`-byte
// file.
struct Layout {
  std::vector<Entry> entries;
  uint64_t data_start = 0;
  uint64_t file_size = 0;
};

// Reads and checks the header of the open file `f` (positioned anywhere).
StatusOr<Layout> ReadLayout(std::FILE* f, const std::string& path,
                            std::map<std::string, std::string>* metadata) {
  if (std::fseek(f, 0, SEEK_END) != 0) return DataLossError(path + ": cannot seek");
  const long file_size_long = std::ftell(f);
  if (file_size_long < 0) return DataLossError(path + ": cannot tell the file size");
  const uint64_t file_size = static_cast<uint64_t>(file_size_long);
  std::rewind(f);

  if (file_size < 8) {
    return DataLossError(path + ": file is " + std::to_string(file_size) +
                         " bytes, shorter than the 8-byte header length");
  }
  unsigned char len_bytes[8];
  if (std::fread(len_bytes, 1, 8, f) != 8) return DataLossError(path + ": read error");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > file_size - 8) {
    return DataLossError(path + ": header length " + std::to_string(header_len) +
                         " runs beyond the end of the file (" + std::to_string(file_size) +
                         " bytes)");
  }
  if (header_len > kMaxHeaderBytes) {
    return DataLossError(path + ": header length " + std::to_string(header_len) +
                         " exceeds the limit of " + std::to_string(kMaxHeaderBytes));
  }
  std::string header(header_len, '\0');
  if (header_len > 0 && std::fread(header.data(), 1, header_len, f) != header_len) {
    return DataLossError(path + ": read error in the header");
  }
  StatusOr<Json> json = ParseJson(header, "header");
  if (!json.ok()) {
    return DataLossError(path + ": bad header JSON: " + json.status().message());
  }
  if (!json->is_object()) return DataLossError(path + ": header is not a JSON object");

  Layout layout;
  std::vector<Entry>& entries = layout.entries;
  for (const auto& [name, value] : json->items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) return DataLossError(path + ": \"__metadata__\" is not an object");
      if (metadata != nullptr) {
        for (const auto& [k, v] : value.items()) {
          if (!v.is_string()) {
            return DataLossError(path + ": \"__metadata__\" value of \"" + k +
                                 "\" is not a string");
          }
          (*metadata)[k] = v.get<std::string>();
        }
      }
      continue;
    }
    Entry entry;
    Status s = ParseEntry(name, value, &entry);
    if (!s.ok()) return s.WithPrefix(path);
    entries.push_back(std::move(entry));
  }

  // The tensors' byte ranges must tile the data section exactly, without
  // gaps or overlaps.
  const uint64_t data_size = file_size - 8 - header_len;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t cursor = 0;
  for (const Entry& e : entries) {
    if (e.begin < cursor) {
      return DataLossError(path + ": tensor \"" + e.name + "\": data_offsets [" +
                           std::to_string(e.begin) + ", " + std::to_string(e.end) +
                           "] overlap the previous tensor (ends at " + std::to_string(cursor) +
                           ")");
    }
    if (e.begin > cursor) {
      return DataLossError(path + ": tensor \"" + e.name + "\": data_offsets begin at " +
                           std::to_string(e.begin) + ", leaving a gap from " +
                           std::to_string(cursor));
    }
    if (e.end > data_size) {
      return DataLossError(path + ": tensor \"" + e.name + "\": data_offsets end at " +
                           std::to_string(e.end) + " but the data section has only " +
                           std::to_string(data_size) + " bytes (truncated file?)");
    }
    cursor = e.end;
  }
  if (cursor != data_size) {
    return DataLossError(path + ": the tensors cover " + std::to_string(cursor) +
                         " bytes of a " + std::to_string(data_size) + "-byte data section");
  }
  layout.data_start = 8 + header_len;
  layout.file_size = file_size;
  return layout;
}

StatusOr<File> OpenForReading(const std::string& path) {
  SASRECLLM_RETURN_IF_ERROR(CheckRegularFile(path));
  File f(std::fopen(path.c_str(), "rb"));
  if (f == nullptr) {
    const int err = errno;
    std::string msg = path + ": cannot open: " + std::strerror(err);
    return err == ENOENT ? NotFoundError(msg) : DataLossError(msg);
  }
  return f;
}

StatusOr<std::map<std::string, torch::Tensor>> ReadImpl(
    const std::string& path, std::map<std::string, std::string>* metadata) {
  SASRECLLM_ASSIGN_OR_RETURN(File f, OpenForReading(path));
  SASRECLLM_ASSIGN_OR_RETURN(Layout layout, ReadLayout(f.get(), path, metadata));
  // Read each tensor straight into its own storage.
  std::map<std::string, torch::Tensor> out;
  try {
    if (std::fseek(f.get(), static_cast<long>(layout.data_start), SEEK_SET) != 0) {
      return DataLossError(path + ": cannot seek");
    }
    for (const Entry& e : layout.entries) {
      torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype->type));
      const uint64_t nbytes = e.end - e.begin;
      if (nbytes > 0) {
        // Entries are in offset order and tile the section: already positioned.
        if (std::fread(t.data_ptr(), 1, nbytes, f.get()) != nbytes) {
          return DataLossError(path + ": tensor \"" + e.name + "\": short read (truncated?)");
        }
      }
      out.emplace(e.name, std::move(t));
    }
  } catch (const std::exception& err) {
    return InternalError(path + ": " + TorchErrorMessage(err));
  }
  return out;
}

// A private mapping of a whole file, unmapped when the last tensor viewing it
// is freed.
class FileMapping {
 public:
  FileMapping(unsigned char* base, size_t size) : base_(base), size_(size) {}
  FileMapping(const FileMapping&) = delete;
  FileMapping& operator=(const FileMapping&) = delete;
  ~FileMapping() { munmap(base_, size_); }

  unsigned char* base() const { return base_; }

  // Gives back the resident pages that lie wholly inside [begin, end) (file
  // offsets): one tensor's bytes, once the tensor is freed. Pages it shares
  // with a neighbour stay. A later touch would read the file again.
  void Release(uint64_t begin, uint64_t end) const {
    const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    const uint64_t first = (begin + page - 1) / page * page;
    const uint64_t last = end / page * page;
    if (last > first) madvise(base_ + first, last - first, MADV_DONTNEED);
  }

 private:
  unsigned char* base_;
  size_t size_;
};

StatusOr<std::map<std::string, torch::Tensor>> MapImpl(
    const std::string& path, std::map<std::string, std::string>* metadata) {
  SASRECLLM_ASSIGN_OR_RETURN(File f, OpenForReading(path));
  SASRECLLM_ASSIGN_OR_RETURN(Layout layout, ReadLayout(f.get(), path, metadata));
  // Read-write and private: a tensor written in place gets its own copy of
  // the page (copy-on-write), and the file never changes.
  void* base = mmap(nullptr, layout.file_size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
                    fileno(f.get()), 0);
  if (base == MAP_FAILED) {
    return DataLossError(path + ": cannot map: " + std::strerror(errno));
  }
  auto mapping = std::make_shared<FileMapping>(static_cast<unsigned char*>(base),
                                               static_cast<size_t>(layout.file_size));
  std::map<std::string, torch::Tensor> out;
  try {
    for (const Entry& e : layout.entries) {
      const uint64_t begin = layout.data_start + e.begin;
      const uint64_t end = layout.data_start + e.end;
      unsigned char* data = mapping->base() + begin;
      const auto options = torch::TensorOptions().dtype(e.dtype->type);
      torch::Tensor t;
      if (reinterpret_cast<uintptr_t>(data) % static_cast<uintptr_t>(e.dtype->itemsize) != 0 ||
          e.begin == e.end) {
        // Misaligned for its dtype (a writer that does not pad the header):
        // a copy, so that kernels see aligned elements.
        t = torch::empty(e.shape, options);
        if (e.end > e.begin) std::memcpy(t.data_ptr(), data, e.end - e.begin);
      } else {
        t = torch::from_blob(
            data, e.shape,
            [mapping, begin, end](void*) { mapping->Release(begin, end); }, options);
      }
      out.emplace(e.name, std::move(t));
    }
  } catch (const std::exception& err) {
    return InternalError(path + ": " + TorchErrorMessage(err));
  }
  return out;
}

}  // namespace

StatusOr<std::map<std::string, torch::Tensor>> ReadSafetensors(const std::string& path) {
  return ReadImpl(path, nullptr);
}

StatusOr<std::map<std::string, torch::Tensor>> ReadSafetensors(
    const std::string& path, std::map<std::string, std::string>* metadata) {
  return ReadImpl(path, metadata);
}

StatusOr<std::map<std::string, torch::Tensor>> MapSafetensors(
    const std::string& path, std::map<std::string, std::string>* metadata) {
  return MapImpl(path, metadata);
}

Status WriteSafetensors(const std::string& path,
                        const std::map<std::string, torch::Tensor>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  // Contiguous CPU copies (views where already so), in name order.
  std::vector<std::pair<std::string, torch::Tensor>> ordered;
  Json header = Json::object();
  if (!metadata.empty()) {
    Json meta = Json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  try {
    for (const auto& [name, tensor] : tensors) {
      if (name.empty() || name == "__metadata__") {
        return InvalidArgumentError(path + ": invalid tensor name \"" + name + "\"");
      }
      if (!tensor.defined()) {
        return InvalidArgumentError(path + ": tensor \"" + name + "\" is undefined");
      }
      const DtypeInfo* dtype = FindDtype(tensor.scalar_type());
      if (dtype == nullptr) {
        std::ostringstream msg;
        msg << path << ": tensor \"" << name << "\" has unsupported dtype "
            << tensor.scalar_type();
        return InvalidArgumentError(msg.str());
      }
      torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
      const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * dtype->itemsize;
      Json entry = Json::object();
      entry["dtype"] = dtype->name;
      Json shape = Json::array();
      for (int64_t d : t.sizes()) shape.push_back(Json(d));
      entry["shape"] = std::move(shape);
      Json offsets = Json::array();
      offsets.push_back(Json(static_cast<int64_t>(offset)));
      offsets.push_back(Json(static_cast<int64_t>(offset + nbytes)));
      entry["data_offsets"] = std::move(offsets);
      header[name] = std::move(entry);
      offset += nbytes;
      ordered.emplace_back(name, std::move(t));
    }
  } catch (const std::exception& e) {
    return InternalError(path + ": " + TorchErrorMessage(e));
  }
  std::string header_text = DumpJson(header);
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  unsigned char len_bytes[8];
  uint64_t len = header_text.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>((len >> (8 * i)) & 0xff);

  return WriteFileAtomically(path, [&](std::FILE* f) {
    bool ok = std::fwrite(len_bytes, 1, 8, f) == 8 &&
              std::fwrite(header_text.data(), 1, header_text.size(), f) == header_text.size();
    for (const auto& [name, t] : ordered) {
      const size_t nbytes = static_cast<size_t>(t.numel()) * t.element_size();
      if (!ok || nbytes == 0) continue;
      ok = std::fwrite(t.data_ptr(), 1, nbytes, f) == nbytes;
    }
    return ok;
  });
}

std::string ShapeString(at::IntArrayRef shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

}  // namespace sasrecllm::model
