// Small YAML config files (the HR mapping) read into JSON values with the line of every node,
// so config errors can name file:line. Built on the one YAML reader (yaml/tree) with its
// PyYAML scalar rules (yaml/scalar): `yes` is true here as in the registry.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace rgsync::hr {

struct YamlDoc {
  std::string file;
  nlohmann::json root;
  std::map<std::string, int> lines;  // JSON pointer ("/source/url") -> 1-based line
  std::map<std::string, std::string> scalars;  // pointer -> text as written, for non-string scalars

  // A scalar that resolved to null, a boolean or a number, as written (`yes`, `0123`): a key
  // that takes text takes it as written, as registry text columns do.
  std::optional<std::string> written(const std::string &pointer) const;

  // "file:line" of the node at pointer (or of the nearest ancestor with a recorded line).
  std::string where(const std::string &pointer) const;
};

// Plain (unquoted) scalars become booleans / numbers / null by PyYAML's rules; quoted scalars
// stay strings. Throws YamlError (a std::runtime_error) naming file:line:column on syntax
// errors, duplicate keys and non-text keys. An empty document is a null root.
YamlDoc load_yaml_file(const std::string &path);
YamlDoc load_yaml_string(const std::string &text, const std::string &name);

}  // namespace rgsync::hr
