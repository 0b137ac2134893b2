// Canonical YAML text for JSON values: block style, strings double-quoted, no comments, so
// exports diff cleanly and read back to exactly the same values.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace rgsync {

// Appends `v` as the value of a mapping key or list item at `indent` (the key/dash is written
// by the caller; nested collections continue on the following lines).
void emit_yaml_value(std::string &out, const nlohmann::ordered_json &v, int indent);
// A whole document whose root is a mapping or a list.
std::string emit_yaml_document(const nlohmann::ordered_json &root);
// A key as YAML: plain when it can only read back as the same string, else double-quoted.
std::string yaml_key(const std::string &k);

}  // namespace rgsync
