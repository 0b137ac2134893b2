// Turns the mapped YAML files of a registry directory into typed rows, reporting every problem
// (types, required fields, duplicate keys, unknown keys and fields) with file:line:column.
#include <glob.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <fstream>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <unordered_set>

#include "registry/registry.hpp"
#include "db/sql.hpp"
#include "common/sha256.hpp"
#include "yaml/scalar.hpp"

namespace rgsync {

size_t TableRows::live() const {
  size_t n = 0;
  for (const auto &r : rows) n += !r.dropped;
  return n;
}

TableRows *Registry::table(const std::string &name) {
  for (auto &t : tables)
    if (t.def->name == name) return &t;
  return nullptr;
}

std::string row_key(const TableDef &t, const Row &r) {
  std::string k;
  for (size_t i = 0; i < t.key.size(); ++i) {
    if (i) k += '\x1f';
    k += r.cells[static_cast<size_t>(t.column_index(t.key[i]))].text;
  }
  return k;
}

std::string row_label(const TableDef &t, const Row &r) {
  std::string k;
  for (size_t i = 0; i < t.key.size(); ++i) {
    if (i) k += ", ";
    if (t.key.size() > 1) k += t.key[i] + "=";
    k += r.cells[static_cast<size_t>(t.column_index(t.key[i]))].text;
  }
  return k;
}

std::string cell_sql_text(const Cell &c, ColType t) {
  if (t != ColType::TextArray) return c.text;
  return text_array_literal(c.elems);
}

namespace {

bool valid_date(const std::string &s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) if (s[i] < '0' || s[i] > '9') return false;
  int y = std::stoi(s.substr(0, 4)), mo = std::stoi(s.substr(5, 2)), d = std::stoi(s.substr(8, 2));
  static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > days[mo - 1]) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return !(mo == 2 && d == 29 && !leap);
}

const char *kind_name(const Node &n) {
  if (n.is_map()) return "a mapping";
  if (n.is_seq()) return "a list";
  return "a single value";
}

// The fields a list's entries may have: read whole, or (for dotted paths) containers whose
// own keys are checked the same way.
struct Known {
  std::unordered_set<std::string> whole;
  std::map<std::string, Known> containers;

  void add(const std::string &source) {
    if (source.empty() || source[0] == '$') return;
    size_t dot = source.find('.');
    if (dot == std::string::npos) whole.insert(source);
    else containers[source.substr(0, dot)].add(source.substr(dot + 1));
  }
};

struct Loader {
  const Mapping &m;
  Registry &reg;
  Findings &f;
  std::vector<size_t> file_def;  // reg.files index -> m.files index
  std::vector<Node> stems, paths;  // $stem / $path of each file
  std::set<std::pair<size_t, std::pair<uint32_t, uint32_t>>> reported;  // one error per bad container
  const TableDef *row_table = nullptr;           // LoadOptions::row_table / on_row
  std::function<void(Row &)> on_row;

  const std::string &shown(size_t file) const { return reg.files[file].shown; }

  // The node a source names in `entry`: a field, a dotted path, $stem or $path; nullptr when
  // absent (an error when a path goes through something that is not a mapping).
  const Node *lookup(size_t file, const Node &entry, const std::string &source, const std::string &what) {
    if (source[0] == '$') return source == "$stem" ? &stems[file] : &paths[file];
    if (source.find('.') == std::string::npos) return entry.get(source);
    const Node *cur = &entry;
    std::string walked;
    for (const auto &seg : source_path(source)) {
      if (!cur->is_map()) {
        if (!is_null(*cur) && reported.insert({file, {cur->mark.line, cur->mark.column}}).second)
          f.error(shown(file), cur->mark, what + ": '" + walked + "' must be a mapping to read " + source + ", got " + kind_name(*cur));
        return nullptr;
      }
      cur = cur->get(seg);
      if (!cur) return nullptr;
      walked += (walked.empty() ? "" : ".") + seg;
    }
    return cur;
  }

