// Restore checks: a manifest of the registry database taken at backup time (row count and
// checksum per table, audit seal head, applied migrations, extension version) and the
// comparison of a restored database with it, naming every difference.
//
//   Manifest m = take_manifest(conn, default_manifest_schemas());  // one REPEATABLE READ snapshot
//   write_manifest_file(m, "registry.manifest.json");
//   Manifest expected = read_manifest_file("registry.manifest.json");   // UsageError naming the file
//   for (auto &d : compare_manifests(expected, take_manifest(conn, expected.schemas))) ...
#pragma once

#include <pqxx/connection>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rgsync {

struct TableState {
  long long rows = 0;
  std::string checksum;  // md5 over the sorted md5s of the rows' text; "-" for an empty table
};

struct SealHead {
  long long id = 0;
  std::string hash;  // hex
};

struct Manifest {
  std::string taken_at;        // server time of the snapshot (ISO 8601, UTC)
  std::string database;        // current_database()
  std::string server_version;  // server_version
  std::vector<std::string> schemas;                // the schemas covered (those that existed)
  std::map<std::string, TableState> tables;        // "schema.table" -> state
  std::vector<std::string> migrations;             // applied versions, ascending
  std::optional<std::string> extension_version;    // registry_guard's, when installed
  std::optional<SealHead> seal_head;               // audit.seal_head(), when the audit trail exists
  std::optional<bool> audit_ok;                    // audit.verify().ok, when the audit trail exists and
                                                   // the role may execute it
  std::string audit_problem;                       // audit.verify()'s first bad id and problem, if not ok
};

// The schemas a manifest covers unless told otherwise: the registry tables, the audit trail,
// the references catalog, registry-sync's state and the migration history.
std::vector<std::string> default_manifest_schemas();

// Reads everything in one read-only REPEATABLE READ transaction (one consistent snapshot), with
// row_security off: a role that row-level security would filter gets an error, never a count of
// the rows it happens to see (run it as the tables' owner or a BYPASSRLS role).
// Schemas that do not exist are left out (managed Supabase has no audit / guard schema).
Manifest take_manifest(pqxx::connection_base &conn, const std::vector<std::string> &schemas);

std::string manifest_to_json(const Manifest &m);
// Throws UsageError naming `source` (the file) when the text is not a manifest.
Manifest manifest_from_json(const std::string &text, const std::string &source);

// Writes atomically (temporary file + rename); throws UsageError naming the file on failure.
void write_manifest_file(const Manifest &m, const std::string &path);
Manifest read_manifest_file(const std::string &path);

// Every difference of `actual` from `expected`, one human-readable line each ("table
// public.kpis: 21 rows, the manifest has 20"); empty when the restore matches. A failing
// audit.verify() in `actual` is a difference even when the manifest recorded none.
std::vector<std::string> compare_manifests(const Manifest &expected, const Manifest &actual);

}  // namespace rgsync
