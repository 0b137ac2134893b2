// The migration history: the Supabase CLI's supabase_migrations.schema_migrations (version,
// name, statements — shared with the CLI, so either tool sees what the other applied) and our
// side table supabase_migrations.registry_sync_checksums (sha256 of each applied file, when,
// by whom, whether adopted or repaired). Neither is reachable by the API roles.
#pragma once

#include <pqxx/transaction_base>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rgsync {

struct HistoryRow {
  std::string version;
  std::string name;
  std::vector<std::string> statements;
  // From the side table; absent for versions the Supabase CLI applied.
  std::optional<std::string> checksum;
  std::string applied_at;  // empty when unknown (CLI-applied)
  bool adopted = false;
  bool repaired = false;
};

// True when the CLI's history table exists.
bool history_exists(pqxx::transaction_base &tx);

// Creates the history schema/tables as the Supabase CLI does (plus our side table), only
// creating what is missing (so a role without CREATE on the database works once they exist).
void ensure_history(pqxx::transaction_base &tx);

// version -> row; empty when the history table does not exist.
std::map<std::string, HistoryRow> read_history(pqxx::transaction_base &tx);

// Records an applied file in both tables (the CLI's INSERT, plus our checksum row).
void record_applied(pqxx::transaction_base &tx, const std::string &version, const std::string &name,
                    const std::vector<std::string> &statements, const std::string &checksum, bool adopted);

// Stores a checksum for a version already in the CLI's table (backfill of CLI-applied files).
void record_checksum(pqxx::transaction_base &tx, const std::string &version, const std::string &name,
                     const std::string &checksum);

// Accepts an edited file: replaces the recorded statements and checksum, marks it repaired.
void record_repair(pqxx::transaction_base &tx, const std::string &version, const std::string &name,
                   const std::vector<std::string> &statements, const std::string &checksum);

// PostgreSQL text[] literal for `values` (exposed for tests).
std::string to_pg_text_array(const std::vector<std::string> &values);

}  // namespace rgsync
