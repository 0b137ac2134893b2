// YAML documents as a compact node tree built from libyaml's event parser, with the
// line/column of every node (libyaml is ~10x faster than yaml-cpp on large registries).
#pragma once

#include <cstdint>
#include <functional>
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
  bool streamed = false;  // a sequence whose elements went to StreamSpec::on_entry

  bool is_scalar() const { return kind == NodeKind::Scalar; }
  bool is_seq() const { return kind == NodeKind::Sequence; }
  bool is_map() const { return kind == NodeKind::Mapping; }
  size_t map_size() const { return items.size() / 2; }
  const Node &key(size_t i) const { return items[2 * i]; }
  const Node &value(size_t i) const { return items[2 * i + 1]; }
  // The value for a scalar key, or nullptr.
  const Node *get(const std::string &k) const;
};

// Streaming of big lists: the elements of a top-level list (a sequence under a root mapping key
// the caller wants, or the root sequence itself) are handed to `on_entry` one by one as soon as
// each is complete, instead of being kept in the tree (the list node stays, empty, with
// `streamed` set). This keeps a 100k-entry registry from being held and freed as one tree.
struct StreamSpec {
  std::function<bool(const std::string &top_key)> wants;  // key "." = the root sequence
  std::function<void(const std::string &top_key, Node &&entry)> on_entry;
};

// Limits that keep a hostile document from exhausting memory, time or the stack:
//  - nesting deeper than max_depth is refused (copying and destroying nodes recurse);
//  - aliases are expanded by copying, and so are anchored nodes (kept for later aliases): the
//    nodes copied may not exceed max(min_alias_budget, alias_ratio x the nodes the document
//    itself spells out), like Go's yaml.v3 bounds aliasing relative to the document's size.
//    A "billion laughs" file fails fast; a large PyYAML dump sharing objects through
//    hundreds of thousands of aliases loads.
struct ParseOptions {
  uint64_t max_bytes = 256ull * 1024 * 1024;  // files above this are refused
  const StreamSpec *stream = nullptr;
  bool allow_empty = false;  // an empty stream is a null scalar root instead of an error
  size_t max_depth = 500;
  size_t min_alias_budget = 1000000;
  size_t alias_ratio = 10;
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
// Reads a file's bytes, refusing files over the limit (YamlError at line 1).
std::string read_file_limited(const std::string &path, uint64_t max_bytes);
// Parses text already in memory. `name` appears in messages.
Node parse_yaml_text(const std::string &name, const std::string &text, const ParseOptions &opt = {});

}  // namespace rgsync
