// The YAML node tree (yaml/tree, the one reader) -> nlohmann::json with the line of every node.
// Scalars resolve by the same PyYAML rules as the registry (yaml/scalar).
#include "yaml/json_reader.hpp"

#include "common/file_reader.hpp"
#include "yaml/scalar.hpp"
#include "yaml/tree.hpp"

namespace rgsync::hr {

std::string YamlDoc::where(const std::string &pointer) const {
  std::string p = pointer;
  while (true) {
    auto it = lines.find(p);
    if (it != lines.end()) return file + ":" + std::to_string(it->second);
    auto slash = p.rfind('/');
    if (slash == std::string::npos || p.empty()) return file;
    p = p.substr(0, slash);
  }
}

std::optional<std::string> YamlDoc::written(const std::string &pointer) const {
  auto it = scalars.find(pointer);
  if (it == scalars.end()) return std::nullopt;
  return it->second;
}

namespace {

std::string escape_pointer(const std::string &key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

// Iterative, so a deeply nested document cannot exhaust the stack here (the tree already
// refuses nesting beyond its depth limit).
void convert(YamlDoc &doc, const Node &root) {
  struct Item {
    const Node *node;
    nlohmann::json *out;
    std::string ptr;
  };
  std::vector<Item> todo{{&root, &doc.root, ""}};
  while (!todo.empty()) {
    Item it = std::move(todo.back());
    todo.pop_back();
    const Node &n = *it.node;
    doc.lines.emplace(it.ptr, static_cast<int>(n.mark.line));
    switch (n.kind) {
      case NodeKind::Scalar: {
        Scalar s = resolve_scalar(doc.file, n);
        switch (s.type) {
          case ScalarType::Null: *it.out = nullptr; break;
          case ScalarType::Bool: *it.out = s.boolean; break;
          case ScalarType::Int:
          case ScalarType::Float: *it.out = nlohmann::json::parse(s.json); break;
          case ScalarType::String: *it.out = n.text; break;
        }
        if (s.type != ScalarType::String) doc.scalars[it.ptr] = n.text;
        break;
      }
      case NodeKind::Sequence: {
        *it.out = nlohmann::json::array();
        it.out->get_ref<nlohmann::json::array_t &>().resize(n.items.size());
        for (size_t i = n.items.size(); i-- > 0;)
          todo.push_back({&n.items[i], &(*it.out)[i], it.ptr + "/" + std::to_string(i)});
        break;
      }
      case NodeKind::Mapping: {
        *it.out = nlohmann::json::object();
        for (size_t i = 0; i < n.map_size(); ++i) {
          const Node &k = n.key(i);
          if (!k.is_scalar()) throw YamlError(doc.file, k.mark, "mapping keys must be plain text");
          (*it.out)[k.text] = nullptr;
        }
        for (size_t i = n.map_size(); i-- > 0;) {
          const Node &k = n.key(i);
          std::string p = it.ptr + "/" + escape_pointer(k.text);
          doc.lines[p] = static_cast<int>(k.mark.line);
          todo.push_back({&n.value(i), &(*it.out)[k.text], p});
        }
        break;
      }
    }
  }
}

}  // namespace

YamlDoc load_yaml_string(const std::string &text, const std::string &name) {
  YamlDoc doc;
  doc.file = name;
  ParseOptions opt;
  opt.allow_empty = true;
  Node root = parse_yaml_text(name, text, opt);
  convert(doc, root);
  return doc;
}

YamlDoc load_yaml_file(const std::string &path) {
  return load_yaml_string(read_file(path, kMaxConfigFileBytes), path);
}

}  // namespace rgsync::hr
