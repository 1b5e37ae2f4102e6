// The ScaleSweep store: one SQLite file per sweep (or several sweeps), schema of
// store/schema.md. `Store` is the single writer class; it also answers the read queries.
// Invariants: every write is one IMMEDIATE transaction (all or nothing); opening never alters a
// file that is not ours or is of a newer schema version (it throws ss::InputError naming the
// path first); every SQLite failure surfaces as StoreError naming file:line (sqlite_check.h).
// A Store is used from one thread; several processes may open the same file (busy_timeout).
#pragma once

#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/records.h"

namespace ss::store {

// WAL on local disks; DELETE (rollback journal) for network file systems, where WAL's
// shared-memory index does not work across hosts. kAuto (the CLI default) picks DELETE when the
// store's directory is on a network file system (network_file_system below), else WAL; an
// explicit kWal on a network file system is kept, with a warning.
enum class JournalMode { kWal, kDelete, kAuto };

// Parses "auto" / "wal" / "delete" (CLI --store-journal); throws ss::InputError otherwise.
JournalMode parse_journal_mode(const std::string& text);

// The network file system a statfs f_type magic names (NFS, Lustre, GPFS, BeeGFS, CephFS,
// CIFS/SMB, AFS, GFS2, PanFS; the "remote" types of coreutils' stat), nullopt for any other.
// Pure: the one place that classifies file systems.
std::optional<std::string> network_file_system_of_type(std::uint64_t f_type);

// statfs's f_type for `path`, or for its nearest existing parent when it does not exist yet;
// nullopt when statfs fails.
std::optional<std::uint64_t> file_system_type(const std::filesystem::path& path);

// network_file_system_of_type(file_system_type(path)); nullopt when it cannot be told.
std::optional<std::string> network_file_system(const std::filesystem::path& path);

// The journal a store opens with on a file system that is `network` (nullopt: local): kAuto
// gives kDelete on a network file system and kWal elsewhere; kWal and kDelete are kept. Pure.
JournalMode choose_journal(const std::optional<std::string>& network, JournalMode requested);

// choose_journal() for the file system that holds `path`, with a warning when a WAL store sits
// on a network file system. Never kAuto.
JournalMode resolve_journal(const std::filesystem::path& path, JournalMode requested);

struct StoreOptions {
  bool create_if_missing = false;  // plan --store / run: yes; status / scalefit: no
  bool read_only = false;          // status / scalefit: never write, never migrate
  JournalMode journal = JournalMode::kAuto;
  int busy_timeout_ms = 30000;  // how long a writer waits for another's lock
};

// Unix time in seconds (the store's time unit).
double unix_now();

// The wait after a run's n-th transient failure (n >= 1): backoff_seconds * 2^(n-1), at most
// backoff_max_seconds. Pure; the one place of the backoff rule.
double backoff_delay(const RetryPolicy& policy, std::int64_t transient_failures);

// The files that opening a NEW store created: the store file, made by this process with
// O_CREAT|O_EXCL (so it is known to be ours, not one another process made meanwhile), and its
// -wal/-shm/-journal that did not exist then. Unless keep() is called, the destructor removes
// exactly those: a store whose schema could not be created (a disk too small for it) leaves
// nothing behind, and no file this process did not create is ever removed.
class CreatedStoreFiles {
 public:
  CreatedStoreFiles() = default;
  CreatedStoreFiles(CreatedStoreFiles&& other) noexcept;
  CreatedStoreFiles& operator=(CreatedStoreFiles&&) = delete;
  ~CreatedStoreFiles();
  // Creates `path` exclusively (mode 0644 less the umask). False when it exists already (then
  // nothing is ours) or cannot be made (SQLite's open then reports why).
  bool create_exclusive(const std::filesystem::path& path);
  void keep() { files_.clear(); }

 private:
  std::vector<std::filesystem::path> files_;
};

class Store {
 public:
  // Opens (or, with create_if_missing, creates) the store at `path` and migrates it to
  // kSchemaVersion unless read_only. Throws ss::InputError (file untouched) when the path is
  // missing and may not be created, is not an SQLite file, is an SQLite file that is not a
  // ScaleSweep store, or has a schema_version newer than this build's. When it creates the
  // store and cannot finish (its schema does not fit on the disk), it removes the files it
  // created (CreatedStoreFiles) and throws StoreError naming the path.
  Store(const std::filesystem::path& path, const StoreOptions& options);

  const std::filesystem::path& path() const { return path_; }
  int schema_version();
  // "wal" or "delete": what SQLite actually uses.
  std::string journal_mode();

  // ---- sweeps and points -------------------------------------------------------------------
  // Registers a sweep; idempotent on config_hash (returns the existing id).
  std::int64_t register_sweep(const std::string& name, const std::string& config_path,
                              const std::string& config_text, const std::string& config_hash);
  // Inserts the points as `pending`; a point key already present is left as is. Returns how
  // many rows were new. One transaction.
  std::int64_t register_points(std::span<const RunPlan> points);
  // Both of the above in ONE transaction (a failure leaves no sweep without its points); every
  // point's sweep_id is replaced by the sweep's id. What `plan --store` uses. A file not
  // registered yet whose points are all registered already, by one sweep (the same grid with
  // other comments or settings outside the point keys), registers nothing and gets that
  // sweep's id (earlier_sweep: true), so its job works on those runs: it used to get a new
  // sweep holding no runs, and `run` trained nothing ("0 new ... of 0").
  struct Registration {
    std::int64_t sweep_id = 0;
    std::int64_t new_points = 0;
    bool earlier_sweep = false;
  };
  Registration register_sweep_and_points(const std::string& name, const std::string& config_path,
                                         const std::string& config_text,
                                         const std::string& config_hash,
                                         std::span<const RunPlan> points);