  // Converts a value node to the column's type; false (with an error) when it does not fit.
  bool convert(size_t file, const Node &v, ColType t, Cell &c, const std::string &what) {
    c.mark = v.mark;
    if (is_null(v)) { c.null = true; return true; }
    auto bad = [&](const std::string &expected) {
      f.error(shown(file), v.mark, what + ": expected " + expected + ", got " + kind_name(v) + (v.is_scalar() ? " '" + v.text + "'" : ""));
      return false;
    };
    try {
      switch (t) {
        case ColType::Text: {
          if (!v.is_scalar()) return bad("text");
          if (v.text.find('\0') != std::string::npos) return bad("text without NUL characters");
          if (!v.tag.empty()) resolve_scalar(shown(file), v);  // rejects unsupported tags
          c.text = v.text;
          break;
        }
        case ColType::TextArray: {
          if (!v.is_seq()) return bad("a list of text values");
          for (const auto &e : v.items) {
            if (!e.is_scalar() || is_null(e)) {
              f.error(shown(file), e.mark, what + ": list elements must be text values, got " + (is_null(e) ? std::string("null") : kind_name(e)));
              return false;
            }
            if (e.text.find('\0') != std::string::npos) return bad("text without NUL characters");
            c.elems.push_back(e.text);
            c.elem_marks.push_back(e.mark);
          }
          break;
        }
        case ColType::Jsonb: c.text = to_json(shown(file), v); break;
        case ColType::Boolean: {
          if (!v.is_scalar()) return bad("true or false");
          Scalar s = resolve_scalar(shown(file), v);
          if (s.type != ScalarType::Bool) return bad("true or false");
          c.text = s.boolean ? "true" : "false";
          break;
        }
        case ColType::Date: {
          if (!v.is_scalar() || !valid_date(v.text)) return bad("a date (YYYY-MM-DD)");
          c.text = v.text;
          break;
        }
        case ColType::Integer:
        case ColType::Bigint: {
          if (!v.is_scalar()) return bad("a whole number");
          Scalar s = resolve_scalar(shown(file), v);
          if (s.type != ScalarType::Int) return bad("a whole number");
          errno = 0;
          long long x = std::strtoll(s.json.c_str(), nullptr, 10);
          if (errno == ERANGE || (t == ColType::Integer && (x < INT32_MIN || x > INT32_MAX))) return bad(std::string("a number that fits ") + col_type_name(t));
          c.text = s.json;
          break;
        }
        case ColType::Numeric: {
          if (!v.is_scalar()) return bad("a number");
          Scalar s = resolve_scalar(shown(file), v);
          if (s.type != ScalarType::Int && s.type != ScalarType::Float) return bad("a number");
          c.text = s.json;
          break;
        }
      }
    } catch (const YamlError &e) {
      f.error(shown(file), e.mark, what + ": " + e.detail);
      return false;
    }
    c.null = false;
    return true;
  }

  // Applies a column's default when the entry gave no value.
  void apply_default(size_t file, const ColumnRule &rule, const Node &entry, ColType t, Cell &c, const std::string &what) {
    if (!c.null) return;
    if (rule.default_value) {
      Node d = *rule.default_value;
      d.mark = entry.mark;
      convert(file, d, t, c, what + " (default)");
      c.mark = entry.mark;
    } else if (rule.default_template) {
      auto out = rule.default_template->expand([&](const std::string &field) -> std::optional<std::string> {
        const Node *v = lookup(file, entry, field, what);
        if (!v || !v->is_scalar() || is_null(*v)) return std::nullopt;
        return v->text;
      });
      if (!out) return;  // no template source: stays null (required check reports it)
      c.null = false;
      c.text = std::move(*out);
      c.mark = entry.mark;
    }
  }

