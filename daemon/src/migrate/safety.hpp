// Migration safety checks (`registry-sync migrate --check`): what a pending migration would do
// to tables that already hold data, before it runs.
//
// Rules (each finding names file:line, the rule and what to do instead):
//   lock         a statement that holds ACCESS EXCLUSIVE (or blocks writes while it scans or
//                rewrites) on a large existing table: rewrites, scans, index builds, and brief
//                metadata changes that still queue behind running queries
//   index        CREATE INDEX without CONCURRENTLY on an existing table (blocks writes while it builds)
//   not-null     ADD COLUMN ... NOT NULL without DEFAULT on an existing table (fails once rows exist)
//   destructive  DROP TABLE / SCHEMA / COLUMN / SEQUENCE / TYPE / DOMAIN / EXTENSION / MATERIALIZED
//                VIEW, any DROP ... CASCADE, TRUNCATE, ALTER COLUMN ... TYPE, without a marker
//   edited       an applied migration file changed since it was applied (added by the command)
//
// "Existing" means: present in the target database and not created by an earlier statement of
// the pending migrations. Only pending migrations are checked: released files already applied
// to the target are history, not proposals.
//
// Markers (SQL comments inside the statement, e.g. on the line before it):
//   -- registry-sync: allow-destructive <reason>   accept a destructive statement
//   -- registry-sync: allow-lock <reason>          accept a lock / index / not-null finding
// The reason is required: a marker without one is itself a finding.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "migrate/files.hpp"

namespace rgsync {

struct SafetyFinding {
  std::string file;  // path
  int line = 0;
  std::string rule;  // lock, index, not-null, destructive, edited, marker
  std::string message;
  std::string format() const;  // file:line: rule: message
};

struct TableSize {
  double rows = 0;       // planner estimate (pg_class.reltuples, 0 when never analysed)
  int64_t bytes = 0;     // pg_total_relation_size
};

// Returns the size of an existing table, or nullopt when the database has no such table.
using TableLookup = std::function<std::optional<TableSize>(const std::string &schema, const std::string &table)>;

struct SafetyOptions {
  double large_rows = 100000;              // a table at or above either limit is "large"
  int64_t large_bytes = 64ll * 1024 * 1024;
};

// Checks `pending` (in the order they would run) against the tables `lookup` knows.
std::vector<SafetyFinding> check_migration_safety(const std::vector<const MigrationFile *> &pending,
                                                  const TableLookup &lookup, const SafetyOptions &opts);

}  // namespace rgsync
