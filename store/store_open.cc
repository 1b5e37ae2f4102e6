// Opening a store: validation before any write, then pragmas and migrations.
// Invariants: a file that is not ours (its tables lacking what its meta.schema_version promises
// included), or is newer than kSchemaVersion, is only ever opened read-only and is rejected
// with ss::InputError before anything could write to it; reading
// (that probe, `status`, scalefit) creates no file beside the store (open_reader); a writer is
// refused up front (InputError) when the file, its -wal/-shm or its directory is not writable,
// so SQLite never creates side files it cannot use; every StoreError from opening names the
// store's path; a store this process created and could not finish (schema on a full disk) is
// removed again, with the side files it created, and nothing else (CreatedStoreFiles).
#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <sys/vfs.h>

#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <utility>

#include "ss/error.h"
#include "ss/log.h"
#include "store/migrations.h"
#include "store/sqlite_check.h"
#include "store/store.h"

namespace ss::store {
namespace {

namespace fs = std::filesystem;

constexpr char kSqliteMagic[] = "SQLite format 3";  // 15 chars + the NUL = the 16-byte header

// "file:" URI of `path` with `query`; %, ? and # in the path are escaped.
std::string sqlite_uri(const fs::path& path, const char* query) {
  std::string uri = "file:";
  for (const char c : fs::absolute(path).string()) {
    if (c == '%' || c == '?' || c == '#')
      uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    else
      uri += c;
  }
  return uri + "?" + query;
}

// Whether SQLite keeps state beside `path` right now (a WAL, its index, a rollback journal):
// then the file alone is not the whole database and immutable=1 would read a stale one.
bool has_side_files(const fs::path& path) {
  std::error_code ec;
  for (const char* suffix : {"-wal", "-shm", "-journal"})
    if (fs::exists(path.string() + suffix, ec)) return true;
  return false;
}

// Whether the file's header says WAL mode (bytes 18 and 19, the read/write versions, are 2).
bool wal_header(const fs::path& path) {
  std::array<char, 20> header{};
  std::ifstream in(path, std::ios::binary);
  in.read(header.data(), header.size());
  return in.gcount() == 20 && header[18] == 2 && header[19] == 2;
}

// A reader's connection, which creates nothing beside the store:
// - a WAL store with no -wal/-shm (no writer has it open, nothing is pending): immutable=1
//   (mode=ro would create a -wal and -shm that a read-only connection never removes);
// - otherwise mode=ro (a rollback-journal store, or a WAL store whose side files exist), and
//   immutable=1 where even the -shm cannot be made (read-only directory or file system),
//   unless the WAL holds writes the main file lacks.
SQLite::Database open_reader(const fs::path& path, int busy_timeout_ms) {
  const int flags = SQLite::OPEN_READONLY | SQLite::OPEN_URI;
  if (!has_side_files(path) && wal_header(path))
    return SQLite::Database(sqlite_uri(path, "immutable=1"), flags, busy_timeout_ms);
  try {
    SQLite::Database db(sqlite_uri(path, "mode=ro"), flags, busy_timeout_ms);
    db.execAndGet("SELECT count(*) FROM sqlite_master");  // opens the -wal/-shm now
    return db;
  } catch (const SQLite::Exception& e) {
    const int primary = e.getErrorCode() & 0xff;
    if (primary != SQLITE_READONLY && primary != SQLITE_CANTOPEN) throw;
    std::error_code ec;
    const fs::path wal = path.string() + "-wal";
    if (fs::exists(wal, ec) && fs::file_size(wal, ec) > 0)
      throw InputError(fmt::format(
          "store {} cannot be read here: its write-ahead log {} holds recent writes and this "
          "place is read-only ({}); copy the store with its -wal file to a writable directory",
          path.string(), wal.string(), e.what()));
    return SQLite::Database(sqlite_uri(path, "immutable=1"), flags, busy_timeout_ms);
  }
}

// A writer needs the file and its directory writable (SQLite creates -wal/-shm or -journal
// there); refusing here keeps SQLite from leaving side files it cannot use.
void check_writable(const fs::path& path, bool exists) {
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (exists && ::access(path.c_str(), W_OK) != 0)
    throw InputError(fmt::format(
        "store {} is not writable ({}); make it writable (chmod u+w {}) or read it with "
        "`scalesweep status` / scalefit, which only read",
        path.string(), std::strerror(errno), path.string()));
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string side = path.string() + suffix;
    if (::access(side.c_str(), F_OK) == 0 && ::access(side.c_str(), W_OK) != 0)
      throw InputError(fmt::format(
          "store {}: {} is not writable ({}); make it writable (chmod u+w {}), or delete it "
          "when no process has the store open",
          path.string(), side, std::strerror(errno), side));
  }
  if (::access(parent.c_str(), W_OK | X_OK) != 0)
    throw InputError(fmt::format(
        "store {}: directory {} is not writable ({}); SQLite writes its journal beside the "
        "store: move the store to a writable directory",
        path.string(), fs::absolute(parent).string(), std::strerror(errno)));
}

[[noreturn]] void throw_not_ours(const fs::path& path, const std::string& why) {
  throw InputError(fmt::format(
      "store {} is not a ScaleSweep store ({}); pass a store created by `scalesweep plan CONFIG "
      "--store PATH`, or a new path",
      path.string(), why));
}

// What the file at `path` is, judged without writing to it. Returns the schema version found
// (0 = a file with no tables, i.e. empty). Throws InputError for anything not ours.
int inspect_existing(const fs::path& path, int busy_timeout_ms) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw_not_ours(path, "not a regular file");
  if (fs::file_size(path, ec) == 0) return 0;
  std::array<char, 16> header{};
  {
    std::ifstream in(path, std::ios::binary);
    if (!in)
      throw InputError(
          fmt::format("store {} cannot be read; check its permissions", path.string()));
    in.read(header.data(), header.size());
    if (in.gcount() != static_cast<std::streamsize>(header.size()) ||
        std::memcmp(header.data(), kSqliteMagic, sizeof(kSqliteMagic)) != 0) {
      throw_not_ours(path, "not an SQLite file");
    }
  }
  int version = 0;
  std::string missing;
  try {
    // busy_timeout: another process may hold a write lock right now (rollback journal mode
    // blocks readers during its commit); wait for it like any other access would.
    SQLite::Database probe = SS_SQL(open_reader(path, busy_timeout_ms));
    version = read_schema_version(probe);
    if (version >= 1 && version <= kSchemaVersion) missing = missing_schema_parts(probe, version);
  } catch (const StoreError& e) {
    // Only "not a database" / "malformed" mean the file is not ours; a lock timeout or an I/O
    // error is an environment problem and stays a StoreError.
    const int primary = e.sqlite_code() & 0xff;
    if (primary != SQLITE_NOTADB && primary != SQLITE_CORRUPT) throw;
    throw_not_ours(path, fmt::format("SQLite cannot read it: {}", e.what()));
  } catch (const InputError&) {
    throw;  // open_reader's own verdict (a WAL it cannot read here)
  } catch (const std::runtime_error& e) {
    throw_not_ours(path, e.what());
  }
  if (version > kSchemaVersion) {
    throw InputError(fmt::format(
        "store {} has schema_version {}, newer than the {} this scalesweep understands; use a "
        "newer build of scalesweep/scalefit",
        path.string(), version, kSchemaVersion));
  }
  // A meta table that claims a version the tables do not have (e.g. only `meta`): migrating
  // would write into a file that is not a store; refuse it as it is.
  if (!missing.empty())
    throw_not_ours(
        path, fmt::format("its meta says schema_version {} but it lacks {}", version, missing));
  return version;
}

