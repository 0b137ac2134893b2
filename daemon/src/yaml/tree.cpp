// Builds the node tree from libyaml events; enforces the size limit and the constructs we accept.
#include "yaml/tree.hpp"
#include "common/file_reader.hpp"

#include <yaml.h>

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>
#include <unordered_map>

namespace rgsync {

YamlError::YamlError(std::string f, Mark m, const std::string &msg)
    : std::runtime_error(f + ":" + std::to_string(m.line) + ":" + std::to_string(m.column) + ": " + msg),
      file(std::move(f)), mark(m), detail(msg) {}

const Node *Node::get(const std::string &k) const {
  if (!is_map()) return nullptr;
  for (size_t i = 0; i < map_size(); ++i)
    if (key(i).is_scalar() && key(i).text == k) return &value(i);
  return nullptr;
}

namespace {

Mark mark_of(const yaml_mark_t &m) { return Mark{static_cast<uint32_t>(m.line + 1), static_cast<uint32_t>(m.column + 1)}; }

// Nodes in n's subtree; `height` gets the subtree's height (1 for a scalar).
size_t count_nodes(const Node &n, size_t &height) {
  size_t c = 1, h = 0;
  for (const auto &i : n.items) {
    size_t ih = 0;
    c += count_nodes(i, ih);
    h = std::max(h, ih);
  }
  height = h + 1;
  return c;
}

struct Anchor {
  Node node;
  size_t nodes = 0;   // in node's subtree
  size_t height = 0;  // of node's subtree
};

struct EventGuard {
  yaml_event_t ev;
  bool live = false;
  ~EventGuard() { if (live) yaml_event_delete(&ev); }
};

struct ParserGuard {
  yaml_parser_t p;
  ParserGuard() { yaml_parser_initialize(&p); }
  ~ParserGuard() { yaml_parser_delete(&p); }
};

std::string tag_of(const yaml_char_t *t) { return t ? reinterpret_cast<const char *>(t) : std::string(); }

void check_duplicate_keys(const std::string &name, const Node &m) {
  size_t n = m.map_size();
  auto fail = [&](const Node &k, const Node &first) {
    throw YamlError(name, k.mark, "duplicate key '" + k.text + "' in this mapping (first at line " +
                                      std::to_string(first.mark.line) + "); remove one of them");
  };
  if (n <= 16) {
    for (size_t i = 1; i < n; ++i)
      for (size_t j = 0; j < i; ++j)
        if (m.key(i).is_scalar() && m.key(j).is_scalar() && m.key(i).text == m.key(j).text) fail(m.key(i), m.key(j));
    return;
  }
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < n; ++i) {
    if (!m.key(i).is_scalar()) continue;
    auto [it, fresh] = seen.emplace(m.key(i).text, i);
    if (!fresh) fail(m.key(i), m.key(it->second));
  }
}

Node parse_buffer(const std::string &name, const std::string &text, const ParseOptions &opt) {
  if (text.size() > opt.max_bytes)
    throw YamlError(name, Mark{1, 1}, "file is " + std::to_string(text.size()) + " bytes, over the limit of " +
                                          std::to_string(opt.max_bytes) + " bytes (raise --max-file-size to accept it)");
  ParserGuard pg;
  yaml_parser_set_input_string(&pg.p, reinterpret_cast<const unsigned char *>(text.data()), text.size());
  yaml_parser_set_encoding(&pg.p, YAML_UTF8_ENCODING);

  std::vector<Node> stack;  // open collections
  std::unordered_map<std::string, Anchor> anchors;
  std::vector<std::string> open_anchor;  // anchor name per open collection ("" = none)
  Node root;
  bool have_root = false;
  int documents = 0;
  size_t direct_nodes = 0;  // nodes the document spells out (one per scalar / collection event)
  size_t copied_nodes = 0;  // nodes copied for anchors and aliases
  // Counts `n` copied nodes against the budget; `m` is where the copy happens.
  auto charge = [&](size_t n, Mark m) {
    copied_nodes += n;
    size_t budget = std::max(opt.min_alias_budget, opt.alias_ratio * direct_nodes);
    if (copied_nodes > budget)
      throw YamlError(name, m, "anchors and aliases expand to more than " + std::to_string(budget) +
                                   " copied nodes (" + std::to_string(opt.alias_ratio) + "x the " + std::to_string(direct_nodes) +
                                   " nodes written out so far); refusing the file");
  };
  auto remember = [&](const std::string &a, const Node &n, Mark m) {
    size_t h = 0;
    size_t c = count_nodes(n, h);
    charge(c, m);
    Anchor &slot = anchors[a];
    slot.node = n;
    slot.nodes = c;
    slot.height = h;
  };

  std::vector<std::string> stream_key;  // per open collection: the top-level key it streams ("" = none)
  auto add = [&](Node &&n) {
    if (stack.empty()) { root = std::move(n); have_root = true; }
    else if (!stream_key.back().empty()) opt.stream->on_entry(stream_key.back(), std::move(n));
    else stack.back().items.push_back(std::move(n));
  };

  for (;;) {
    EventGuard eg;
    if (!yaml_parser_parse(&pg.p, &eg.ev)) {
      Mark m = mark_of(pg.p.problem_mark);
      if (pg.p.error == YAML_READER_ERROR) {
        // Reader errors (bad encoding) carry only a byte offset: count lines up to it.
        m = Mark{1, 1};
        for (size_t i = 0; i < pg.p.problem_offset && i < text.size(); ++i) {
          if (text[i] == '\n') { ++m.line; m.column = 1; } else { ++m.column; }
        }
      }
      std::string msg = pg.p.problem ? pg.p.problem : "invalid YAML";
      if (pg.p.context) msg += std::string(" (") + pg.p.context + " at line " + std::to_string(pg.p.context_mark.line + 1) + ")";
      if (msg.find("UTF-8") != std::string::npos) msg += "; registry files must be UTF-8 encoded";
      throw YamlError(name, m, msg);
    }
    eg.live = true;
    yaml_event_t &ev = eg.ev;
    Mark m = mark_of(ev.start_mark);
    switch (ev.type) {
      case YAML_STREAM_START_EVENT: break;
      case YAML_STREAM_END_EVENT:
        if (documents == 0) {
          if (opt.allow_empty) return Node{};
          throw YamlError(name, Mark{1, 1}, "file is empty (no YAML document); a registry file needs its top-level content");
        }
        return root;
      case YAML_DOCUMENT_START_EVENT:
        if (++documents > 1)
          throw YamlError(name, m, "a second YAML document ('---') starts here; a registry file holds exactly one document");
        break;
      case YAML_DOCUMENT_END_EVENT: break;
      case YAML_ALIAS_EVENT: {
        std::string a = reinterpret_cast<const char *>(ev.data.alias.anchor);
        auto it = anchors.find(a);
        if (it == anchors.end()) throw YamlError(name, m, "alias *" + a + " names no anchor defined before it");
        if (stack.size() + it->second.height > opt.max_depth)
          throw YamlError(name, m, "alias *" + a + " nests deeper than " + std::to_string(opt.max_depth) + " levels; refusing the file");
        charge(it->second.nodes, m);
        Node copy = it->second.node;
        copy.mark = m;
        add(std::move(copy));
        break;
      }
      case YAML_SCALAR_EVENT: {
        Node n;
        n.kind = NodeKind::Scalar;
        n.mark = m;
        n.text.assign(reinterpret_cast<const char *>(ev.data.scalar.value), ev.data.scalar.length);
        n.tag = tag_of(ev.data.scalar.tag);
        switch (ev.data.scalar.style) {
          case YAML_PLAIN_SCALAR_STYLE: n.style = ScalarStyle::Plain; break;
          case YAML_LITERAL_SCALAR_STYLE:
          case YAML_FOLDED_SCALAR_STYLE: n.style = ScalarStyle::Block; break;
          default: n.style = ScalarStyle::Quoted; break;
        }
        if (n.tag == "!") n.tag.clear(), n.style = ScalarStyle::Quoted;  // non-specific tag: a string
        ++direct_nodes;
        if (ev.data.scalar.anchor) remember(reinterpret_cast<const char *>(ev.data.scalar.anchor), n, m);
        add(std::move(n));
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (stack.size() >= opt.max_depth)
          throw YamlError(name, m, "nesting deeper than " + std::to_string(opt.max_depth) + " levels; refusing the file");
        ++direct_nodes;
        Node n;
        bool seq = ev.type == YAML_SEQUENCE_START_EVENT;
        n.kind = seq ? NodeKind::Sequence : NodeKind::Mapping;
        n.mark = m;
        n.tag = tag_of(seq ? ev.data.sequence_start.tag : ev.data.mapping_start.tag);
        const yaml_char_t *anchor = seq ? ev.data.sequence_start.anchor : ev.data.mapping_start.anchor;
        open_anchor.push_back(anchor ? reinterpret_cast<const char *>(anchor) : "");
        std::string sk;
        if (seq && opt.stream) {
          if (stack.empty() && opt.stream->wants(".")) sk = ".";
          else if (stack.size() == 1 && stack[0].is_map() && stack[0].items.size() % 2 == 1 && stack[0].items.back().is_scalar() &&
                   opt.stream->wants(stack[0].items.back().text))
            sk = stack[0].items.back().text;
        }
        n.streamed = !sk.empty();
        // Registry entries have a dozen or more fields: avoid regrowing from 1.
        if (!n.streamed) n.items.reserve(seq ? 4 : 16);
        stream_key.push_back(std::move(sk));
        stack.push_back(std::move(n));
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        Node n = std::move(stack.back());
        stack.pop_back();
        stream_key.pop_back();
        if (n.is_map()) {
          for (size_t i = 0; i < n.map_size(); ++i)
            if (n.key(i).is_scalar() && n.key(i).style == ScalarStyle::Plain && n.key(i).text == "<<")
              throw YamlError(name, n.key(i).mark, "merge keys ('<<') are not supported; write the fields out");
          check_duplicate_keys(name, n);
        }
        std::string a = std::move(open_anchor.back());
        open_anchor.pop_back();
        if (!a.empty()) remember(a, n, n.mark);
        add(std::move(n));
        break;
      }
      case YAML_NO_EVENT: break;
    }
  }
  (void)have_root;
}

}  // namespace

Node parse_yaml_text(const std::string &name, const std::string &text, const ParseOptions &opt) {
  return parse_buffer(name, text, opt);
}

std::string read_file_limited(const std::string &path, uint64_t max_bytes) {
  try {
    return read_file(path, max_bytes, "raise --max-file-size to accept it");
  } catch (const FileReadError &e) {
    throw YamlError(path, Mark{1, 1}, e.detail);
  }
}

YamlFile parse_yaml_file(const std::string &path, const ParseOptions &opt) {
  YamlFile f;
  f.path = path;
  f.bytes = read_file_limited(path, opt.max_bytes);
  f.root = parse_buffer(path, f.bytes, opt);
  return f;
}

}  // namespace rgsync
