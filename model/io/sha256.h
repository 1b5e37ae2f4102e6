// SHA-256 through OpenSSL's EVP interface, the project's one SHA-256: incremental hashing
// (checkpoint trailers, prepare-data's input digests), a whole-file and an in-memory helper
// (config hashes and point keys). Digests print as lowercase hex.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace ss::io {

using Sha256Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t bytes);
  Sha256Digest finish();  // the object can not be updated afterwards

 private:
  struct CtxFree {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, CtxFree> ctx_;
};

std::string to_hex(const Sha256Digest& digest);
// SHA-256 of `bytes` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view bytes);
// SHA-256 of a file's bytes as hex (read in 1 MiB blocks).
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace ss::io
