// The check wrapper around every SQLite call of the store: a failing call throws
// ss::store::StoreError whose message names the source file and line of the call and SQLite's
// own message and extended code. Invariant: no SQLite::Exception leaves store/ unwrapped.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <source_location>
#include <stdexcept>
#include <string>
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

// Prepares `sql` on `db`, checked (a prepare error names the caller's file:line).
inline SQLite::Statement prepare(SQLite::Database& db, const char* sql,
                                 std::source_location where = std::source_location::current()) {
  return sqlite_checked(where.file_name(), static_cast<int>(where.line()),
                        [&] { return SQLite::Statement(db, sql); });
}

// BEGIN IMMEDIATE: SQLiteCpp's Transaction (rolled back when destroyed uncommitted; commit it
// with SS_SQL(transaction.commit())). IMMEDIATE takes the write lock at the start (waiting up to
// busy_timeout), so two writers never deadlock on a lock upgrade the way two DEFERRED
// transactions can (that would fail at once with "database is locked").
inline SQLite::Transaction begin_immediate(
    SQLite::Database& db, std::source_location where = std::source_location::current()) {
  return sqlite_checked(where.file_name(), static_cast<int>(where.line()), [&] {
    return SQLite::Transaction(db, SQLite::TransactionBehavior::IMMEDIATE);
  });
}

}  // namespace ss::store

// SS_SQL(expr): evaluate an SQLite(Cpp) expression; on failure throw StoreError with file:line.
#define SS_SQL(expr) \
  ::ss::store::sqlite_checked(__FILE__, __LINE__, [&]() -> decltype(auto) { return expr; })
