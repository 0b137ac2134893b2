// Migration files on disk: discovery, naming (Supabase CLI's `<digits>_<name>.sql`), header
// directives and statement splitting compatible with the Supabase CLI's history records.
//
// Header directives are SQL comments anywhere in the file's leading comment block:
//   -- registry-sync: baseline                      adoption baseline (idempotent file)
//   -- registry-sync: requires-extension NAME       skipped where NAME is not available
//   -- registry-sync: feature TEXT                  what is unavailable when skipped
//   -- registry-sync: no-transaction                runs statement by statement outside a transaction
//                                                   (for CREATE INDEX CONCURRENTLY; keep such a file to one
//                                                   idempotent statement, e.g. ... IF NOT EXISTS)
// Statement markers read by `migrate --check` (see migrate/safety.hpp) may appear there too:
//   -- registry-sync: allow-destructive REASON / allow-lock REASON
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rgsync {

struct SqlStatement {
  std::string text;  // trimmed, trailing ';' removed, comments kept (as the Supabase CLI records)
  int line = 0;      // 1-based line of the statement's first character that is not a comment
  bool only_comments = false;  // nothing to execute (recorded, not run)
};

// Splits SQL into statements at top-level ';' (outside quotes, comments, dollar quotes,
// parentheses and BEGIN ATOMIC bodies), like the Supabase CLI's parser.SplitAndTrim.
std::vector<SqlStatement> split_sql(const std::string &sql);

struct MigrationFile {
  std::string version;   // leading digits of the file name
  std::string name;      // the rest, without ".sql"
  std::string filename;  // e.g. 20261125100000_registry_tables.sql
  std::string path;
  std::string checksum;  // sha256 of the file's bytes
  std::vector<SqlStatement> statements;
  bool baseline = false;
  bool no_transaction = false;
  std::optional<std::string> requires_extension;
  std::string feature;   // human description for status when unavailable

  std::vector<std::string> statement_texts() const;
};

// Reads every migration in `dir`, sorted by version. Files not named <digits>_<name>.sql are
// skipped with a warning (as the Supabase CLI does). Throws UsageError when the directory is
// missing, and OperationError naming both files when two share a version.
std::vector<MigrationFile> load_migrations(const std::string &dir);

// Parses one file's text (exposed for tests).
MigrationFile parse_migration(const std::string &filename, const std::string &path, const std::string &content);

}  // namespace rgsync