  // Computes one cell of an entry's row.
  void fill(size_t file, const ColumnRule &rule, const Node &entry, ColType t, Cell &c, const std::string &what,
            const Row *parent, const TableDef *parent_def, const Node *element, size_t position) {
    switch (rule.kind) {
      case ColumnRule::From: {
        const Node *v = nullptr;
        const std::string *used = nullptr;
        for (const auto &field : rule.fields) {
          const Node *x = lookup(file, entry, field, what);
          if (!x) continue;
          if (v) { f.error(shown(file), x->mark, what + ": both '" + *used + "' and '" + field + "' are given; keep one"); return; }
          v = x;
          used = &field;
        }
        if (v) convert(file, *v, t, c, what);
        break;
      }
      case ColumnRule::FirstOf: {
        for (const auto &field : rule.fields) {
          const Node *x = lookup(file, entry, field, what);
          if (!x || is_null(*x)) continue;
          convert(file, *x, t, c, what);
          break;
        }
        break;
      }
      case ColumnRule::Const: {
        Node d = *rule.const_value;
        d.mark = entry.mark;
        convert(file, d, t, c, what + " (const)");
        c.mark = entry.mark;
        break;
      }
      case ColumnRule::Slug: {
        const Node *v = lookup(file, entry, rule.fields[0], what);
        if (v && v->is_scalar() && !is_null(*v)) {
          c.text = slugify(v->text);
          c.null = c.text.empty();
          c.mark = v->mark;
          if (c.null) f.error(shown(file), v->mark, what + ": '" + v->text + "' has no letters or digits to make an id from");
        } else if (v && !is_null(*v)) {
          f.error(shown(file), v->mark, what + ": " + rule.fields[0] + " must be text to make an id from");
        }
        break;
      }
      case ColumnRule::SortedKeys: {
        const Node *v = lookup(file, entry, rule.fields[0], what);
        if (v && v->is_map()) {
          c.null = false;
          c.mark = v->mark;
          for (size_t i = 0; i < v->map_size(); ++i) c.elems.push_back(v->key(i).text);
          std::sort(c.elems.begin(), c.elems.end());
          c.elem_marks.assign(c.elems.size(), v->mark);
          if (t != ColType::TextArray) {
            c.text.clear();
            append_json(c.text, shown(file), *v);
          }
        } else if (v && !is_null(*v)) {
          f.error(shown(file), v->mark, what + ": " + rule.fields[0] + " must be a mapping to take its keys");
        }
        break;
      }
      case ColumnRule::Parent: {
        int pi = parent_def ? parent_def->column_index(rule.fields[0]) : -1;
        if (pi >= 0) c = parent->cells[static_cast<size_t>(pi)];
        break;
      }
      case ColumnRule::Element:
        if (element) convert(file, *element, t, c, what);
        break;
      case ColumnRule::Position:
        c.null = false;
        c.text = std::to_string(position);
        c.mark = element ? element->mark : entry.mark;
        break;
    }
    apply_default(file, rule, entry, t, c, what);
  }

  // The row's key as shown, or "" while a key column has no value.
  static std::string label_of(const TableDef &t, const Row &row) {
    for (const auto &k : t.key)
      if (row.cells[static_cast<size_t>(t.column_index(k))].null) return "";
    return row_label(t, row);
  }

  // Builds one row of `t` from an entry; returns false when it has errors.
  bool build_row(size_t file, const TableDef &t, const std::map<std::string, ColumnRule> &rules, const Node &entry,
                 const Node *element, size_t position, const Row *parent, const TableDef *parent_def, Row &row) {
    size_t errs = f.errors();
    row.file = file;
    row.mark = element ? element->mark : entry.mark;
    row.cells.assign(t.columns.size(), Cell{});
    for (size_t i = 0; i < t.columns.size(); ++i) {
      const auto &[col, type] = t.columns[i];
      auto it = rules.find(col);
      ColumnRule implicit;
      implicit.fields = {col};
      const ColumnRule &rule = it != rules.end() ? it->second : implicit;
      fill(file, rule, entry, type, row.cells[i], t.name + "." + col, parent, parent_def, element, position);
    }
    for (const auto &req : t.required) {
      const Cell &c = row.cells[static_cast<size_t>(t.column_index(req))];
      if (c.null) {
        std::string label;
        if (!label_of(t, row).empty()) label = " '" + label_of(t, row) + "'";
        else if (const Node *id = entry.get("id"); id && id->is_scalar()) label = " '" + id->text + "'";
        f.error(shown(file), row.mark, t.name + " entry" + label + " has no value for required column '" + req + "'");
      }
    }
    return f.errors() == errs;
  }

