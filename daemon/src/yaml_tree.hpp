// YAML documents as a compact node tree built from libyaml's event parser, with the
// line/column of every node (libyaml is ~10x faster than yaml-cpp on large registries).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace rgsync {

struct Mark {
  uint32_t line = 0;    // 1-based
  uint32_t column = 0;  // 1-based
};

// A parse failure: names the file, line and column, and says what is wrong.
struct YamlError : std::runtime_error {
  std::string file;
  Mark mark;
  std::string detail;  // the message without the file:line:column prefix
  YamlError(std::string f, Mark m, const std::string &msg);
};

enum class NodeKind : uint8_t { Scalar, Sequence, Mapping };

// How a scalar was written: plain scalars are resolved to null/bool/int/float/string,
// quoted and block scalars are always strings; an explicit tag overrides both.
enum class ScalarStyle : uint8_t { Plain, Quoted, Block };

struct Node {
  NodeKind kind = NodeKind::Scalar;
  ScalarStyle style = ScalarStyle::Plain;
  Mark mark;
  std::string text;  // scalar value; for collections, an explicit tag if any
  std::string tag;   // explicit tag ("" when none)
  // Sequence: the elements. Mapping: keys and values alternate (key0, value0, key1, ...).
  std::vector<Node> items;

  bool is_scalar() const { return kind == NodeKind::Scalar; }
  bool is_seq() const { return kind == NodeKind::Sequence; }
  bool is_map() const { return kind == NodeKind::Mapping; }
  size_t map_size() const { return items.size() / 2; }
  const Node &key(size_t i) const { return items[2 * i]; }
  const Node &value(size_t i) const { return items[2 * i + 1]; }
  // The value for a scalar key, or nullptr.
  const Node *get(const std::string &k) const;
};

struct ParseOptions {
  uint64_t max_bytes = 256ull * 1024 * 1024;  // files above this are refused
};

// A parsed file: its single document's root, its bytes (for hashing) and its name for messages.
struct YamlFile {
  std::string path;  // as given (used in messages)
  std::string bytes;
  Node root;
};

// Parses one file. Throws YamlError for syntax errors, invalid UTF-8, empty files, files over
// the size limit, multiple documents, duplicate mapping keys and unsupported constructs.
YamlFile parse_yaml_file(const std::string &path, const ParseOptions &opt = {});
// Parses text already in memory (tests, mapping defaults). `name` appears in messages.
Node parse_yaml_text(const std::string &name, const std::string &text, const ParseOptions &opt = {});

}  // namespace rgsync
