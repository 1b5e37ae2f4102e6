// prepare_data: see prepare_data.h for the split rule and the all-or-nothing invariant.
#include "model/io/prepare_data.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
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

// The files an output directory holds: all prepare-data writes there, and all it may replace.
constexpr const char* kOutputFiles[] = {"train.bin", "val.bin", "meta.json"};

bool is_output_file(const std::string& name) {
  return std::find(std::begin(kOutputFiles), std::end(kOutputFiles), name) != std::end(kOutputFiles);
}

// `p` absolute and normalised, without a trailing separator ("tok/" and "tok" are one place).
fs::path normalised(const fs::path& p) {
  fs::path abs = fs::absolute(p).lexically_normal();
  if (!abs.has_filename() && abs != abs.root_path()) abs = abs.parent_path();
  return abs;
}

// Whether `inner` is `outer` or lies below it (both weakly canonical: symlinks resolved).
bool within(const fs::path& inner, const fs::path& outer) {
  const auto [o, i] = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
  return o == outer.end();
}

[[noreturn]] void refuse_out(const fs::path& out, const std::string& why, const char* fix) {
  throw ss::InputError(fmt::format("prepare-data: --out {} {}; {}", out.string(), why, fix));
}

// `out` (normalised) may be absent (its nearest existing ancestor a directory), an empty
// directory, or an earlier output holding only train.bin, val.bin and meta.json, the files this
// run replaces; never a symbolic link, a file, or a place that holds an input or lies inside an
// input directory (a later run would read the shards as text).
void check_out_dir(const fs::path& out, const std::vector<fs::path>& inputs) {
  constexpr char kFix[] = "choose a new or empty directory";
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(out, ec);
  if (fs::is_symlink(st))
    refuse_out(out, "is a symbolic link", "pass the directory it points to, or a new path");
  if (fs::exists(st) && !fs::is_directory(st)) refuse_out(out, "is an existing file", kFix);
  for (fs::path up = out.parent_path(); !fs::exists(st); up = up.parent_path()) {
    if (!fs::exists(up, ec) && up != up.root_path()) continue;
    if (!fs::is_directory(up, ec))
      refuse_out(out, fmt::format("lies below {}, which is a file", up.string()), kFix);
    break;
  }
  const fs::path canon_out = fs::weakly_canonical(out, ec);
  if (within(fs::current_path(ec), canon_out))
    refuse_out(out, "holds the working directory, which the new output would replace",
               "choose a directory beside it, e.g. --out tokens");
  for (const fs::path& input : inputs) {
    const fs::path in = fs::weakly_canonical(fs::absolute(input), ec);
    if (within(in, canon_out))
      refuse_out(out, fmt::format("holds the input {}, which the new output would replace",
                                  input.string()),
                 "choose an --out that holds no input");
    if (fs::is_directory(in, ec) && within(canon_out, in))
      refuse_out(out, fmt::format("lies inside the input directory {}, so a later run would "
                                  "read its shards as text",
                                  input.string()),
                 "choose an --out outside the inputs");
  }
  if (!fs::exists(st)) return;
  const bool earlier = fs::exists(out / "meta.json", ec);
  for (const auto& entry : fs::directory_iterator(out, ec)) {
    const std::string name = entry.path().filename().string();
    if (!earlier)
      refuse_out(out, fmt::format("is a non-empty directory (it holds {}) and not an earlier "
                                  "prepare-data output (no meta.json)", name),
                 kFix);
    if (!is_output_file(name))
      refuse_out(out, fmt::format("is an earlier prepare-data output but also holds {}, which "
                                  "prepare-data did not write and would delete", name),
                 "move it out, or choose a new or empty directory");
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

// Every input check, before anything is written.
struct CheckedInputs {
  std::unique_ptr<Tokenizer> tokenizer;
  std::vector<fs::path> docs;
  uint64_t total_bytes = 0;
  fs::path out;  // absolute
};

CheckedInputs check_inputs(const PrepareDataOptions& opt) {
  if (!(opt.val_fraction >= 0.0 && opt.val_fraction <= 0.5)) {
    throw ss::InputError(fmt::format(
        "prepare-data: --val-fraction {} is outside [0, 0.5]; use e.g. 0.005", opt.val_fraction));
  }
  CheckedInputs in;
  in.tokenizer =
      make_tokenizer(opt.tokenizer, opt.gpt2_dir.empty() ? default_gpt2_dir() : opt.gpt2_dir);
  in.docs = collect_documents(opt.inputs);
  std::vector<fs::path> seen;
  for (const fs::path& doc : in.docs) {
    std::error_code ec;
    const fs::path canon = fs::weakly_canonical(fs::absolute(doc), ec);
    if (std::find(seen.begin(), seen.end(), canon) != seen.end())
      throw ss::InputError(fmt::format(
          "prepare-data: input file {} is given twice (by two --input paths); it would be "
          "tokenized twice: give each file or directory once",
          doc.string()));
    seen.push_back(canon);
  }
  for (const auto& d : in.docs) in.total_bytes += fs::file_size(d);
  if (in.total_bytes == 0) {
    throw ss::InputError(fmt::format(
        "prepare-data: the corpus is empty ({} files, 0 bytes); point --input at text files",
        in.docs.size()));
  }
  if (opt.out_dir.empty()) throw ss::InputError("prepare-data: --out is empty; give a directory");
  in.out = normalised(opt.out_dir);
  check_out_dir(in.out, opt.inputs);
  return in;
}

// Tokenizes one document and appends it to the shards: its first (1 - val_fraction) of the
// tokens to train, the rest to val (then end-of-text to each for GPT-2). Returns its entry
// of meta.json's sources. `ids16` is reused scratch.
nlohmann::json append_document(const fs::path& doc, Tokenizer& tokenizer, double val_fraction,
                               ShardWriter& train, ShardWriter& val,
                               std::vector<uint16_t>& ids16) {
  const std::string text = read_document(doc);
  Sha256 sha;
  sha.update(text.data(), text.size());
  const std::vector<uint32_t> ids = tokenizer.encode(text);
  ids16.assign(ids.begin(), ids.end());  // vocab <= 65536 checked by ShardWriter
  const auto n_val =
      static_cast<size_t>(std::llround(static_cast<double>(ids16.size()) * val_fraction));
  const size_t n_train = ids16.size() - n_val;
  train.append(std::span<const uint16_t>(ids16.data(), n_train));
  val.append(std::span<const uint16_t>(ids16.data() + n_train, n_val));
  if (tokenizer.name() == "gpt2") {
    const uint16_t eot = kGpt2EndOfText;
    train.append({&eot, 1});
    if (n_val > 0) val.append({&eot, 1});
  }
  return {{"path", doc.string()},
          {"bytes", text.size()},
          {"sha256", to_hex(sha.finish())},
          {"train_tokens", n_train},
          {"val_tokens", n_val}};
}

// Moves the finished temp directory to `out`; an earlier output is moved aside first, then
// deleted.
void swap_in(const fs::path& tmp, const fs::path& out) {
  if (fs::exists(out)) {
    const fs::path old = make_temp_sibling(out, ".old-");
    DirGuard old_guard(old);
    fs::rename(out, old / "out");
    fs::rename(tmp, out);
  } else {
    fs::rename(tmp, out);
  }
}

}  // namespace

PrepareDataResult prepare_data(const PrepareDataOptions& opt, const PrepareDataProgress& progress) {
  const CheckedInputs in = check_inputs(opt);

  // Build the output in a temp directory next to `out`.
  fs::create_directories(in.out.parent_path());
  const fs::path tmp = make_temp_sibling(in.out, ".tmp-");
  DirGuard tmp_guard(tmp);
  Tokenizer& tokenizer = *in.tokenizer;
  ShardWriter train(tmp / "train.bin", tokenizer.vocab_size());
  ShardWriter val(tmp / "val.bin", tokenizer.vocab_size());
  PrepareDataResult result;
  nlohmann::json sources = nlohmann::json::array();
  std::vector<uint16_t> ids16;
  for (const fs::path& doc : in.docs) {
    sources.push_back(append_document(doc, tokenizer, opt.val_fraction, train, val, ids16));
    result.documents += 1;
    result.input_bytes += sources.back()["bytes"].get<uint64_t>();
    if (progress) progress(result.input_bytes, in.total_bytes);
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
      {"tokenizer", tokenizer.name()},
      {"vocab_size", tokenizer.vocab_size()},
      {"val_fraction", opt.val_fraction},
      {"split", "last val_fraction of each document's tokens goes to val.bin"},
      {"end_of_text_between_documents", tokenizer.name() == "gpt2"},
      {"documents", result.documents},
      {"input_bytes", result.input_bytes},
      {"train_tokens", result.train_tokens},
      {"val_tokens", result.val_tokens},
      {"sources", sources}};
  write_text_atomic(tmp / "meta.json", meta.dump(2) + "\n");
  fsync_directory(tmp);

  swap_in(tmp, in.out);
  tmp_guard.release();
  fsync_directory(in.out.parent_path());
  return result;
}

}  // namespace ss::io
