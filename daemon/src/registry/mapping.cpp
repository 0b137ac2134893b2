// Loads the declarative mapping and rejects mistakes in it with file:line messages.
#include "registry/mapping.hpp"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <algorithm>
#include <set>

#include "common/errors.hpp"
#include "common/file_reader.hpp"
#include "common/sha256.hpp"
#include "yaml/scalar.hpp"

namespace rgsync {

const char *col_type_name(ColType t) {
  switch (t) {
    case ColType::Text: return "text";
    case ColType::TextArray: return "text[]";
    case ColType::Jsonb: return "jsonb";
    case ColType::Boolean: return "boolean";
    case ColType::Date: return "date";
    case ColType::Integer: return "integer";
    case ColType::Bigint: return "bigint";
    case ColType::Numeric: return "numeric";
  }
  return "?";
}

const char *col_type_sql(ColType t) { return col_type_name(t); }

int TableDef::column_index(const std::string &c) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i].first == c) return static_cast<int>(i);
  return -1;
}

bool Mapping::overrides(size_t winner, size_t loser) const {
  const auto &o = files.at(winner).overrides_idx;
  return std::find(o.begin(), o.end(), loser) != o.end();
}

std::vector<std::string> source_path(const std::string &source) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t dot = source.find('.', start);
    out.push_back(source.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return out;
    start = dot + 1;
  }
}

ColType TableDef::type_of(const std::string &c) const { return columns.at(static_cast<size_t>(column_index(c))).second; }

const TableDef *Mapping::table(const std::string &name) const {
  for (const auto &t : tables)
    if (t.name == name) return &t;
  return nullptr;
}

const ReferenceDef *Mapping::reference(const std::string &table, const std::string &column) const {
  for (const auto &r : references)
    if (r.table == table && r.column == column) return &r;
  return nullptr;
}

std::string slugify(const std::string &s) {
  std::string out;
  bool pending = false;
  for (unsigned char c : s) {
    if (std::isalnum(c)) {
      if (pending && !out.empty()) out += '_';
      pending = false;
      out += static_cast<char>(std::tolower(c));
    } else {
      pending = true;
    }
  }
  return out;
}

namespace {

struct Reader {
  std::string file;

  [[noreturn]] void fail(const Node &n, const std::string &msg) const { throw YamlError(file, n.mark, msg); }

