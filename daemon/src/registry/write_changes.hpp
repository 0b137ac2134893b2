// Writes a checked registry into the database: set-based diff through COPY-staged temp tables,
// only changed rows written, one transaction, a registry_sync.sync_runs record.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <pqxx/connection>
#include <string>

#include "registry/mapping.hpp"
#include "registry/registry.hpp"

namespace rgsync {

struct ApplyOptions {
  bool dry_run = false;
  bool prune = false;
  bool force_full_diff = false;  // skip the unchanged-input shortcut
  std::string tenant = "default";
  std::string on_dangling = "fail";  // recorded with the run
  std::string mapping_sha256;
  std::ostream *out = nullptr;       // diff / summary
  std::ostream *progress = nullptr;  // phase timings on large inputs
};

struct TableCounts {
  size_t inserted = 0, updated = 0, deleted = 0, unchanged = 0, not_in_yaml = 0;
};

struct ApplyResult {
  long long sync_run_id = 0;
  size_t rows_written = 0;
  bool shortcut = false;  // inputs and database unchanged since the last apply
  bool validation_failed = false;  // streaming: reading ended with errors; rolled back, no run record
};

// Streaming apply: the rows of one table arrive as COPY text while the registry is still being
// read, so reading overlaps the database's work. The tables before it (in write order) are
// complete and checked when apply_registry is called; the run record is written inside the
// data transaction, so when reading ends with errors everything is rolled back and the
// database is left as if the run had never started (as when validation fails first).
struct ApplyStream {
  size_t table = 0;         // index into reg.tables
  std::string file_hashes;  // of the files being read (for the run record)
  // The next piece of COPY text: whole rows (each ending in '\n') without the tenant column;
  // false once every row was handed over.
  std::function<bool(std::string &chunk)> next_chunk;
  // Waits until every file is read and checked, prints the findings; false = errors.
  std::function<bool()> finish;
};

// The files' sha256 as the JSON object sync_runs and apply_state store ({"path": "hex"}).
std::string file_hashes_json(const std::vector<SourceFile> &files);

// One row in COPY text form (tab-separated, escaped, ending in '\n').
void append_copy_row(std::string &out, const TableDef &def, const Row &r);

// The pseudo-table registry_documents(file, key, document) is handled like a mapped table.
TableDef documents_table_def();

// Checks the database has every mapped table and column with the mapped type; throws
// OperationError naming what is missing ("run registry-sync migrate").
void check_schema(pqxx::connection &conn, const Mapping &m);

// The unchanged-input shortcut: when the files hash as in the last successful apply for this
// tenant (same mapping and options), and every table still has the row count that run left and
// no row newer than its transaction, nothing can differ: records a run and returns its id
// without parsing. nullopt = do the full run.
std::optional<long long> try_unchanged_shortcut(pqxx::connection &conn, const Mapping &m, const std::vector<SourceFile> &files,
                                                const ApplyOptions &opt);

ApplyResult apply_registry(pqxx::connection &conn, const Mapping &m, const Registry &reg, const ApplyOptions &opt,
                           ApplyStream *stream = nullptr);

// Quotes an SQL identifier.
std::string qi(const std::string &ident);

}  // namespace rgsync
