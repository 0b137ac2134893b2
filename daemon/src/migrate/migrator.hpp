// Applying migrations: what is applied / pending / edited / unavailable, adoption of January
// 2026 databases, one transaction per file under an advisory lock, and repair of edited files.
//
// Other commands can ask whether the schema is current before touching data:
//   auto files = rgsync::load_migrations(dir);
//   pqxx::read_transaction tx(*conn);
//   auto st = rgsync::inspect_migrations(tx, files);
//   if (st.count(rgsync::MigrationState::kPending)) ... "schema is behind: run registry-sync migrate"
#pragma once

#include <pqxx/connection>
#include <pqxx/transaction_base>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "migrate/legacy_schema.hpp"
#include "migrate/files.hpp"
#include "migrate/history.hpp"

namespace rgsync {

enum class MigrationState {
  kApplied,      // recorded, file unchanged
  kPending,      // not recorded; will run
  kEdited,       // recorded, but the file changed since (migrate refuses; repair accepts)
  kUnavailable,  // not recorded; needs an extension this server cannot install (skipped)
};
const char *to_string(MigrationState s);

struct MigrationEntry {
  const MigrationFile *file = nullptr;
  MigrationState state = MigrationState::kPending;
  std::optional<HistoryRow> history;  // when recorded
  std::string detail;                 // why edited / unavailable
};

struct MigrationStatus {
  bool history_exists = false;
  std::vector<MigrationEntry> entries;     // one per file, in version order
  std::vector<HistoryRow> without_file;    // recorded versions with no file in the directory
  LegacySchemaCheck legacy;                // filled when the baseline is not yet applied
  bool needs_adoption = false;             // baseline pending over existing January tables
  std::set<std::string> unavailable_features;

  size_t count(MigrationState s) const;
  const MigrationFile *baseline() const;
};

MigrationStatus inspect_migrations(pqxx::transaction_base &tx, const std::vector<MigrationFile> &files);

struct MigrateOptions {
  bool dry_run = false;
  std::string actor = "registry-sync migrate";  // SET LOCAL registry_guard.actor for audit rows
};

struct MigrateResult {
  int applied = 0;
  int skipped = 0;
  bool adopted = false;
};

// Applies pending files (see README "registry-sync migrate"). Writes what it does, one line
// per file, to `out`. Throws OperationError (edited files, a failing statement, an
// unadoptable database) or DatabaseError (privileges); files applied before a failure stay
// applied, the failing file leaves no trace.
MigrateResult run_migrate(pqxx::connection &conn, const std::vector<MigrationFile> &files,
                          const MigrateOptions &opts, std::ostream &out);

// Accepts edited applied files (by version or file name): records their current statements
// and checksum without running them.
void run_repair(pqxx::connection &conn, const std::vector<MigrationFile> &files,
                const std::vector<std::string> &versions, std::ostream &out);

// Prints the status report used by `registry-sync status`.
void print_status(const MigrationStatus &st, const std::string &dir, std::ostream &out);

}  // namespace rgsync
