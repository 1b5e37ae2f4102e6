// The fault suite's harness: run a real binary through /bin/sh, capture its exit code and
// output, and prove "nothing written, nothing lost" by comparing a recursive file listing
// (type, size, permissions, content hash) and the row count of every table of a store before
// and after. Places the faults need: a private mount namespace (so a test may mount a tiny
// tmpfs for "disk full" or bind a directory read-only even as root), else a named skip reason.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace ss::faults {

namespace fs = std::filesystem;

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(line);
  return lines;
}

// Single-quotes `s` for /bin/sh.
inline std::string sh_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Outcome {
  int rc = -1;  // exit code, or 128 + signal
  std::string out, err;
  std::string all() const { return out + err; }
};

// Runs `/bin/sh -c cmd` in `cwd`, stdout/stderr captured in files under `scratch` (which must
// lie outside any directory a test lists).
inline Outcome run_command(const std::string& cmd, const fs::path& cwd, const fs::path& scratch) {
  fs::create_directories(scratch);
  const fs::path out = scratch / "stdout.txt", err = scratch / "stderr.txt";
  const std::string full = "cd " + sh_quote(cwd.string()) + " && { " + cmd + " ; } > " +
                           sh_quote(out.string()) + " 2> " + sh_quote(err.string()) +
                           " < /dev/null";
  const int status = std::system(full.c_str());
  Outcome o;
  o.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  o.out = slurp(out);
  o.err = slurp(err);
  return o;
}

// Starts `/bin/sh -c cmd` in `cwd` without waiting (stdout and stderr to out.txt and err.txt
// under `scratch`); the caller waits with wait_exit(). -1 when it cannot be started.
inline pid_t spawn_command(const std::string& cmd, const fs::path& cwd, const fs::path& scratch) {
  fs::create_directories(scratch);
  const std::string full = "cd " + sh_quote(cwd.string()) + " && exec " + cmd + " > " +
                           sh_quote((scratch / "out.txt").string()) + " 2> " +
                           sh_quote((scratch / "err.txt").string()) + " < /dev/null";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// Waits for a spawn_command() child: its exit code, or 128 + signal.
inline int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The outcome of a spawn_command() child after wait_exit() gave `rc`.
inline Outcome spawned_outcome(int rc, const fs::path& scratch) {
  return Outcome{rc, slurp(scratch / "out.txt"), slurp(scratch / "err.txt")};
}

// One file system entry as the listing sees it.
struct Entry {
  char type = '?';  // f file, d directory, l symlink, o other
  std::uintmax_t size = 0;
  unsigned perms = 0;
  std::size_t hash = 0;  // of the content (files), of the target (symlinks)
  bool operator==(const Entry&) const = default;
};
using Listing = std::map<std::string, Entry>;

// Every entry below `dir` (relative names), with the content of each file hashed.
inline Listing listing(const fs::path& dir) {
  Listing result;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::end(it); it.increment(ec)) {
    const fs::file_status st = it->symlink_status();
    Entry e;
    e.perms = static_cast<unsigned>(st.permissions());
    if (fs::is_symlink(st)) {
      e.type = 'l';
      e.hash = std::hash<std::string>{}(fs::read_symlink(it->path(), ec).string());
    } else if (fs::is_directory(st)) {
      e.type = 'd';
    } else if (fs::is_regular_file(st)) {
      e.type = 'f';
      e.size = fs::file_size(it->path(), ec);
      e.hash = std::hash<std::string>{}(slurp(it->path()));
    } else {
      e.type = 'o';
    }
    result[fs::relative(it->path(), dir).string()] = e;
  }
  return result;
}

// A readable diff of two listings ("" when equal), for failure messages.
inline std::string listing_diff(const Listing& before, const Listing& after) {
  std::string d;
  for (const auto& [name, e] : before) {
    const auto it = after.find(name);
    if (it == after.end())
      d += "  lost: " + name + "\n";
    else if (!(it->second == e))
      d += "  changed: " + name + "\n";
  }
  for (const auto& [name, e] : after)
    if (!before.contains(name)) d += "  new: " + name + "\n";
  return d;
}

// Opens the SQLite file `db` with immutable=1, so that reading creates no -wal/-shm and
// changes nothing (throws when it is not a readable database).
inline SQLite::Database open_immutable(const fs::path& db) {
  return SQLite::Database("file:" + db.string() + "?immutable=1",
                          SQLite::OPEN_READONLY | SQLite::OPEN_URI);
}

