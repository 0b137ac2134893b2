// Small YAML config files (HR mapping, serve config) read into JSON values with the line of
// every node, so config errors can name file:line. Built on libyaml's event parser.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace rgsync::hr {

struct YamlDoc {
  std::string file;
  nlohmann::json root;
  std::map<std::string, int> lines;  // JSON pointer ("/source/url") -> 1-based line

  // "file:line" of the node at pointer (or of the nearest ancestor with a recorded line).
  std::string where(const std::string &pointer) const;
};

// Plain (unquoted) scalars become booleans / numbers / null when they read as such; quoted
// scalars stay strings. Throws std::runtime_error naming file:line on syntax errors, anchors
// and aliases (not needed in configs), and duplicate keys.
YamlDoc load_yaml_file(const std::string &path);
YamlDoc load_yaml_string(const std::string &text, const std::string &name);

}  // namespace rgsync::hr