  // Fields an entry may have: every field a rule reads, children's lists, and ignore:.
  static Known known_fields(const TableDef &t, const std::map<std::string, ColumnRule> &rules, const std::vector<std::string> &ignore,
                            const std::vector<ChildDef> *children) {
    Known k;
    for (const auto &i : ignore) k.add(i);
    for (const auto &[col, type] : t.columns) {
      auto it = rules.find(col);
      if (it == rules.end()) { k.add(col); continue; }
      switch (it->second.kind) {
        case ColumnRule::Parent: case ColumnRule::Element: case ColumnRule::Position: case ColumnRule::Const: break;
        default: for (const auto &fld : it->second.fields) k.add(fld);
      }
      if (it->second.default_template)
        for (const auto &fld : it->second.default_template->fields()) k.add(fld);
    }
    if (children)
      for (const auto &c : *children) k.add(c.from);
    return k;
  }

  // Reports the fields of `node` that `known` does not name (recursing into containers read
  // through dotted paths).
  void check_fields(size_t file, const Known &known, const Node &node, const std::string &prefix, const TableDef &t, const std::string &label,
                    UnknownFields mode) {
    for (size_t i = 0; i < node.map_size(); ++i) {
      const Node &k = node.key(i);
      if (known.whole.count(k.text)) continue;
      auto c = known.containers.find(k.text);
      if (c != known.containers.end()) {
        if (node.value(i).is_map()) check_fields(file, c->second, node.value(i), prefix + k.text + ".", t, label, mode);
        continue;
      }
      std::string msg = "unknown field '" + prefix + k.text + "' in " + t.name + " entry" + (label.empty() ? "" : " '" + label + "'");
      if (mode == UnknownFields::Error)
        f.error(shown(file), k.mark, msg + " (add it to the mapping, or to its ignore: list)");
      else
        f.warning(shown(file), k.mark, msg + " is not stored (add it to the mapping, or to its ignore: list)");
    }
  }

  void add_row(TableRows &tr, Row &&row, const std::string &list_key) {
    const TableDef &t = *tr.def;
    std::string key = row_key(t, row);
    auto [it, fresh] = tr.by_key.emplace(key, tr.rows.size());
    if (fresh) {
      tr.rows.push_back(std::move(row));
      if (on_row && tr.def == row_table) on_row(tr.rows.back());
      return;
    }
    Row &prev = tr.rows[it->second];
    std::string where = shown(prev.file) + ":" + std::to_string(prev.mark.line);
    if (prev.file == row.file) {
      f.error(shown(row.file), row.mark, t.name + " key '" + row_label(t, row) + "' appears twice in " + list_key + " (first at " + where + "); keys must be unique");
      return;
    }
    bool same = true;
    for (size_t i = 0; i < row.cells.size() && same; ++i) {
      const Cell &a = prev.cells[i], &b = row.cells[i];
      same = a.null == b.null && a.text == b.text && a.elems == b.elems;
    }
    // A declared precedence (overrides:) decides, and is reported every time it does.
    size_t rd = file_def[row.file], pd = file_def[prev.file];
    std::string here = shown(row.file) + ":" + std::to_string(row.mark.line);
    std::string how = same ? " (same content)" : "";
    if (m.overrides(rd, pd)) {
      f.warning(shown(row.file), row.mark, t.name + " key '" + row_label(t, row) + "' from " + here + " overrides " + where + how + " (mapping: " +
                                               m.files[rd].path + " overrides " + m.files[pd].path + ")");
      prev = std::move(row);
      return;
    }
    if (m.overrides(pd, rd)) {
      f.warning(shown(row.file), row.mark, t.name + " key '" + row_label(t, row) + "' at " + here + " is overridden by " + where + how + " (mapping: " +
                                               m.files[pd].path + " overrides " + m.files[rd].path + ")");
      return;
    }
    if (same) return;
    switch (t.duplicates) {
      case Duplicates::Error:
        f.error(shown(row.file), row.mark, t.name + " key '" + row_label(t, row) + "' is also defined at " + where +
                                               " with different content; make them agree or declare duplicates: first-wins / last-wins in the mapping");
        break;
      case Duplicates::FirstWins:
        f.warning(shown(row.file), row.mark, t.name + " key '" + row_label(t, row) + "' differs from " + where + "; the earlier one wins (mapping: first-wins)");
        break;
      case Duplicates::LastWins:
        f.warning(shown(row.file), row.mark, t.name + " key '" + row_label(t, row) + "' differs from " + where + "; this later one wins (mapping: last-wins)");
        prev = std::move(row);
        break;
    }
  }

