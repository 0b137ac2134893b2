// A registry directory read through the mapping: rows per table, documents, references.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/findings.hpp"
#include "registry/mapping.hpp"
#include "yaml/tree.hpp"

namespace rgsync {

// One column value in PostgreSQL's text input form (arrays kept as elements until references
// are resolved).
struct Cell {
  bool null = true;
  std::string text;                // every type but text[]
  std::vector<std::string> elems;  // text[]
  std::vector<Mark> elem_marks;
  Mark mark;
};

struct Row {
  std::vector<Cell> cells;  // one per TableDef column
  size_t file = 0;          // index into Registry::files
  Mark mark;                // the entry
  bool dropped = false;
};

struct TableRows {
  const TableDef *def = nullptr;
  std::vector<Row> rows;
  std::unordered_map<std::string, size_t> by_key;  // key text -> row index
  size_t live() const;
};

struct Document {
  size_t file = 0;
  std::string key;
  std::string json;
  Mark mark;
};

struct SourceFile {
  std::string rel;   // path relative to the registry directory (stored in the database)
  std::string shown; // path as shown in messages
  std::string sha256;
  uint64_t bytes = 0;
};

struct Dangling {
  std::string table, column, entry, value;
  size_t file = 0;
  Mark mark;
  bool enforced = true;
};

enum class OnDangling { Fail, Drop, Keep };

struct Registry {
  std::vector<SourceFile> files;
  std::vector<TableRows> tables;  // mapping order
  std::vector<Document> documents;
  std::vector<Dangling> dangling;
  TableRows *table(const std::string &name);
};

// A file's bytes already read (and hashed) by the caller, by path as shown.
struct PreRead {
  std::string bytes;
  std::string sha256;
};

struct LoadOptions {
  uint64_t max_file_bytes = 256ull * 1024 * 1024;
  std::ostream *progress = nullptr;  // phase timings for large inputs
  // Files (paths relative to the registry directory) not to read: the onboarding checklist
  // compares a contract with the registry as it is without that contract.
  std::vector<std::string> skip;
  // Streaming apply's hooks: before_file(i) runs before the files of m.files[i] are read;
  // on_row runs for each row of row_table as it is accepted (it may resolve its references).
  std::function<void(size_t file_def)> before_file;
  const TableDef *row_table = nullptr;
  std::function<void(Row &row)> on_row;
  // Bytes the caller already read (the unchanged-input check): used instead of reading the
  // file again, and moved out of the map once used.
  std::unordered_map<std::string, PreRead> *preread = nullptr;
};

// Reads every mapped file of `dir`; records every problem in `findings` and keeps going, so one
// run reports everything. The returned registry is only usable when findings.errors() == 0.
Registry load_registry(const Mapping &m, const std::string &dir, const LoadOptions &opt, Findings &findings);
// The same into `reg` (which must be empty): its tables exist before the first file is read.
void load_registry_into(Registry &reg, const Mapping &m, const std::string &dir, const LoadOptions &opt, Findings &findings);

// Hashes the mapped files without parsing them (for apply's unchanged-input shortcut); files
// that are missing or over the limit are left out (the full run reports them).
// Files of at least keep_min_bytes keep their bytes in *keep (when given), by path as shown.
std::vector<SourceFile> hash_registry_files(const Mapping &m, const std::string &dir, uint64_t max_file_bytes,
                                            std::unordered_map<std::string, PreRead> *keep = nullptr, uint64_t keep_min_bytes = 0);

// Resolves references (display names -> ids), then applies the dangling policy: fail = every
// enforced dangling reference is an error; drop = removed with a warning; keep = kept, refused
// for enforced references. Report-only references are warnings under every policy.
// `which` (when given) picks the references to resolve (by the default, all).
void resolve_references(const Mapping &m, Registry &reg, OnDangling policy, Findings &findings,
                        const std::function<bool(const ReferenceDef &)> &which = {});

// One reference resolved row by row, as resolve_references does for a whole table: for rows
// that arrive one at a time while the registry is still being read (streaming apply). The
// target table must be complete when it is constructed; finish() adds the report-only
// summaries once every row went through row().
class ReferenceResolver {
 public:
  ReferenceResolver(const ReferenceDef &ref, Registry &reg, OnDangling policy, Findings &findings);
  ~ReferenceResolver();
  ReferenceResolver(ReferenceResolver &&) noexcept;
  void row(Row &r);
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The key of a row as one string (columns joined by \x1f) and as shown to people.
std::string row_key(const TableDef &t, const Row &r);
std::string row_label(const TableDef &t, const Row &r);

// PostgreSQL text form of a cell (array literal for text[]).
std::string cell_sql_text(const Cell &c, ColType t);

}  // namespace rgsync
