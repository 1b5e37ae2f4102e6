// The --out directory's rules and its publication (see report_dir.h).
#include "analysis/report_dir.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include "ss/error.h"
#include "ss/log.h"

namespace ss::analysis {
namespace {

namespace fs = std::filesystem;

constexpr char kMarkerTitle[] = "scalefit report";

// The absolute, normalised form of `p` without a trailing slash ("r/" and "r" are one place).
fs::path resolved(const fs::path& p) {
  fs::path abs = fs::absolute(p).lexically_normal();
  if (!abs.has_filename() && abs.has_parent_path() && abs != abs.root_path())
    abs = abs.parent_path();
  return abs;
}

// How the user named it, with the resolved path when they differ (relative paths).
std::string shown(const fs::path& given, const fs::path& abs) {
  return given.is_absolute() ? given.string()
                             : fmt::format("{} (= {})", given.string(), abs.string());
}

// The file names an earlier report's marker lists; nullopt when `dir` has no valid marker.
std::optional<std::set<std::string>> marker_files(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(dir / kReportMarker, ec))) return std::nullopt;
  std::ifstream in(dir / kReportMarker);
  std::string line;
  if (!std::getline(in, line) || line != kMarkerTitle) return std::nullopt;
  std::set<std::string> files;
  while (std::getline(in, line))
    if (!line.empty()) files.insert(line);
  return files;
}

constexpr char kFixNew[] =
    "scalefit never replaces what it did not write: pass a new or empty directory";

[[noreturn]] void refuse(const std::string& where, const std::string& why,
                         const char* fix = kFixNew) {
  throw InputError(fmt::format("--out {}: {}; {}", where, why, fix));
}

// The entries of an existing directory `dir` scalefit did not write (empty when all are its).
void check_existing_dir(const fs::path& dir, const std::string& where) {
  const auto ours = marker_files(dir);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!ours)
      refuse(where, fmt::format("is a non-empty directory (it holds {}) and not an earlier "
                                "scalefit report (no {} marker)",
                                name, kReportMarker));
    if (name != kReportMarker && !ours->contains(name))
      refuse(where, fmt::format("is an earlier scalefit report but also holds {}, which "
                                "scalefit did not write",
                                name));
  }
  if (ec) refuse(where, fmt::format("cannot be listed ({})", ec.message()));
}

// `.NAME.KIND-PID[-k]` beside `out`: the first such name nothing exists at.
fs::path unused_sibling(const fs::path& out, const char* kind) {
  for (int k = 0;; ++k) {
    const std::string suffix = k == 0 ? "" : fmt::format("-{}", k);
    const fs::path p = out.parent_path() / fmt::format(".{}.{}-{}{}", out.filename().string(), kind,
                                                       ::getpid(), suffix);
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(p, ec))) return p;
  }
}

// Makes a new, empty temporary sibling of `out` (never reuses an existing path).
fs::path make_temp_sibling(const fs::path& out) {
  for (;;) {
    const fs::path tmp = unused_sibling(out, "tmp");
    if (fs::create_directory(tmp)) return tmp;  // false: made meanwhile; throws on other errors
  }
}

void write_marker(const fs::path& dir) {
  std::ofstream out(dir / kReportMarker, std::ios::trunc);
  out << kMarkerTitle << '\n';
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name != kReportMarker) out << name << '\n';
  }
  out.close();
  if (!out)
    throw std::runtime_error(fmt::format("cannot write {}", (dir / kReportMarker).string()));
}

// Removes an earlier report moved aside to `old`: only the files its marker lists, then the
// directory itself if that left it empty.
void remove_old_report(const fs::path& old) {
  std::error_code ec;
  if (const auto files = marker_files(old)) {
    for (const auto& name : *files) fs::remove(old / name, ec);
    fs::remove(old / kReportMarker, ec);
  }
  if (!fs::remove(old, ec))
    log::warn("left the earlier report at {} ({}); it now holds files scalefit did not write",
              old.string(), ec ? ec.message() : "not empty");
}

}  // namespace

void check_report_target(const fs::path& out_dir, const fs::path& input) {
  const fs::path out = resolved(out_dir);
  const std::string where = shown(out_dir, out);
  if (out == out.root_path() || !out.has_filename()) refuse(where, "is the file system root");
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(out, ec);
  if (fs::is_symlink(st)) refuse(where, "is a symbolic link");
  if (fs::exists(st) && !fs::is_directory(st))
    refuse(where, "is an existing file, not a directory");
  // The nearest existing ancestor must be a writable directory: the temporary sibling and
  // any missing parents are made there.
  for (fs::path up = out.parent_path();; up = up.parent_path()) {
    if (!fs::exists(up, ec) && up != up.root_path()) continue;
    if (!fs::is_directory(up, ec))
      refuse(where, fmt::format("{} is a file, so no directory can be made below it", up.string()),
             "pass a directory path");
    if (::access(up.c_str(), W_OK | X_OK) != 0)
      refuse(where,
             fmt::format("directory {} is not writable ({})", up.string(), std::strerror(errno)),
             "pass a directory you may write to");
    // access() says yes to root everywhere, /proc included: make (and remove) a directory of
    // our own there, so a place nothing can be written is refused before the fit, not after.
    std::string probe = (up / ".scalefit-probe-XXXXXX").string();
    if (::mkdtemp(probe.data()) == nullptr)
      refuse(where,
             fmt::format("no directory can be made in {} ({})", up.string(), std::strerror(errno)),
             "pass a directory you may write to");
    ::rmdir(probe.c_str());
    break;
  }
  if (!fs::exists(st)) return;
  const fs::path in = fs::weakly_canonical(fs::absolute(input), ec);
  const fs::path canon_out = fs::canonical(out, ec);
  if (!ec) {
    // Is canon_out `p` or one of its ancestors?
    const auto holds = [&](const fs::path& p) {
      return std::mismatch(canon_out.begin(), canon_out.end(), p.begin(), p.end()).first ==
             canon_out.end();
    };
    if (holds(in)) refuse(where, fmt::format("holds the input {}", input.string()));
    // The report replaces --out as a whole (rename), which would move the working directory
    // away under the user's shell (`--out .` used to do that).
    if (holds(fs::current_path(ec)))
      refuse(where, "is the working directory or holds it (the report replaces --out as a whole)",
             "pass a new directory below it, e.g. --out report");
  }
  check_existing_dir(out, where);
}

void publish_report_dir(const fs::path& out_dir, const fs::path& input,
                        const std::function<void(const fs::path&)>& fill) {
  check_report_target(out_dir, input);
  const fs::path out = resolved(out_dir);
  fs::create_directories(out.parent_path());
  const fs::path tmp = make_temp_sibling(out);
  try {
    fill(tmp);
    write_marker(tmp);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);  // created empty by make_temp_sibling: everything in it is ours
    throw;
  }
  if (!fs::exists(fs::symlink_status(out))) {
    fs::rename(tmp, out);
    return;
  }
  const fs::path old = unused_sibling(out, "old");
  fs::rename(out, old);  // an empty old directory or an earlier report (checked above)
  try {
    fs::rename(tmp, out);
  } catch (...) {
    std::error_code ec;
    fs::rename(old, out, ec);
    fs::remove_all(tmp, ec);
    throw;
  }
  remove_old_report(old);
}

void write_report_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out)
    throw std::runtime_error(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
}

}  // namespace ss::analysis
