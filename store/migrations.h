// Schema migrations of the store: an ordered list of steps, step i takes schema_version i to
// i + 1. Invariant: each step runs inside one IMMEDIATE transaction together with the update of
// meta.schema_version, so a store is always at exactly one known version.
#pragma once

#include <SQLiteCpp/Database.h>

#include <string>
#include <string_view>
#include <vector>

namespace ss::store {

// The schema version this build writes and understands (store/schema.md).
inline constexpr int kSchemaVersion = 4;

// One migration: the SQL that takes `from_version` to `from_version + 1`.
struct Migration {
  int from_version;
  std::string_view sql;
};

// All migrations in order; migrations()[i].from_version == i.
const std::vector<Migration>& migrations();

// Reads meta.schema_version of an open database; 0 when the database has no tables at all.
// Throws std::runtime_error when it has tables but no meta.schema_version (not ours); the
// caller turns that into an InputError naming the path.
int read_schema_version(SQLite::Database& db);

// What the database lacks of the schema `version` defines (its tables and their columns, as the
// migrations up to `version` make them on an empty database): "" when nothing, else a list such
// as "table sweeps, table runs, column runs.budget". A store whose meta says a version its tables
// do not have is not ours to migrate (store_open.cc refuses it unchanged).
std::string missing_schema_parts(SQLite::Database& db, int version);

// Applies every migration from the database's current version up to `target_version`, each in
// its own transaction. Returns the version reached.
int migrate_schema(SQLite::Database& db, int target_version = kSchemaVersion);

}  // namespace ss::store
