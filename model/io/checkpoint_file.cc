// Checkpoint writer/reader: see checkpoint_file.h for the format. The reader checks every
// size against the file length before allocating, so a corrupt count cannot trigger a
// huge allocation, and hashes while reading so the file is read once.
#include "model/io/checkpoint_file.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>

#include <fmt/core.h>

#include "model/io/posix_file.h"
#include "model/io/sha256.h"
#include "ss/error.h"

namespace ss::io {

static_assert(std::endian::native == std::endian::little,
              "checkpoints are little-endian; a big-endian host needs byte swaps");

namespace {

// Fixed part after the identity: step, tokens, P, M, V, S, U.
struct CountsBlock {
  int64_t step;
  int64_t tokens_seen;
  uint64_t n_params, n_adam_m, n_adam_v, n_loop_state, n_loader;
};

// Writes through the AtomicFile and both hashes: the trailer covers the body, the
// reported file sha256 covers body + trailer.
class HashingWriter {
 public:
  explicit HashingWriter(AtomicFile& file) : file_(file) {}
  void put(const void* data, size_t bytes) {
    body_.update(data, bytes);
    whole_.update(data, bytes);
    file_.write(data, bytes);
  }
  void put_trailer() {
    const Sha256Digest d = body_.finish();
    whole_.update(d.data(), d.size());
    file_.write(d.data(), d.size());
  }
  std::string whole_hex() { return to_hex(whole_.finish()); }

 private:
  AtomicFile& file_;
  Sha256 body_, whole_;
};

// Reads from a FILE* while hashing; short reads are reported as truncation by the caller.
class HashingReader {
 public:
  explicit HashingReader(std::FILE* f) : f_(f) {}
  bool get(void* data, size_t bytes) {
    if (bytes == 0) return true;
    if (std::fread(data, 1, bytes, f_) != bytes) return false;
    hash_.update(data, bytes);
    return true;
  }
  Sha256Digest finish() { return hash_.finish(); }

 private:
  std::FILE* f_;
  Sha256 hash_;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

[[noreturn]] void bad_checkpoint(const std::filesystem::path& path, const std::string& what) {
  throw ss::InputError(
      fmt::format("checkpoint {}: {}; delete it (and its store row) to resume "
                  "from an earlier checkpoint or restart the point",
                  path.string(), what));
}

}  // namespace

CheckpointView view_of(const CheckpointState& s) {
  return CheckpointView{s.identity, s.step,   s.tokens_seen,  s.params,
                        s.adam_m,   s.adam_v, s.loop_state, s.loader};
}

CheckpointInfo write_checkpoint(const std::filesystem::path& path, const CheckpointView& d) {
  const auto ok_size = [&](size_t n) { return n == 0 || n == d.params.size(); };
  if (!ok_size(d.adam_m.size()) || !ok_size(d.adam_v.size())) {
    throw std::invalid_argument(fmt::format(
        "write_checkpoint {}: adam_m ({}) / adam_v ({}) must be empty or match params ({})",
        path.string(), d.adam_m.size(), d.adam_v.size(), d.params.size()));
  }
  AtomicFile file(path);
  HashingWriter w(file);
  w.put(kCheckpointMagic, sizeof(kCheckpointMagic));
  const uint32_t version = kCheckpointVersion, reserved = 0;
  w.put(&version, sizeof(version));
  w.put(&reserved, sizeof(reserved));
  const uint64_t identity_len = d.identity.size();
  w.put(&identity_len, sizeof(identity_len));
  w.put(d.identity.data(), d.identity.size());
  const CountsBlock c{d.step,          d.tokens_seen,        d.params.size(), d.adam_m.size(),
                      d.adam_v.size(), d.loop_state.size(), d.loader.size()};
  w.put(&c, sizeof(c));
  w.put(d.params.data(), d.params.size_bytes());
  w.put(d.adam_m.data(), d.adam_m.size_bytes());
  w.put(d.adam_v.data(), d.adam_v.size_bytes());
  w.put(d.loop_state.data(), d.loop_state.size_bytes());
  w.put(d.loader.data(), d.loader.size_bytes());
  w.put_trailer();
  CheckpointInfo info{path, file.bytes_written(), w.whole_hex()};
  file.commit();
  return info;
}

CheckpointState read_checkpoint(const std::filesystem::path& path,
                                std::optional<std::string_view> expected_identity) {
  std::error_code ec;
  const auto file_size = std::filesystem::file_size(path, ec);
  if (ec) bad_checkpoint(path, fmt::format("cannot be read ({})", ec.message()));
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) bad_checkpoint(path, "cannot be opened");
  HashingReader r(f.get());
  const auto truncated = [&] {
    bad_checkpoint(path, fmt::format("truncated ({} bytes)", file_size));
  };