  std::map<const void *, Known> known_cache;

  const Known &known_for(const ListDef &l, const TableDef &t) {
    auto it = known_cache.find(&l);
    if (it == known_cache.end()) it = known_cache.emplace(&l, known_fields(t, l.columns, l.ignore, &l.children)).first;
    return it->second;
  }
  const Known &known_for(const ChildDef &c, const TableDef &t) {
    auto it = known_cache.find(&c);
    if (it == known_cache.end()) it = known_cache.emplace(&c, known_fields(t, c.columns, c.ignore, nullptr)).first;
    return it->second;
  }

  void load_entry(size_t file, const ListDef &l, const Node &entry) {
    TableRows &tr = *reg.table(l.table);
    const TableDef &t = *tr.def;
    if (!entry.is_map()) {
      if (l.key.empty())
        f.error(shown(file), entry.mark, "this file must be one " + t.name + " entry (a mapping of fields), got " + kind_name(entry));
      else
        f.error(shown(file), entry.mark, "each " + t.name + " entry must be a mapping of fields, got " + kind_name(entry));
      return;
    }
    Row row;
    bool ok = build_row(file, t, l.columns, entry, nullptr, 0, nullptr, nullptr, row);
    check_fields(file, known_for(l, t), entry, "", t, label_of(t, row), l.unknown);
    if (ok) {
      for (const auto &ch : l.children) load_children(file, ch, entry, row, t);
      add_row(tr, std::move(row), l.key.empty() ? m.files[file_def[file]].path : l.key);
    }
  }

  void load_list(size_t file, const ListDef &l, const Node &list) {
    if (list.streamed) return;  // its entries were loaded while parsing
    if (!list.is_seq()) {
      f.error(shown(file), list.mark, "'" + l.key + "' must be a list of " + l.table + " entries, got " + kind_name(list));
      return;
    }
    for (const Node &entry : list.items) load_entry(file, l, entry);
  }

  void load_children(size_t file, const ChildDef &ch, const Node &entry, const Row &parent, const TableDef &pt) {
    TableRows &tr = *reg.table(ch.table);
    const Node *list = lookup(file, entry, ch.from, pt.name + "." + ch.from);
    if (!list || is_null(*list)) return;
    if (!list->is_seq()) {
      f.error(shown(file), list->mark, pt.name + " entry '" + row_label(pt, parent) + "': " + ch.from + " must be a list, got " + kind_name(*list));
      return;
    }
    bool scalars = false;  // a link list ({element: true}) may hold plain values
    for (const auto &[c, r] : ch.columns) scalars = scalars || r.kind == ColumnRule::Element;
    size_t pos = 0;
    for (const Node &el : list->items) {
      ++pos;
      if (!el.is_map() && !scalars) {
        f.error(shown(file), el.mark, pt.name + " entry '" + row_label(pt, parent) + "': each " + ch.from + " element must be a mapping of " + ch.table +
                                          " fields, got " + kind_name(el));
        continue;
      }
      // A mapping element is its own entry (its fields); a plain value reads the parent's.
      const Node &src = el.is_map() ? el : entry;
      Row row;
      bool ok = build_row(file, *tr.def, ch.columns, src, &el, pos, &parent, &pt, row);
      if (el.is_map()) check_fields(file, known_for(ch, *tr.def), el, "", *tr.def, label_of(*tr.def, row), ch.unknown);
      if (ok) add_row(tr, std::move(row), ch.from);
    }
  }

