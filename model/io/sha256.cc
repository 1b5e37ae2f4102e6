// Sha256 over OpenSSL EVP; every EVP call is checked (returns 1 on success).
#include "model/io/sha256.h"

#include <openssl/evp.h>

#include <fstream>
#include <stdexcept>
#include <vector>

#include <fmt/core.h>

#define SS_EVP_CHECK(call)                                                      \
  do {                                                                          \
    if ((call) != 1)                                                            \
      throw std::runtime_error(                                                 \
          fmt::format("OpenSSL {} failed ({}:{})", #call, __FILE__, __LINE__)); \
  } while (0)

namespace ss::io {

void Sha256::CtxFree::operator()(evp_md_ctx_st* ctx) const {
  EVP_MD_CTX_free(ctx);
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) throw std::runtime_error("OpenSSL EVP_MD_CTX_new failed");
  SS_EVP_CHECK(EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr));
}

void Sha256::update(const void* data, size_t bytes) {
  if (bytes == 0) return;
  SS_EVP_CHECK(EVP_DigestUpdate(ctx_.get(), data, bytes));
}

Sha256Digest Sha256::finish() {
  Sha256Digest out{};
  unsigned int len = 0;
  SS_EVP_CHECK(EVP_DigestFinal_ex(ctx_.get(), out.data(), &len));
  if (len != out.size()) throw std::runtime_error("OpenSSL sha256 digest has unexpected length");
  return out;
}

std::string to_hex(const Sha256Digest& digest) {
  std::string hex;
  hex.reserve(64);
  for (uint8_t b : digest) hex += fmt::format("{:02x}", b);
  return hex;
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return to_hex(h.finish());
}

std::string sha256_file_hex(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot open {} to hash it", path.string()));
  Sha256 h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw std::runtime_error(fmt::format("read error while hashing {}", path.string()));
  return to_hex(h.finish());
}

}  // namespace ss::io