  // ---- leases ------------------------------------------------------------------------------
  // Claims one point for `owner` in one transaction: a `pending` row, or a `running` row whose
  // lease expired before `now`, largest flops first (ties: lowest point_index); a pending row
  // whose retry_after is after `now` is skipped unless filter.ignore_backoff. Sets status
  // running, lease owner/expiry = now + lease_seconds, attempts += 1, started = now,
  // retry_after NULL. Honours filter.sweep_id and filter.points (filter.status is ignored).
  // nullopt when none is left.
  std::optional<RunRecord> claim_point(const std::string& owner, double lease_seconds,
                                       const RunFilter& filter = {}, double now = unix_now());
  // Extends the lease if `owner` still holds run `run_id` (running); false if it lost it.
  bool renew_lease(std::int64_t run_id, const std::string& owner, double lease_seconds,
                   double now = unix_now());
  // Gives a running point back (pending, lease cleared) if `owner` holds it; e.g. on preemption.
  bool release_point(std::int64_t run_id, const std::string& owner);
  // Every running row whose lease expired before `now` goes back to pending. Returns the count.
  std::int64_t expire_leases(double now = unix_now());

  // ---- run outcomes ------------------------------------------------------------------------
  // Progress while running: last step, tokens seen and wall time so far.
  void update_progress(std::int64_t run_id, std::int64_t step, std::int64_t tokens_seen,
                       double wall_seconds);
  void mark_done(std::int64_t run_id, const RunOutcome& outcome, double now = unix_now());
  // Records `error` and whether it was `transient`, and decides by `policy` (records.h): a
  // deterministic failure goes back to pending (at once) while attempts - transient_failures <
  // max_attempts, else failed; a transient one counts transient_failures += 1 and goes back to
  // pending with retry_after = now + backoff_delay(), or failed at max_transient_failures.
  FailureOutcome mark_failed(std::int64_t run_id, const std::string& error, bool transient,
                             const RetryPolicy& policy, double now = unix_now());
  // NaN/Inf at `step`: status diverged (final, not retried).
  void mark_diverged(std::int64_t run_id, std::int64_t step, double now = unix_now());
  // `scalesweep retry`: every run whose status is in `statuses` (and whose point key is in
  // `points`, when given) goes back to pending with attempts 0, transient_failures 0 and error,
  // error_transient, retry_after, diverged_step and finished cleared; metrics and checkpoints
  // stay, so a retried run resumes from its newest checkpoint. One transaction; returns the runs reset (their records before the reset).
  std::vector<RunRecord> reset_runs(std::span<const std::string> statuses,
                                    std::span<const std::string> points);

  // ---- metrics, checkpoints, events --------------------------------------------------------
  // Inserts the rows in one transaction; INSERT OR REPLACE on (run, step), so a resumed run
  // that redoes a step overwrites it instead of duplicating it.
  void insert_metrics(std::span<const MetricRow> rows);
  void record_checkpoint(const CheckpointRecord& checkpoint);
  // The run's checkpoints, newest (largest step) first; limit <= 0 means all.
  std::vector<CheckpointRecord> latest_checkpoints(std::int64_t run_id, int limit = 0);
  void delete_checkpoint(std::int64_t run_id, std::int64_t step);
  void add_event(std::int64_t rank, const std::string& kind, const std::string& text,
                 double now = unix_now());

  // ---- analysis results --------------------------------------------------------------------
  std::int64_t write_fit(const FitRecord& fit);  // returns the new id (created = now if 0)
  // Writes or replaces the run_flags rows (schema v2), one transaction.
  void write_run_flags(std::span<const RunFlagsRecord> flags);

  // ---- reads -------------------------------------------------------------------------------
  std::vector<SweepRecord> list_sweeps();
  // Runs matching the filter, ordered by sweep_id, point_index.
  std::vector<RunRecord> list_runs(const RunFilter& filter = {});
  std::optional<RunRecord> find_run(std::int64_t run_id);
  std::vector<MetricRow> run_metrics(std::int64_t run_id);  // ordered by step
  StatusSummary status_summary(std::optional<std::int64_t> sweep_id = std::nullopt);
  // The same over the runs `scope` selects (its sweep_id and points; its status is ignored):
  // a job's own points, whichever sweep registered them first.
  StatusSummary status_summary(const RunFilter& scope);
  std::vector<FitRecord> list_fits();
  std::vector<RunFlagsRecord> list_run_flags();
  std::vector<EventRecord> list_events();

 private:
  // The bodies of the registrations, run inside a caller's transaction.
  std::int64_t insert_sweep_row(const std::string& name, const std::string& config_path,
                                const std::string& config_text, const std::string& config_hash);
  // The one sweep that holds every one of `points` (see Registration); nullopt otherwise.
  std::optional<std::int64_t> sweep_holding_all(std::span<const RunPlan> points);
  std::int64_t insert_point_rows(std::span<const RunPlan> points,
                                 std::optional<std::int64_t> sweep_id);

  // Declared before db_, so that after a failed constructor it is destroyed after the
  // database is closed, and then removes the files the failed open created.
  CreatedStoreFiles created_;
  std::filesystem::path path_;
  SQLite::Database db_;
};

}  // namespace ss::store