SQLite::Database open_database(const fs::path& path, const StoreOptions& options,
                               CreatedStoreFiles& created) {
  std::error_code ec;
  const bool exists = fs::exists(path, ec);
  int version = 0;
  if (exists) version = inspect_existing(path, options.busy_timeout_ms);
  if ((!exists || version == 0) && !options.create_if_missing) {
    throw InputError(fmt::format(
        "store {} {}; create it with `scalesweep plan CONFIG --store {}` or check the path",
        path.string(), exists ? "is empty (no ScaleSweep tables)" : "does not exist",
        path.string()));
  }
  if ((!exists || version == 0) && options.read_only) {
    throw InputError(
        fmt::format("store {} does not exist and cannot be created read-only", path.string()));
  }
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!exists && !fs::is_directory(parent, ec)) {
    throw InputError(
        fmt::format("store {}: directory {} does not exist; create it or choose "
                    "another path",
                    path.string(), parent.string()));
  }
  if (options.read_only) return SS_SQL(open_reader(path, options.busy_timeout_ms));
  check_writable(path, exists);
  if (!exists) created.create_exclusive(path);
  return SS_SQL(SQLite::Database(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE,
                                 options.busy_timeout_ms));
}

}  // namespace

JournalMode choose_journal(const std::optional<std::string>& network, JournalMode requested) {
  if (requested != JournalMode::kAuto) return requested;
  return network ? JournalMode::kDelete : JournalMode::kWal;
}

