// The check wrapper around every SQLite call of the store: a failing call throws
// ss::store::StoreError whose message names the source file and line of the call and SQLite's
// own message and extended code, and, once the store is open (SS_STORE_SQL, prepare,
// begin_immediate), the store's path and what to do about it (store_error_fix, one table).
// Invariant: no SQLite::Exception leaves store/ unwrapped.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <filesystem>
#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace ss::store {

// An SQLite failure that is not the user's fault (I/O error, lock timeout, constraint bug).
class StoreError : public std::runtime_error {
 public:
  StoreError(const std::string& message, int sqlite_code)
      : std::runtime_error(message), sqlite_code_(sqlite_code) {}
  // SQLite's extended result code (e.g. SQLITE_BUSY = 5).
  int sqlite_code() const { return sqlite_code_; }

 private:
  int sqlite_code_;
};

// Runs `call`, turning SQLite::Exception into StoreError tagged with file:line.
template <typename Call>
decltype(auto) sqlite_checked(const char* file, int line, Call&& call) {
  try {
    return std::forward<Call>(call)();
  } catch (const SQLite::Exception& e) {
    throw StoreError(std::string("sqlite error at ") + file + ":" + std::to_string(line) + ": " +
                         e.what() + " (code " + std::to_string(e.getExtendedErrorCode()) + ")",
                     e.getExtendedErrorCode());
  }
}

// What a user can do about a failed SQLite call on an open store, by SQLite's primary code.
inline std::string_view store_error_fix(int sqlite_code) {
  struct Fix {
    int code;
    std::string_view text;
  };
  // An extended code (more than 8 bits) matches exactly and is tried first; the others match
  // the primary code.
  static constexpr Fix kFixes[] = {
      {4874 /*IOERR_SHMSIZE*/,
       "the store's -shm file (WAL index) cannot grow: its file system is full; free space "
       "there (or use --store-journal delete), then re-run the same command"},
      {13 /*FULL*/, "free space on the store's file system, then re-run the same command"},
      {10 /*IOERR*/,
       "check the file system under the store (dmesg, df), then re-run the same command"},
      {5 /*BUSY*/,
       "another process holds the store's write lock; wait for it to end (or raise "
       "--busy-timeout where offered), then re-run"},
      {6 /*LOCKED*/, "another connection holds a lock; re-run when it is done"},
      {8 /*READONLY*/, "make the store, its -wal/-shm files and its directory writable"},
      {11 /*CORRUPT*/,
       "the file is damaged: restore it from a copy (`sqlite3 STORE .recover` may save rows)"},
      {26 /*NOTADB*/, "the file is not a ScaleSweep store: give the right path"},
      {14 /*CANTOPEN*/, "make sure the store's directory exists and is writable"},
      {23 /*AUTH*/, "check the store's permissions"},
  };
  for (const Fix& f : kFixes)
    if (f.code == sqlite_code) return f.text;
  for (const Fix& f : kFixes)
    if (f.code == (sqlite_code & 0xff)) return f.text;
  return "re-run the same command; if it fails again, report this line";
}

// Runs `call` on the open store at `store`: a failure names the store, the call and a fix.
template <typename Call>
decltype(auto) sqlite_checked_at(const std::string& store, const char* file, int line,
                                 Call&& call) {
  try {
    return sqlite_checked(file, line, std::forward<Call>(call));
  } catch (const StoreError& e) {
    throw StoreError(
        "store " + store + ": " + e.what() + "; " + std::string(store_error_fix(e.sqlite_code())),
        e.sqlite_code());
  }
}

// Prepares `sql` on `db`, checked (a prepare error names the store and the caller's file:line).
inline SQLite::Statement prepare(SQLite::Database& db, const char* sql,
                                 std::source_location where = std::source_location::current()) {
  return sqlite_checked_at(db.getFilename(), where.file_name(), static_cast<int>(where.line()),
                           [&] { return SQLite::Statement(db, sql); });
}

// BEGIN IMMEDIATE: SQLiteCpp's Transaction (rolled back when destroyed uncommitted; commit it
// with SS_SQL(transaction.commit())). IMMEDIATE takes the write lock at the start (waiting up to
// busy_timeout), so two writers never deadlock on a lock upgrade the way two DEFERRED
// transactions can (that would fail at once with "database is locked").
inline SQLite::Transaction begin_immediate(
    SQLite::Database& db, std::source_location where = std::source_location::current()) {
  return sqlite_checked_at(
      db.getFilename(), where.file_name(), static_cast<int>(where.line()),
      [&] { return SQLite::Transaction(db, SQLite::TransactionBehavior::IMMEDIATE); });
}

}  // namespace ss::store

// SS_SQL(expr): evaluate an SQLite(Cpp) expression; on failure throw StoreError with file:line.
#define SS_SQL(expr) \
  ::ss::store::sqlite_checked(__FILE__, __LINE__, [&]() -> decltype(auto) { return expr; })
// SS_STORE_SQL(expr): SS_SQL inside a Store member, once the store is open: the error also names
// the store (path_) and a fix.
#define SS_STORE_SQL(expr)                                           \
  ::ss::store::sqlite_checked_at(path_.string(), __FILE__, __LINE__, \
                                 [&]() -> decltype(auto) { return expr; })