  void load_file(size_t file, const FileDef &fd, const Node &root) {
    if (fd.entry) {
      load_entry(file, *fd.entry, root);
      return;
    }
    if (fd.lists.size() == 1 && fd.lists[0].key == ".") {
      load_list(file, fd.lists[0], root);
      return;
    }
    if (!root.is_map()) {
      f.error(shown(file), root.mark, "the top level must be a mapping of " + declared(fd) + ", got " + kind_name(root));
      return;
    }
    for (size_t i = 0; i < root.map_size(); ++i) {
      const Node &k = root.key(i);
      const ListDef *l = nullptr;
      for (const auto &x : fd.lists) if (x.key == k.text) l = &x;
      if (l) { load_list(file, *l, root.value(i)); continue; }
      if (std::find(fd.documents.begin(), fd.documents.end(), k.text) != fd.documents.end()) {
        Document d;
        d.file = file;
        d.key = k.text;
        d.mark = k.mark;
        try { d.json = to_json(shown(file), root.value(i)); }
        catch (const YamlError &e) { f.error(shown(file), e.mark, e.detail); continue; }
        reg.documents.push_back(std::move(d));
        continue;
      }
      f.error(shown(file), k.mark, "unknown top-level key '" + k.text + "'; the mapping (" + m.path + ") declares " + declared(fd));
    }
  }

  static std::string declared(const FileDef &fd) {
    std::string s;
    for (const auto &l : fd.lists) s += (s.empty() ? "" : ", ") + l.key;
    for (const auto &d : fd.documents) s += (s.empty() ? "" : ", ") + d;
    return s.empty() ? "nothing" : s;
  }
};

std::vector<std::string> expand(const std::string &dir, const FileDef &fd) {
  if (fd.path.find_first_of("*?[") == std::string::npos) return {fd.path};
  glob_t g{};
  std::vector<std::string> out;
  if (glob((dir + "/" + fd.path).c_str(), 0, nullptr, &g) == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i) out.push_back(std::string(g.gl_pathv[i]).substr(dir.size() + 1));
  globfree(&g);
  std::sort(out.begin(), out.end());
  return out;
}

// "contracts/dp_fi_001.yaml" -> "dp_fi_001" (the name without its directory and last extension).
std::string file_stem(const std::string &rel) {
  std::string base = rel.substr(rel.rfind('/') == std::string::npos ? 0 : rel.rfind('/') + 1);
  size_t dot = base.rfind('.');
  return dot == std::string::npos || dot == 0 ? base : base.substr(0, dot);
}

// $stem / $path as a value: always a string (quoted), at the top of the file.
Node source_node(const std::string &text) {
  Node n;
  n.style = ScalarStyle::Quoted;
  n.text = text;
  n.mark = Mark{1, 1};
  return n;
}

std::string trim_dir(std::string base) {
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base;
}

}  // namespace

std::vector<SourceFile> hash_registry_files(const Mapping &m, const std::string &dir, uint64_t max_file_bytes,
                                            std::unordered_map<std::string, PreRead> *keep, uint64_t keep_min_bytes) {
  std::vector<SourceFile> out;
  std::string base = trim_dir(dir);
  for (const auto &fd : m.files)
    for (const auto &rel : expand(base, fd)) {
      try {
        std::string bytes = read_file_limited(base + "/" + rel, max_file_bytes);
        out.push_back(SourceFile{rel, base + "/" + rel, sha256_hex(bytes), bytes.size()});
        if (keep && bytes.size() >= keep_min_bytes) (*keep)[out.back().shown] = PreRead{std::move(bytes), out.back().sha256};
      } catch (const YamlError &) {
      }
    }
  return out;
}

