// What a YAML scalar means (null, bool, int, float, string) and a node's JSON text.
// Plain scalars resolve as PyYAML (YAML 1.1) does, because the registry files were written for
// PyYAML loaders: yes/no/on/off are booleans, ~ and empty are null, 0.10 is a float.
#pragma once

#include <optional>
#include <string>

#include "yaml/tree.hpp"

namespace rgsync {

enum class ScalarType { Null, Bool, Int, Float, String };

struct Scalar {
  ScalarType type = ScalarType::String;
  bool boolean = false;
  std::string json;  // the JSON token: "null", "true", a number, or a quoted string
  std::string text;  // the text as a string value (for string columns): the scalar as written
};

// Resolves a scalar node. Throws YamlError for values JSON cannot hold (.inf, .nan) and for
// unsupported explicit tags.
Scalar resolve_scalar(const std::string &file, const Node &n);

// PyYAML's booleans (yes/no, true/false, on/off in three capitalisations); nullopt otherwise.
// For values kept as text (config file values) that a caller reads as a boolean.
std::optional<bool> yaml_bool(const std::string &text);

// True when the node is a null scalar (~, null, empty).
bool is_null(const Node &n);

// JSON text of a whole node (mappings keep their order; jsonb normalises it anyway).
std::string to_json(const std::string &file, const Node &n);
void append_json(std::string &out, const std::string &file, const Node &n);
// Appends s as a JSON string literal.
void append_json_string(std::string &out, const std::string &s);

}  // namespace rgsync