// The integer that `sql` (one value, e.g. a count) gives on `db`, read through open_immutable.
inline std::int64_t query_int(const fs::path& db, const std::string& sql) {
  return open_immutable(db).execAndGet(sql).getInt64();
}

// The integer `sql` gives on the store of a job that is still running (a plain read-only
// reader, so it sees the WAL); nullopt while the store or its tables do not exist yet.
inline std::optional<std::int64_t> query_live(const fs::path& db, const std::string& sql) {
  try {
    SQLite::Database d(db, SQLite::OPEN_READONLY);
    return d.execAndGet(sql).getInt64();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Row count of every table of the SQLite file `db`, read through open_immutable. Empty when
// the file is not a readable database.
inline std::map<std::string, std::int64_t> row_counts(const fs::path& db) {
  std::map<std::string, std::int64_t> counts;
  try {
    SQLite::Database d = open_immutable(db);
    SQLite::Statement tables(d, "SELECT name FROM sqlite_master WHERE type = 'table'");
    std::vector<std::string> names;
    while (tables.executeStep()) names.push_back(tables.getColumn(0).getString());
    for (const auto& n : names)
      counts[n] = d.execAndGet("SELECT count(*) FROM \"" + n + "\"").getInt64();
  } catch (const std::exception&) {
    counts.clear();
  }
  return counts;
}

// Lines of `text` that are error lines ("[error] ..." from our logger, or "scalesweep ..." /
// "scalefit ..." fatal lines), i.e. what a user is told went wrong.
inline std::vector<std::string> error_lines(const std::string& text) {
  std::vector<std::string> result;
  for (const auto& l : lines_of(text))
    if (l.find("[error]") != std::string::npos || l.find("fatal") != std::string::npos ||
        l.find("rror:") != std::string::npos)
      result.push_back(l);
  return result;
}

// Bad input: exit 2, and exactly one error line, which contains every one of `needles`.
inline void expect_one_line(const Outcome& o, int rc, const std::vector<std::string>& needles) {
  EXPECT_EQ(o.rc, rc) << "stdout:\n" << o.out << "stderr:\n" << o.err;
  const auto errors = error_lines(o.all());
  ASSERT_EQ(errors.size(), 1u) << "stdout:\n" << o.out << "stderr:\n" << o.err;
  for (const auto& n : needles) EXPECT_NE(errors[0].find(n), std::string::npos) << errors[0];
}

// A fresh directory per test (mkdtemp), made writable again and removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ss-faults-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    ::umount2(path_.c_str(), MNT_DETACH);
    for (auto it = fs::recursive_directory_iterator(path_, ec); it != fs::end(it);
         it.increment(ec)) {
      ::umount2(it->path().c_str(), MNT_DETACH);
      if (it->is_directory(ec))
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// Enters a private mount namespace once per process (children inherit it), so the mounts below
// are seen by this test and the binaries it starts only. nullopt on success, else the reason.
inline std::optional<std::string> private_mounts() {
  static const std::optional<std::string> result = []() -> std::optional<std::string> {
    if (::unshare(CLONE_NEWNS) != 0)
      return std::string("no private mount namespace (unshare: ") + std::strerror(errno) + ")";
    if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      return std::string("cannot make mounts private (") + std::strerror(errno) + ")";
    return std::nullopt;
  }();
  return result;
}

// Mounts a tmpfs of `kib` KiB on the existing directory `dir` ("disk full" after that many
// bytes). nullopt on success, else the reason it cannot be done here.
inline std::optional<std::string> mount_small_fs(const fs::path& dir, int kib) {
  if (auto why = private_mounts()) return why;
  const std::string opts = "size=" + std::to_string(kib) + "k";
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) != 0)
    return std::string("cannot mount a tmpfs (") + std::strerror(errno) + ")";
  return std::nullopt;
}

// Makes `dir` read-only for the binaries this test starts: a read-only bind mount of itself
// (EROFS even for root) where mounts are allowed, else (not root) chmod a-w. nullopt on
// success, else the reason it cannot be done here.
inline std::optional<std::string> make_read_only(const fs::path& dir) {
  if (!private_mounts()) {
    if (::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) == 0 &&
        ::mount(nullptr, dir.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) == 0)
      return std::nullopt;
  }
  if (::geteuid() == 0) return std::string("root without mount rights: nothing is read-only");
  fs::permissions(dir, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                  fs::perm_options::remove);
  return std::nullopt;
}

}  // namespace ss::faults