Registry load_registry(const Mapping &m, const std::string &dir, const LoadOptions &opt, Findings &findings) {
  Registry reg;
  load_registry_into(reg, m, dir, opt, findings);
  return reg;
}

void load_registry_into(Registry &reg, const Mapping &m, const std::string &dir, const LoadOptions &opt, Findings &findings) {
  for (const auto &t : m.tables) reg.tables.push_back(TableRows{&t, {}, {}});
  Loader loader{m, reg, findings, {}, {}, {}, {}, opt.row_table, opt.on_row, {}};
  ParseOptions po;
  po.max_bytes = opt.max_file_bytes;
  std::string base = dir;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  for (const auto &fd : m.files) {
    if (opt.before_file) opt.before_file(static_cast<size_t>(&fd - m.files.data()));
    auto paths = expand(base, fd);
    if (paths.empty() || (paths.size() == 1 && fd.path.find_first_of("*?[") == std::string::npos && !std::ifstream(base + "/" + paths[0]))) {
      if (!fd.optional && fd.path.find_first_of("*?[") != std::string::npos)
        findings.error(base + "/" + fd.path, Mark{1, 1}, "no registry file matches this pattern (the mapping " + m.path + " lists it; mark it optional: true if it may match none)");
      else if (!fd.optional)
        findings.error(base + "/" + fd.path, Mark{1, 1}, "registry file not found (the mapping " + m.path + " lists it; mark it optional: true if it may be absent)");
      continue;
    }
    for (const auto &rel : paths) {
      if (std::find(opt.skip.begin(), opt.skip.end(), rel) != opt.skip.end()) continue;
      auto t0 = std::chrono::steady_clock::now();
      std::string shown = base + "/" + rel;
      SourceFile sf;
      sf.rel = rel;
      sf.shown = shown;
      std::string bytes;
      auto pre = opt.preread ? opt.preread->find(shown) : decltype(opt.preread->end()){};
      if (opt.preread && pre != opt.preread->end()) {
        bytes = std::move(pre->second.bytes);
        sf.sha256 = std::move(pre->second.sha256);
        opt.preread->erase(pre);
      } else {
        try {
          bytes = read_file_limited(shown, opt.max_file_bytes);
        } catch (const YamlError &e) {
          findings.error(shown, e.mark, e.detail);
          continue;
        }
        sf.sha256 = sha256_hex(bytes);
      }
      sf.bytes = bytes.size();
      reg.files.push_back(sf);
      size_t fi = reg.files.size() - 1;
      loader.file_def.push_back(static_cast<size_t>(&fd - m.files.data()));
      loader.stems.push_back(source_node(file_stem(rel)));
      loader.paths.push_back(source_node(rel));
      // Entries of the mapped lists are mapped as soon as each is parsed.
      StreamSpec spec;
      spec.wants = [&](const std::string &key) {
        for (const auto &l : fd.lists)
          if (l.key == key) return true;
        return false;
      };
      spec.on_entry = [&](const std::string &key, Node &&entry) {
        for (const auto &l : fd.lists)
          if (l.key == key) { loader.load_entry(fi, l, entry); return; }
      };
      po.stream = &spec;
      Node root;
      try {
        root = parse_yaml_text(shown, bytes, po);
      } catch (const YamlError &e) {
        findings.error(shown, e.mark, e.detail);
        continue;
      }
      loader.load_file(fi, fd, root);
      if (opt.progress && sf.bytes > (1u << 20)) {
        char buf[256];
        std::snprintf(buf, sizeof buf, "registry-sync: read and mapped %s (%.1f MB) in %.2f s\n", shown.c_str(),
                      static_cast<double>(sf.bytes) / 1048576.0, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        *opt.progress << buf << std::flush;
      }
    }
  }
}

}  // namespace rgsync
