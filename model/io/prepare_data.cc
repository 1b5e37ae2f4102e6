// prepare_data: see prepare_data.h for the split rule and the all-or-nothing invariant.
#include "model/io/prepare_data.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "model/io/posix_file.h"
#include "model/io/sha256.h"
#include "model/io/shard.h"
#include "model/io/tokenizer.h"
#include "ss/error.h"

namespace ss::io {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kGpt2EndOfText = 50256;

bool is_hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

// Expands inputs into a sorted list of regular files; every problem is an InputError.
std::vector<fs::path> collect_documents(const std::vector<fs::path>& inputs) {
  if (inputs.empty()) {
    throw ss::InputError("prepare-data: no input given; pass --input DIR_OR_FILE...");
  }
  std::vector<fs::path> files;
  for (const fs::path& input : inputs) {
    std::error_code ec;
    const auto status = fs::status(input, ec);
    if (ec || !fs::exists(status)) {
      throw ss::InputError(fmt::format(
          "prepare-data: input {} does not exist; check the path (scripts/fetch-corpus.sh "
          "fetches the Gutenberg corpus)",
          input.string()));
    }
    if (fs::is_directory(status)) {
      std::vector<fs::path> found;
      for (auto it = fs::recursive_directory_iterator(input, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (is_hidden(it->path())) {
          if (it->is_directory()) it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file()) found.push_back(it->path());
      }
      if (ec) {
        throw ss::InputError(
            fmt::format("prepare-data: cannot list directory {} ({}); check "
                        "its permissions",
                        input.string(), ec.message()));
      }
      if (found.empty()) {
        throw ss::InputError(fmt::format(
            "prepare-data: directory {} holds no files; point --input at the text files",
            input.string()));
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(status)) {
      files.push_back(input);
    } else {
      throw ss::InputError(
          fmt::format("prepare-data: input {} is neither a file nor a directory", input.string()));
    }
  }
  for (const fs::path& f : files) {
    if (::access(f.c_str(), R_OK) != 0) {
      throw ss::InputError(fmt::format(
          "prepare-data: input file {} is not readable; fix its permissions or leave it out",
          f.string()));
    }
  }
  return files;
}

std::string read_document(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in && !in.eof()) {
    throw ss::InputError(fmt::format("prepare-data: cannot read {}", path.string()));
  }
  return ss.str();
}

// `out` may be absent, an empty directory, or an earlier output (has meta.json).
void check_out_dir(const fs::path& out) {
  if (out.empty()) throw ss::InputError("prepare-data: --out is empty; give a directory");
  std::error_code ec;
  if (!fs::exists(out, ec)) return;
  if (!fs::is_directory(out)) {
    throw ss::InputError(fmt::format(
        "prepare-data: --out {} is an existing file; choose a directory path", out.string()));
  }
  if (!fs::is_empty(out) && !fs::exists(out / "meta.json")) {
    throw ss::InputError(fmt::format(
        "prepare-data: --out {} is a non-empty directory that is not a prepare-data output; "
        "choose another path or empty it",
        out.string()));
  }
}

void write_text_atomic(const fs::path& path, const std::string& text) {
  AtomicFile f(path);
  f.write(text.data(), text.size());
  f.commit();
}

// Removes a directory tree on scope exit unless released (the temp output dir).
class DirGuard {
 public:
  explicit DirGuard(fs::path dir) : dir_(std::move(dir)) {}
  ~DirGuard() {
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  DirGuard(const DirGuard&) = delete;
  DirGuard& operator=(const DirGuard&) = delete;
  void release() { dir_.clear(); }

 private:
  fs::path dir_;
};

fs::path make_temp_sibling(const fs::path& out, const char* tag) {
  std::string tmpl = out.string() + tag + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  SS_IO_CHECK_ERRNO(::mkdtemp(buf.data()) != nullptr, "mkdtemp next to", out);
  // mkdtemp creates 0700; the output directory is an ordinary shared one.
  SS_IO_CHECK_ERRNO(::chmod(buf.data(), 0755) == 0, "chmod", fs::path(buf.data()));
  return fs::path(buf.data());
}

}  // namespace

PrepareDataResult prepare_data(const PrepareDataOptions& opt, const PrepareDataProgress& progress) {
  // 1. Every input check, before anything is written.
  if (!(opt.val_fraction >= 0.0 && opt.val_fraction <= 0.5)) {
    throw ss::InputError(fmt::format(
        "prepare-data: --val-fraction {} is outside [0, 0.5]; use e.g. 0.005", opt.val_fraction));
  }
  auto tokenizer =
      make_tokenizer(opt.tokenizer, opt.gpt2_dir.empty() ? default_gpt2_dir() : opt.gpt2_dir);
  const std::vector<fs::path> docs = collect_documents(opt.inputs);
  uint64_t total_bytes = 0;
  for (const auto& d : docs) total_bytes += fs::file_size(d);
  if (total_bytes == 0) {
    throw ss::InputError(fmt::format(
        "prepare-data: the corpus is empty ({} files, 0 bytes); point --input at text files",
        docs.size()));
  }
  const fs::path out = fs::absolute(opt.out_dir).lexically_normal();
  check_out_dir(out);

  // 2. Build the output in a temp directory next to `out`.
  fs::create_directories(out.parent_path());
  const fs::path tmp = make_temp_sibling(out, ".tmp-");
  DirGuard tmp_guard(tmp);
  ShardWriter train(tmp / "train.bin", tokenizer->vocab_size());
  ShardWriter val(tmp / "val.bin", tokenizer->vocab_size());
  const bool add_eot = tokenizer->name() == "gpt2";

  PrepareDataResult result;
  nlohmann::json sources = nlohmann::json::array();
  std::vector<uint16_t> ids16;
  for (const fs::path& doc : docs) {
    const std::string text = read_document(doc);
    Sha256 sha;
    sha.update(text.data(), text.size());
    const std::vector<uint32_t> ids = tokenizer->encode(text);
    ids16.assign(ids.begin(), ids.end());  // vocab <= 65536 checked by ShardWriter
    const auto n_val =
        static_cast<size_t>(std::llround(static_cast<double>(ids16.size()) * opt.val_fraction));
    const size_t n_train = ids16.size() - n_val;
    train.append(std::span<const uint16_t>(ids16.data(), n_train));
    val.append(std::span<const uint16_t>(ids16.data() + n_train, n_val));
    if (add_eot) {
      const uint16_t eot = kGpt2EndOfText;
      train.append({&eot, 1});
      if (n_val > 0) val.append({&eot, 1});
    }
    sources.push_back({{"path", doc.string()},
                       {"bytes", text.size()},
                       {"sha256", to_hex(sha.finish())},
                       {"train_tokens", n_train},
                       {"val_tokens", n_val}});
    result.documents += 1;
    result.input_bytes += text.size();
    if (progress) progress(result.input_bytes, total_bytes);
  }
  result.train_tokens = train.token_count();
  result.val_tokens = val.token_count();
  if (result.train_tokens == 0) {
    throw ss::InputError("prepare-data: the corpus produced no training tokens; add text");
  }
  train.commit();
  val.commit();
  const nlohmann::json meta = {
      {"format", "SSTOK v1 (model/io/shard.h)"},
      {"tokenizer", tokenizer->name()},
      {"vocab_size", tokenizer->vocab_size()},
      {"val_fraction", opt.val_fraction},
      {"split", "last val_fraction of each document's tokens goes to val.bin"},
      {"end_of_text_between_documents", add_eot},
      {"documents", result.documents},
      {"input_bytes", result.input_bytes},
      {"train_tokens", result.train_tokens},
      {"val_tokens", result.val_tokens},
      {"sources", sources}};
  write_text_atomic(tmp / "meta.json", meta.dump(2) + "\n");
  fsync_directory(tmp);

  // 3. Swap it in: an earlier output is moved aside first, then deleted.
  if (fs::exists(out)) {
    const fs::path old = make_temp_sibling(out, ".old-");
    DirGuard old_guard(old);
    fs::rename(out, old / "out");
    fs::rename(tmp, out);
  } else {
    fs::rename(tmp, out);
  }
  tmp_guard.release();
  fsync_directory(out.parent_path());
  return result;
}

}  // namespace ss::io
