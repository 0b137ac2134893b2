// The declarative YAML -> row mapping (config/registry-mapping.yaml): tables, references, files.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/field_template.hpp"
#include "yaml/tree.hpp"

namespace rgsync {

enum class ColType { Text, TextArray, Jsonb, Boolean, Date, Integer, Bigint, Numeric };
const char *col_type_name(ColType t);
// The PostgreSQL type name as format_type() prints it (to check the database agrees).
const char *col_type_sql(ColType t);

enum class Duplicates { Error, FirstWins, LastWins };

struct TableDef {
  std::string name;
  std::vector<std::string> key;
  std::vector<std::pair<std::string, ColType>> columns;  // in declaration order
  std::vector<std::string> required;
  Duplicates duplicates = Duplicates::Error;
  std::string owner;  // link tables: the parent-key column ("" = none)
  std::vector<std::string> hr_owned_columns;
  std::string hr_link_column;
  std::string hr_created_column;
  Mark mark;

  int column_index(const std::string &c) const;
  ColType type_of(const std::string &c) const;
};

struct ReferenceDef {
  std::string table;   // referencing table
  std::string column;  // referencing column (text or text[])
  std::string target;  // referenced table
  std::vector<std::string> match;  // target columns tried in order (first: the key)
  bool enforced = true;
  Mark mark;
};

// How one column's value is made from an entry. A source (in `fields`) is a field name, a
// dotted path into nested mappings ("metadata.name"), or "$stem" / "$path" (the entry file's
// name without its extension / its path relative to the registry directory).
struct ColumnRule {
  enum Kind { From, FirstOf, Slug, SortedKeys, Const, Parent, Element, Position } kind = From;
  // From: alternative spellings of one field (two given = error); FirstOf: ordered fallbacks
  // (first present non-null wins); Slug/SortedKeys: one source; Parent: parent column.
  std::vector<std::string> fields;
  std::optional<Node> const_value;    // Const: the value of every row
  std::optional<Node> default_value;  // used when the field is absent or null
  std::optional<FieldTemplate> default_template;  // "{domain} Team": {field} replaced by the entry's scalar
  Mark mark;
};

// What an entry field no column reads (and no ignore: names) is: a warning (lists:, the
// January 2026 behaviour) or an error (entry files and their children, by default).
enum class UnknownFields { Warning, Error };

struct ChildDef {
  std::string from;   // the entry's list field (a source path)
  std::string table;
  std::map<std::string, ColumnRule> columns;  // explicit rules; other columns: {from: <column>} of a mapping element
  std::vector<std::string> ignore;
  UnknownFields unknown = UnknownFields::Warning;
  Mark mark;
};

struct ListDef {
  std::string key;  // top-level key, "." for a file whose root is the list, "" for an entry file
  std::string table;
  std::map<std::string, ColumnRule> columns;  // explicit rules; other columns: {from: <column>}
  std::vector<std::string> ignore;
  std::vector<ChildDef> children;
  UnknownFields unknown = UnknownFields::Warning;
  Mark mark;
};

struct FileDef {
  std::string path;  // relative to the registry directory (a glob when it has * ? [)
  std::vector<std::string> documents;
  std::vector<ListDef> lists;
  std::optional<ListDef> entry;  // the whole document is one entry of entry->table
  // Precedence: rows from this source win over rows with the same key from these files
  // entries (indexes into Mapping::files; `overrides:` names their paths).
  std::vector<std::string> overrides;
  std::vector<size_t> overrides_idx;
  bool optional = false;
  Mark mark;
  Mark overrides_mark;
};

struct Mapping {
  std::string path;  // where it was read from (messages)
  std::string sha256;  // of the bytes it was parsed from (the apply shortcut notices an edit)
  std::vector<TableDef> tables;  // write order
  std::vector<ReferenceDef> references;
  std::vector<FileDef> files;

  const TableDef *table(const std::string &name) const;
  const ReferenceDef *reference(const std::string &table, const std::string &column) const;
  // Whether files entry `winner` declares `overrides:` naming files entry `loser`.
  bool overrides(size_t winner, size_t loser) const;
};

// Reads and checks a mapping file; throws YamlError naming file:line for every mistake.
Mapping load_mapping(const std::string &path);
Mapping load_mapping_text(const std::string &name, const std::string &text);

// Where the mapping lives when no --mapping is given: $RGSYNC_MAPPING, then the installed copy,
// then config/registry-mapping.yaml next to the source tree.
std::string default_mapping_path();

// The sources of a rule split into path segments ("metadata.name" -> {metadata, name}).
std::vector<std::string> source_path(const std::string &source);

// The slug rule of the glossary: lower-case, runs of non-alphanumerics -> '_', trimmed.
std::string slugify(const std::string &s);

// The HR ownership rule shared by apply and HR sync: the principal_profiles hr_owned_columns
// of the registry mapping bound which columns an HR mapping may write. Reads the registry
// mapping at `path` (when given: it must load), else the default registry mapping when one
// exists; nullopt when none is found or it declares no HR-owned columns.
std::optional<std::set<std::string>> registry_hr_owned_columns(const std::optional<std::string> &path);

}  // namespace rgsync
