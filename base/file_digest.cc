#include "base/file_digest.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "base/file.h"

namespace sasrecllm {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

MdCtx NewSha256() {
  MdCtx ctx(EVP_MD_CTX_new());
  if (ctx != nullptr && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) ctx.reset();
  return ctx;
}

std::string FinishHex(EVP_MD_CTX* ctx) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(ctx, digest, &size);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * size);
  for (unsigned int i = 0; i < size; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 15]);
  }
  return hex;
}

}  // namespace

StatusOr<FileDigest> DigestFile(const std::string& path) {
  SASRECLLM_RETURN_IF_ERROR(CheckRegularFile(path));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (f == nullptr) return DataLossError(path + ": cannot open: " + std::strerror(errno));
  MdCtx ctx = NewSha256();
  if (ctx == nullptr) return InternalError("OpenSSL: cannot set up SHA-256");
  FileDigest d;
  std::vector<char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) {
    EVP_DigestUpdate(ctx.get(), buf.data(), n);
    d.bytes += static_cast<int64_t>(n);
  }
  if (std::ferror(f.get()) != 0) return DataLossError(path + ": read error: " + std::strerror(errno));
  d.sha256 = FinishHex(ctx.get());
  return d;
}

std::string Sha256Hex(std::string_view bytes) {
  MdCtx ctx = NewSha256();
  if (ctx == nullptr) return "";
  EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size());
  return FinishHex(ctx.get());
}

}  // namespace sasrecllm