JournalMode resolve_journal(const std::filesystem::path& path, JournalMode requested) {
  if (requested == JournalMode::kDelete) return requested;  // no statfs needed
  const auto network = network_file_system(path);
  const JournalMode journal = choose_journal(network, requested);
  if (network && journal == JournalMode::kWal) {
    log::warn(
        "store {} is on {} with --store-journal wal: WAL's shared memory is not shared between "
        "hosts there, so jobs on different nodes may corrupt it; use --store-journal auto or "
        "delete",
        path.string(), *network);
  }
  return journal;
}

JournalMode parse_journal_mode(const std::string& text) {
  if (text == "auto") return JournalMode::kAuto;
  if (text == "wal") return JournalMode::kWal;
  if (text == "delete") return JournalMode::kDelete;
  throw InputError(fmt::format(
      "--store-journal = {} is not a journal mode; use auto (WAL on a local disk, the rollback "
      "journal on NFS/Lustre/GPFS), wal or delete",
      text));
}

std::optional<std::string> network_file_system_of_type(std::uint64_t f_type) {
  struct Kind {
    std::uint32_t magic;
    const char* name;
  };
  // statfs f_type magics (linux/magic.h, the file systems' own headers; coreutils' stat marks
  // each "remote"). The kernel's magics are 32-bit; f_type is a long.
  static constexpr Kind kNetwork[] = {
      {0x6969, "NFS"},       {0x0BD00BD0, "Lustre"}, {0x47504653, "GPFS"},
      {0x19830326, "BeeGFS"}, {0x00C36400, "CephFS"}, {0xFF534D42, "CIFS"},
      {0xFE534D42, "SMB2"},   {0x517B, "SMB"},        {0x5346414F, "AFS"},
      {0x6B414653, "AFS"},    {0x01161970, "GFS2"},   {0xAAD7AAEA, "PanFS"}};
  for (const auto& kind : kNetwork) {
    if (static_cast<std::uint32_t>(f_type) == kind.magic) return std::string(kind.name);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> file_system_type(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(path, ec);
  while (!dir.empty() && !std::filesystem::exists(dir, ec) && dir != dir.parent_path()) {
    dir = dir.parent_path();
  }
  struct statfs fs {};
  if (dir.empty() || ::statfs(dir.c_str(), &fs) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(fs.f_type);
}

std::optional<std::string> network_file_system(const std::filesystem::path& path) {
  const auto type = file_system_type(path);
  return type ? network_file_system_of_type(*type) : std::nullopt;
}

double unix_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

CreatedStoreFiles::CreatedStoreFiles(CreatedStoreFiles&& other) noexcept
    : files_(std::exchange(other.files_, {})) {}

CreatedStoreFiles::~CreatedStoreFiles() {
  std::error_code ec;
  for (const auto& file : files_) fs::remove(file, ec);
}

bool CreatedStoreFiles::create_exclusive(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  ::close(fd);
  files_ = {path};
  std::error_code ec;
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    const fs::path side = path.string() + suffix;
    if (!fs::exists(side, ec)) files_.push_back(side);
  }
  return true;
}

Store::Store(const std::filesystem::path& path, const StoreOptions& options) try
    : path_(path), db_(open_database(path, options, created_)) {
  SS_SQL(db_.exec("PRAGMA foreign_keys=ON"));
  if (options.read_only) return;
  const JournalMode journal = resolve_journal(path_, options.journal);
  const char* wanted = journal == JournalMode::kWal ? "wal" : "delete";
  const std::string got =
      SS_SQL(db_.execAndGet(fmt::format("PRAGMA journal_mode={}", wanted)).getString());
  if (got != wanted) {
    log::warn("store {}: asked for journal_mode={}, SQLite uses {}", path_.string(), wanted, got);
  }
  // NORMAL is durable across process crashes in WAL mode (only an OS crash may lose the last
  // transactions, never corrupt the file) and makes each commit much cheaper.
  if (journal == JournalMode::kWal) SS_SQL(db_.exec("PRAGMA synchronous=NORMAL"));
  migrate_schema(db_, kSchemaVersion);
  created_.keep();
} catch (const StoreError& e) {
  const std::string named = "store " + path.string() + ": ";
  if (std::string_view(e.what()).starts_with(named)) throw;  // prepare() named it already
  throw StoreError(
      fmt::format("{}{}; {}", named, e.what(), store_error_fix(e.sqlite_code())),
      e.sqlite_code());
}

int Store::schema_version() {
  return read_schema_version(db_);
}

std::string Store::journal_mode() {
  return SS_SQL(db_.execAndGet("PRAGMA journal_mode").getString());
}

}  // namespace ss::store