  const Node &need_map(const Node &n, const std::string &what) const {
    if (!n.is_map()) fail(n, what + " must be a mapping");
    return n;
  }
  std::string str(const Node &n, const std::string &what) const {
    if (!n.is_scalar() || is_null(n)) fail(n, what + " must be a text value");
    return n.text;
  }
  std::vector<std::string> str_list(const Node &n, const std::string &what) const {
    std::vector<std::string> out;
    if (n.is_scalar() && !is_null(n)) return {n.text};
    if (!n.is_seq()) fail(n, what + " must be a list of names");
    for (const auto &i : n.items) out.push_back(str(i, what + " element"));
    return out;
  }
  bool boolean(const Node &n, const std::string &what) const {
    Scalar s = resolve_scalar(file, n);
    if (s.type != ScalarType::Bool) fail(n, what + " must be true or false");
    return s.boolean;
  }
  // Every key of m must be in allowed.
  void keys(const Node &m, std::initializer_list<const char *> allowed, const std::string &what) const {
    for (size_t i = 0; i < m.map_size(); ++i) {
      bool ok = false;
      for (const char *a : allowed) ok = ok || m.key(i).text == a;
      if (!ok) {
        std::string list;
        for (const char *a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
        fail(m.key(i), "unknown key '" + m.key(i).text + "' in " + what + " (allowed: " + list + ")");
      }
    }
  }
};

ColType parse_type(const Reader &r, const Node &n) {
  std::string t = r.str(n, "a column type");
  if (t == "text") return ColType::Text;
  if (t == "text[]") return ColType::TextArray;
  if (t == "jsonb") return ColType::Jsonb;
  if (t == "boolean" || t == "bool") return ColType::Boolean;
  if (t == "date") return ColType::Date;
  if (t == "integer" || t == "int") return ColType::Integer;
  if (t == "bigint") return ColType::Bigint;
  if (t == "numeric") return ColType::Numeric;
  r.fail(n, "unknown column type '" + t + "' (text, text[], jsonb, boolean, date, integer, bigint, numeric)");
}

// A column source: a field, a dotted path, $stem or $path.
std::string parse_source(const Reader &r, const Node &n, const std::string &what) {
  std::string s = r.str(n, what);
  if (s.empty()) r.fail(n, what + ": an empty field name");
  if (s[0] == '$') {
    if (s != "$stem" && s != "$path")
      r.fail(n, what + ": unknown source '" + s + "' ($stem = the file name without its extension, $path = the file's path in the registry)");
    return s;
  }
  for (const auto &seg : source_path(s))
    if (seg.empty()) r.fail(n, what + ": '" + s + "' is not a field path (field names separated by single dots)");
  return s;
}

std::vector<std::string> parse_sources(const Reader &r, const Node &n, const std::string &what) {
  std::vector<std::string> out;
  if (n.is_seq()) {
    if (n.items.empty()) r.fail(n, what + " needs at least one source");
    for (const auto &i : n.items) out.push_back(parse_source(r, i, what));
    return out;
  }
  return {parse_source(r, n, what)};
}

ColumnRule parse_rule(const Reader &r, const Node &n, bool child) {
  ColumnRule rule;
  rule.mark = n.mark;
  // Shorthands: `col: a.b` = {from: a.b}; `col: [a, b, $stem]` = {first_of: [a, b, $stem]}.
  if (n.is_scalar() && !is_null(n)) {
    rule.fields = {parse_source(r, n, "a column source")};
    return rule;
  }
  if (n.is_seq()) {
    rule.kind = ColumnRule::FirstOf;
    rule.fields = parse_sources(r, n, "a column's sources");
    return rule;
  }
  r.need_map(n, "a column rule (a mapping, a source or a list of sources)");
  if (child) r.keys(n, {"from", "first_of", "slug", "sorted_keys", "const", "default", "default_template", "parent", "element", "position"}, "a child column rule");
  else r.keys(n, {"from", "first_of", "slug", "sorted_keys", "const", "default", "default_template"}, "a column rule");
  int kinds = 0;
  if (const Node *v = n.get("from")) { rule.kind = ColumnRule::From; rule.fields = parse_sources(r, *v, "from"); ++kinds; }
  if (const Node *v = n.get("first_of")) { rule.kind = ColumnRule::FirstOf; rule.fields = parse_sources(r, *v, "first_of"); ++kinds; }
  if (const Node *v = n.get("slug")) { rule.kind = ColumnRule::Slug; rule.fields = {parse_source(r, *v, "slug")}; ++kinds; }
  if (const Node *v = n.get("sorted_keys")) { rule.kind = ColumnRule::SortedKeys; rule.fields = {parse_source(r, *v, "sorted_keys")}; ++kinds; }
  if (const Node *v = n.get("const")) { rule.kind = ColumnRule::Const; rule.const_value = *v; ++kinds; }
  if (const Node *v = n.get("parent")) { rule.kind = ColumnRule::Parent; rule.fields = {r.str(*v, "parent")}; ++kinds; }
  if (const Node *v = n.get("element")) { if (r.boolean(*v, "element")) { rule.kind = ColumnRule::Element; ++kinds; } }
  if (const Node *v = n.get("position")) { if (r.boolean(*v, "position")) { rule.kind = ColumnRule::Position; ++kinds; } }
  if (kinds > 1) r.fail(n, "a column rule takes one of from / first_of / slug / sorted_keys / const / parent / element / position");
  if (const Node *v = n.get("default")) rule.default_value = *v;
  if (const Node *v = n.get("default_template")) {
    try {
      rule.default_template = FieldTemplate::parse(r.str(*v, "default_template"));
    } catch (const TemplateError &e) {
      r.fail(*v, std::string("default_template: ") + e.what());
    }
    for (const auto &fld : rule.default_template->fields()) {
      Node at = *v;
      at.text = fld;
      parse_source(r, at, "default_template {" + fld + "}");
    }
  }
  if (rule.kind == ColumnRule::Const && (rule.default_value || rule.default_template))
    r.fail(n, "a const column takes no default (the constant is always the value)");
  return rule;
}

bool date_text(const std::string &s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

// A constant (or default) value must fit its column's type: checked when the mapping loads.
void check_value_type(const Reader &r, const Node &v, ColType t, const std::string &what) {
  if (is_null(v)) return;
  auto bad = [&]() { r.fail(v, what + " does not fit the column type " + col_type_name(t)); };
  switch (t) {
    case ColType::Text: if (!v.is_scalar()) bad(); break;
    case ColType::TextArray:
      if (!v.is_seq()) bad();
      for (const auto &e : v.items) if (!e.is_scalar() || is_null(e)) bad();
      break;
    case ColType::Jsonb: break;
    case ColType::Boolean: if (!v.is_scalar() || resolve_scalar(r.file, v).type != ScalarType::Bool) bad(); break;
    case ColType::Date: if (!v.is_scalar() || !date_text(v.text)) bad(); break;
    case ColType::Integer:
    case ColType::Bigint: if (!v.is_scalar() || resolve_scalar(r.file, v).type != ScalarType::Int) bad(); break;
    case ColType::Numeric: {
      if (!v.is_scalar()) bad();
      ScalarType st = resolve_scalar(r.file, v).type;
      if (st != ScalarType::Int && st != ScalarType::Float) bad();
      break;
    }
  }
}

void check_rule_columns(const Reader &r, const TableDef &t, const std::map<std::string, ColumnRule> &cols, const Node &where) {
  for (const auto &[c, rule] : cols) {
    if (t.column_index(c) < 0) r.fail(where, "column '" + c + "' is not declared for table " + t.name);
    if (rule.const_value) check_value_type(r, *rule.const_value, t.type_of(c), "const value of " + t.name + "." + c);
    if (rule.default_value) check_value_type(r, *rule.default_value, t.type_of(c), "default of " + t.name + "." + c);
  }
}

UnknownFields parse_unknown(const Reader &r, const Node &n) {
  std::string v = r.str(n, "unknown_fields");
  if (v == "error") return UnknownFields::Error;
  if (v == "warning") return UnknownFields::Warning;
  r.fail(n, "unknown_fields must be error or warning");
}

void parse_columns(const Reader &r, const Node &c, bool child, std::map<std::string, ColumnRule> &out) {
  r.need_map(c, "columns");
  for (size_t j = 0; j < c.map_size(); ++j) {
    std::string col = r.str(c.key(j), "a column");
    ColumnRule rule = parse_rule(r, c.value(j), child);
    if (rule.kind == ColumnRule::From && rule.fields.empty()) rule.fields = {col};  // only a default: read the same-named field
    out[col] = std::move(rule);
  }
}

// The body of a list (under lists:) or of an entry file (entry:): table, columns, ignore,
// children, unknown_fields.
void parse_list_body(const Reader &r, const Mapping &m, const Node &d, const std::string &what, ListDef &l, std::set<std::string> &tables_fed) {
  r.keys(d, {"table", "columns", "ignore", "children", "unknown_fields"}, what);
  const Node *t = d.get("table");
  if (!t) r.fail(d, what + " needs a table");
  l.table = r.str(*t, "table");
  const TableDef *td = m.table(l.table);
  if (!td) r.fail(*t, "table " + l.table + " is not declared under tables:");
  if (const Node *c = d.get("columns")) {
    parse_columns(r, *c, false, l.columns);
    check_rule_columns(r, *td, l.columns, *c);
  }
  if (const Node *ig = d.get("ignore")) l.ignore = r.str_list(*ig, "ignore");
  for (const auto &i : l.ignore)
    if (i.empty() || i[0] == '$') r.fail(*d.get("ignore"), "ignore: names entry fields (or dotted paths), not '" + i + "'");
  if (const Node *u = d.get("unknown_fields")) l.unknown = parse_unknown(r, *u);
  if (const Node *ch = d.get("children")) {
    if (!ch->is_seq()) r.fail(*ch, "children must be a list");
    for (const auto &cn : ch->items) {
      r.need_map(cn, "a child list");
      r.keys(cn, {"from", "table", "columns", "ignore", "unknown_fields"}, "a child list");
      ChildDef c;
      c.mark = cn.mark;
      c.unknown = l.unknown;
      if (!cn.get("from") || !cn.get("table")) r.fail(cn, "a child list needs from and table");
      c.from = parse_source(r, *cn.get("from"), "from");
      if (c.from[0] == '$') r.fail(*cn.get("from"), "a child list's from names a list field of the entry");
      c.table = r.str(*cn.get("table"), "table");
      const TableDef *ctd = m.table(c.table);
      if (!ctd) r.fail(*cn.get("table"), "table " + c.table + " is not declared under tables:");
      if (const Node *cc = cn.get("columns")) {
        parse_columns(r, *cc, true, c.columns);
        check_rule_columns(r, *ctd, c.columns, *cc);
        for (const auto &[col, rule] : c.columns)
          if (rule.kind == ColumnRule::Parent && td->column_index(rule.fields[0]) < 0)
            r.fail(*cc, "column '" + col + "': parent column '" + rule.fields[0] + "' is not a column of " + td->name);
      }
      if (const Node *ig = cn.get("ignore")) c.ignore = r.str_list(*ig, "ignore");
      if (const Node *u = cn.get("unknown_fields")) c.unknown = parse_unknown(r, *u);
      tables_fed.insert(c.table);
      l.children.push_back(std::move(c));
    }
  }
  tables_fed.insert(l.table);
}

Mapping parse(const std::string &name, const Node &root) {
  Reader r{name};
  Mapping m;
  m.path = name;
  r.need_map(root, "the mapping file's top level");
  r.keys(root, {"version", "tables", "references", "files"}, "the mapping file");
  const Node *ver = root.get("version");
  if (!ver || ver->text != "1") r.fail(ver ? *ver : root, "the mapping needs 'version: 1'");

  const Node *tables = root.get("tables");
  if (!tables) r.fail(root, "the mapping declares no tables");
  r.need_map(*tables, "tables");
  for (size_t i = 0; i < tables->map_size(); ++i) {
    TableDef t;
    t.name = r.str(tables->key(i), "a table name");
    t.mark = tables->key(i).mark;
    const Node &d = r.need_map(tables->value(i), "table " + t.name);
    r.keys(d, {"key", "columns", "required", "duplicates", "owner", "hr_owned_columns", "hr_link_column", "hr_created_column"}, "table " + t.name);
    const Node *cols = d.get("columns");
    if (!cols) r.fail(d, "table " + t.name + " declares no columns");
    r.need_map(*cols, "columns");
    for (size_t j = 0; j < cols->map_size(); ++j) t.columns.emplace_back(r.str(cols->key(j), "a column name"), parse_type(r, cols->value(j)));
    if (const Node *k = d.get("key")) t.key = r.str_list(*k, "key"); else r.fail(d, "table " + t.name + " needs a key");
    if (const Node *k = d.get("required")) t.required = r.str_list(*k, "required");
    if (const Node *k = d.get("owner")) t.owner = r.str(*k, "owner");
    if (const Node *k = d.get("hr_owned_columns")) t.hr_owned_columns = r.str_list(*k, "hr_owned_columns");
    if (const Node *k = d.get("hr_link_column")) t.hr_link_column = r.str(*k, "hr_link_column");
    if (const Node *k = d.get("hr_created_column")) t.hr_created_column = r.str(*k, "hr_created_column");
    if (const Node *k = d.get("duplicates")) {
      std::string v = r.str(*k, "duplicates");
      if (v == "error") t.duplicates = Duplicates::Error;
      else if (v == "first-wins") t.duplicates = Duplicates::FirstWins;
      else if (v == "last-wins") t.duplicates = Duplicates::LastWins;
      else r.fail(*k, "duplicates must be error, first-wins or last-wins");
    }
    for (const auto &c : t.key) if (t.column_index(c) < 0) r.fail(d, "key column '" + c + "' of " + t.name + " is not declared");
    for (const auto &c : t.required) if (t.column_index(c) < 0) r.fail(d, "required column '" + c + "' of " + t.name + " is not declared");
    if (!t.owner.empty() && t.column_index(t.owner) < 0) r.fail(d, "owner column '" + t.owner + "' is not declared");
    if (m.table(t.name)) r.fail(tables->key(i), "table " + t.name + " is declared twice");
    m.tables.push_back(std::move(t));
  }

  if (const Node *refs = root.get("references")) {
    if (!refs->is_seq()) r.fail(*refs, "references must be a list");
    for (const auto &rn : refs->items) {
      r.need_map(rn, "a reference");
      r.keys(rn, {"column", "table", "match", "enforced"}, "a reference");
      ReferenceDef ref;
      ref.mark = rn.mark;
      const Node *c = rn.get("column");
      const Node *t = rn.get("table");
      if (!c || !t) r.fail(rn, "a reference needs column: <table>.<column> and table: <referenced table>");
      std::string col = r.str(*c, "column");
      auto dot = col.find('.');
      if (dot == std::string::npos) r.fail(*c, "column must be written <table>.<column>");
      ref.table = col.substr(0, dot);
      ref.column = col.substr(dot + 1);
      ref.target = r.str(*t, "table");
      const TableDef *from = m.table(ref.table);
      const TableDef *to = m.table(ref.target);
      if (!from || from->column_index(ref.column) < 0) r.fail(*c, "reference column " + col + " is not a declared table column");
      if (!to) r.fail(*t, "referenced table " + ref.target + " is not declared");
      ColType ct = from->type_of(ref.column);
      if (ct != ColType::Text && ct != ColType::TextArray) r.fail(*c, "a reference column must be text or text[]");
      ref.match = rn.get("match") ? r.str_list(*rn.get("match"), "match") : to->key;
      for (const auto &mc : ref.match) if (to->column_index(mc) < 0) r.fail(rn, "match column '" + mc + "' is not a column of " + ref.target);
      if (const Node *e = rn.get("enforced")) ref.enforced = r.boolean(*e, "enforced");
      m.references.push_back(std::move(ref));
    }
  }

  const Node *files = root.get("files");
  if (!files || !files->is_seq()) r.fail(files ? *files : root, "the mapping needs a files: list");
  std::set<std::string> tables_fed;
  for (const auto &fn : files->items) {
    r.need_map(fn, "a file entry");
    r.keys(fn, {"path", "documents", "lists", "entry", "overrides", "optional"}, "a file entry");
    FileDef f;
    f.mark = fn.mark;
    const Node *p = fn.get("path");
    if (!p) r.fail(fn, "a file entry needs a path");
    f.path = r.str(*p, "path");
    if (f.path.find("..") != std::string::npos || (!f.path.empty() && f.path[0] == '/'))
      r.fail(*p, "path must be relative to the registry directory");
    if (const Node *d = fn.get("documents")) f.documents = r.str_list(*d, "documents");
    if (const Node *o = fn.get("optional")) f.optional = r.boolean(*o, "optional");
    if (const Node *ls = fn.get("lists")) {
      r.need_map(*ls, "lists");
      for (size_t i = 0; i < ls->map_size(); ++i) {
        ListDef l;
        l.key = r.str(ls->key(i), "a list key");
        l.mark = ls->key(i).mark;
        const Node &d = r.need_map(ls->value(i), "list " + l.key);
        parse_list_body(r, m, d, "list " + l.key, l, tables_fed);
        f.lists.push_back(std::move(l));
      }
    }
    if (const Node *en = fn.get("entry")) {
      if (fn.get("lists") || fn.get("documents"))
        r.fail(fn.get("lists") ? *fn.get("lists") : *fn.get("documents"), "a file that is one entry (entry:) has no lists: or documents: (its whole document is the entry)");
      ListDef l;
      l.mark = en->mark;
      l.unknown = UnknownFields::Error;
      const Node &d = r.need_map(*en, "entry");
      if (const Node *u = d.get("unknown_fields")) l.unknown = parse_unknown(r, *u);
      parse_list_body(r, m, d, "entry", l, tables_fed);
      f.entry = std::move(l);
    }
    if (const Node *ov = fn.get("overrides")) {
      f.overrides = r.str_list(*ov, "overrides");
      f.overrides_mark = ov->mark;
    }
    if (f.lists.size() > 1)
      for (const auto &l : f.lists)
        if (l.key == ".") r.fail(fn, "a file whose root is a list ('.') feeds exactly one list");
    f.documents.erase(std::remove(f.documents.begin(), f.documents.end(), std::string()), f.documents.end());
    m.files.push_back(std::move(f));
  }
  for (const auto &t : m.tables)
    if (!tables_fed.count(t.name)) r.fail(*files, "table " + t.name + " is declared but no file feeds it");
  // Precedence: each overrides: pattern is another files entry's path, and no source
  // overrides one that overrides it back (directly or through others).
  for (size_t i = 0; i < m.files.size(); ++i) {
    FileDef &f = m.files[i];
    const Node &fn = files->items[i];
    for (const auto &pat : f.overrides) {
      size_t j = 0;
      while (j < m.files.size() && m.files[j].path != pat) ++j;
      const Node &at = *fn.get("overrides");
      if (j == m.files.size()) {
        std::string paths;
        for (const auto &o : m.files) paths += (paths.empty() ? "" : ", ") + o.path;
        r.fail(at, "overrides: '" + pat + "' is not the path of a files entry of this mapping (" + paths + ")");
      }
      if (j == i) r.fail(at, "overrides: '" + pat + "' is this files entry itself");
      if (std::find(f.overrides_idx.begin(), f.overrides_idx.end(), j) != f.overrides_idx.end()) r.fail(at, "overrides: '" + pat + "' is named twice");
      f.overrides_idx.push_back(j);
    }
  }
  for (size_t i = 0; i < m.files.size(); ++i) {
    // Depth-first search for a way back to i.
    std::vector<size_t> stack(m.files[i].overrides_idx.begin(), m.files[i].overrides_idx.end());
    std::set<size_t> seen;
    while (!stack.empty()) {
      size_t j = stack.back();
      stack.pop_back();
      if (j == i)
        r.fail(*files->items[i].get("overrides"), "overrides: '" + m.files[i].path + "' and the sources it overrides override each other (a cycle); precedence must go one way");
      if (!seen.insert(j).second) continue;
      for (size_t k : m.files[j].overrides_idx) stack.push_back(k);
    }
  }
  return m;
}

}  // namespace

Mapping load_mapping_text(const std::string &name, const std::string &text) {
  Mapping m = parse(name, parse_yaml_text(name, text));
  m.sha256 = sha256_hex(text);
  return m;
}

Mapping load_mapping(const std::string &path) {
  ParseOptions po;
  po.max_bytes = kMaxConfigFileBytes;
  YamlFile f = parse_yaml_file(path, po);
  Mapping m = parse(path, f.root);
  m.sha256 = sha256_hex(f.bytes);
  return m;
}

std::string default_mapping_path() {
  if (const char *e = std::getenv("RGSYNC_MAPPING"); e && *e) return e;
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::vector<std::string> candidates;
  if (n > 0) {
    std::string exe(buf, static_cast<size_t>(n));
    std::string dir = exe.substr(0, exe.rfind('/'));
    candidates.push_back(dir + "/../../config/registry-mapping.yaml");        // build/daemon/registry-sync
    candidates.push_back(dir + "/../share/registry-sync/registry-mapping.yaml");  // <prefix>/bin
  }
  candidates.push_back("/etc/registry-sync/registry-mapping.yaml");
  for (const auto &c : candidates)
    if (std::ifstream(c)) return c;
  return "config/registry-mapping.yaml";
}

std::optional<std::set<std::string>> registry_hr_owned_columns(const std::optional<std::string> &path) {
  std::string p = path ? *path : default_mapping_path();
  if (!path && !std::ifstream(p)) return std::nullopt;
  Mapping m;
  try {
    m = load_mapping(p);
  } catch (const std::exception &e) {
    throw UsageError(std::string("registry mapping (for HR-owned columns): ") + e.what());
  }
  const TableDef *t = m.table("principal_profiles");
  if (!t || t->hr_owned_columns.empty()) return std::nullopt;
  return std::set<std::string>(t->hr_owned_columns.begin(), t->hr_owned_columns.end());
}

}  // namespace rgsync