  char magic[8];
  if (!r.get(magic, sizeof(magic))) truncated();
  if (std::memcmp(magic, kCheckpointMagic, sizeof(magic)) != 0) {
    bad_checkpoint(path, "bad magic (not a ScaleSweep checkpoint)");
  }
  uint32_t version = 0, reserved = 0;
  if (!r.get(&version, sizeof(version)) || !r.get(&reserved, sizeof(reserved))) truncated();
  if (version < kCheckpointOldestReadable || version > kCheckpointVersion) {
    bad_checkpoint(path, fmt::format("format version {}, this build reads versions {} to {}",
                                     version, kCheckpointOldestReadable, kCheckpointVersion));
  }
  // Versions 1 and 2 share the layout below (2 renamed two fields).
  uint64_t identity_len = 0;
  if (!r.get(&identity_len, sizeof(identity_len))) truncated();
  if (identity_len > file_size) truncated();
  CheckpointState s;
  s.identity.resize(identity_len);
  if (!r.get(s.identity.data(), identity_len)) truncated();
  CountsBlock c{};
  if (!r.get(&c, sizeof(c))) truncated();

  // Expected total size, computed in 128 bits so corrupt counts cannot wrap around.
  const unsigned __int128 expected =
      static_cast<unsigned __int128>(sizeof(magic) + 8 + 8 + identity_len + sizeof(c)) +
      static_cast<unsigned __int128>(c.n_params + 0ULL) * 4 +
      static_cast<unsigned __int128>(c.n_adam_m) * 4 +
      static_cast<unsigned __int128>(c.n_adam_v) * 4 + c.n_loop_state +
      static_cast<unsigned __int128>(c.n_loader) * 8 + 32;
  if (expected != file_size) {
    if (expected > file_size) truncated();
    bad_checkpoint(path, fmt::format("{} bytes but its header describes {} (trailing garbage "
                                     "or corrupt header)",
                                     file_size, static_cast<uint64_t>(expected)));
  }
  if ((c.n_adam_m != 0 && c.n_adam_m != c.n_params) ||
      (c.n_adam_v != 0 && c.n_adam_v != c.n_params)) {
    bad_checkpoint(path, "corrupt header (Adam state size differs from the parameter count)");
  }
  s.step = c.step;
  s.tokens_seen = c.tokens_seen;
  s.params.resize(c.n_params);
  s.adam_m.resize(c.n_adam_m);
  s.adam_v.resize(c.n_adam_v);
  s.loop_state.resize(c.n_loop_state);
  s.loader.resize(c.n_loader);
  if (!r.get(s.params.data(), c.n_params * 4) || !r.get(s.adam_m.data(), c.n_adam_m * 4) ||
      !r.get(s.adam_v.data(), c.n_adam_v * 4) || !r.get(s.loop_state.data(), c.n_loop_state) ||
      !r.get(s.loader.data(), c.n_loader * 8)) {
    truncated();
  }
  const Sha256Digest computed = r.finish();
  Sha256Digest stored{};
  if (std::fread(stored.data(), 1, stored.size(), f.get()) != stored.size()) truncated();
  if (computed != stored) {
    bad_checkpoint(path,
                   "bad checksum (SHA-256 of the contents does not match its trailer; "
                   "the file is corrupt)");
  }
  if (expected_identity && *expected_identity != s.identity) {
    bad_checkpoint(path, fmt::format("identity mismatch: file has '{}', this run expects "
                                     "'{}' (written for another run or shard)",
                                     s.identity, *expected_identity));
  }
  return s;
}

std::string checkpoint_file_name(int64_t step) {
  return fmt::format("step_{:09d}.ckpt", step);
}

std::vector<std::pair<int64_t, std::filesystem::path>> list_checkpoints(
    const std::filesystem::path& dir) {
  std::vector<std::pair<int64_t, std::filesystem::path>> found;
  if (!std::filesystem::is_directory(dir)) return found;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    // step_<digits>.ckpt exactly; temp files (".ckpt.tmp-XXXXXX") do not match.
    constexpr std::string_view prefix = "step_", suffix = ".ckpt";
    if (name.size() <= prefix.size() + suffix.size() || !name.starts_with(prefix) ||
        !name.ends_with(suffix)) {
      continue;
    }
    const char* first = name.data() + prefix.size();
    const char* last = name.data() + name.size() - suffix.size();
    int64_t step = 0;
    const auto [ptr, err] = std::from_chars(first, last, step);
    if (err != std::errc() || ptr != last) continue;
    found.emplace_back(step, entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::vector<std::filesystem::path> prune_checkpoints(const std::filesystem::path& dir,
                                                     int keep_last) {
  if (keep_last < 1) {
    throw std::invalid_argument(fmt::format("prune_checkpoints: keep_last {} < 1", keep_last));
  }
  auto all = list_checkpoints(dir);
  std::vector<std::filesystem::path> deleted;
  if (all.size() <= static_cast<size_t>(keep_last)) return deleted;
  const size_t n_delete = all.size() - static_cast<size_t>(keep_last);
  for (size_t i = 0; i < n_delete; ++i) {
    std::filesystem::remove(all[i].second);
    deleted.push_back(all[i].second);
  }
  return deleted;
}

}  // namespace ss::io
