// The registry-sync config file: a flat key -> value view of a YAML or INI file.
//
// YAML (any name not ending in .ini/.conf): a mapping; nested mappings become dotted keys
//   database_url: postgresql://sync@db.internal/registry
//   log_level: info
//   hr: { source: scim }            -> "hr.source"
//   tags: [a, b]                    -> get_list("tags")
// INI (.ini / .conf): "key = value" lines, "[section]" prefixes keys with "section.",
//   '#' or ';' start comments.
// Values are strings; callers convert. Unknown keys are kept (each command reads its own).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rgsync {

class ConfigFile {
 public:
  // Reads and parses a file; throws UsageError naming file:line on any problem.
  static ConfigFile load(const std::string &path);
  // Parses text as if read from `path` (format chosen by its extension). For tests.
  static ConfigFile parse(const std::string &text, const std::string &path);

  std::optional<std::string> get(const std::string &key) const;
  // A YAML sequence of scalars (a scalar value is a one-element list); empty when absent.
  std::vector<std::string> get_list(const std::string &key) const;
  bool has(const std::string &key) const { return values_.count(key) || lists_.count(key); }
  // "file:line" where a key was set, for messages.
  std::string where(const std::string &key) const;
  const std::string &path() const { return path_; }
  const std::map<std::string, std::string> &values() const { return values_; }

 private:
  std::string path_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> lists_;
  std::map<std::string, int> lines_;
  static ConfigFile parse_ini(const std::string &text, const std::string &path);
  static ConfigFile parse_yaml(const std::string &text, const std::string &path);
};

}  // namespace rgsync
