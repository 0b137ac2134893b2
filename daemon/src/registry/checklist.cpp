// The data product onboarding checklist (see checklist.hpp).
#include "registry/checklist.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fnmatch.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "yaml/scalar.hpp"

namespace rgsync {

namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  for (auto &c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const char *kind_name(const Node &n) {
  if (n.is_map()) return "a mapping";
  if (n.is_seq()) return "a list";
  return "a single value";
}

bool valid_date(const std::string &s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return false;
  int mo = std::atoi(s.substr(5, 2).c_str()), d = std::atoi(s.substr(8, 2).c_str());
  return mo >= 1 && mo <= 12 && d >= 1 && d <= 31;
}

// A non-null text scalar, or nullptr.
const Node *text_node(const Node *n) { return n && n->is_scalar() && !is_null(*n) ? n : nullptr; }

// What a value of column type `t` must look like, when `v` does not fit it; nullopt when it does.
std::optional<std::string> type_mismatch(const std::string &file, const Node &v, ColType t) {
  if (is_null(v)) return std::nullopt;
  try {
    switch (t) {
      case ColType::Text:
        if (!v.is_scalar()) return std::string("text");
        if (!v.tag.empty()) resolve_scalar(file, v);
        return std::nullopt;
      case ColType::TextArray:
        if (!v.is_seq()) return std::string("a list of text values");
        for (const auto &e : v.items)
          if (!e.is_scalar() || is_null(e)) return std::string("a list of text values (an element is ") + (is_null(e) ? "null" : kind_name(e)) + ")";
        return std::nullopt;
      case ColType::Jsonb:
        to_json(file, v);
        return std::nullopt;
      case ColType::Boolean:
        if (!v.is_scalar() || resolve_scalar(file, v).type != ScalarType::Bool) return std::string("true or false");
        return std::nullopt;
      case ColType::Date:
        if (!v.is_scalar() || !valid_date(v.text)) return std::string("a date (YYYY-MM-DD)");
        return std::nullopt;
      case ColType::Integer:
      case ColType::Bigint:
        if (!v.is_scalar() || resolve_scalar(file, v).type != ScalarType::Int) return std::string("a whole number");
        return std::nullopt;
      case ColType::Numeric: {
        if (!v.is_scalar()) return std::string("a number");
        auto st = resolve_scalar(file, v).type;
        if (st != ScalarType::Int && st != ScalarType::Float) return std::string("a number");
        return std::nullopt;
      }
    }
  } catch (const YamlError &e) {
    return e.detail;
  }
  return std::nullopt;
}

struct Column {
  std::string name, display;
};

struct Relation {  // a table or view the contract declares
  std::string name;
  bool view = false;
  bool columns_declared = false;
  std::vector<Column> columns;
};

// What a KPI uses, wherever it was written (contract or registry file).
struct KpiUse {
  std::string id;
  std::string file;        // where it is written (shown path)
  Mark mark;               // the entry
  bool in_contract = false;
  std::optional<std::pair<std::string, Mark>> product;  // data_product_id as written
  std::optional<std::pair<std::string, Mark>> view_name, base_column, sql_query;
  std::vector<std::pair<std::string, Mark>> columns;  // dimension fields, filter keys
};

const TableRows *table_rows(const Registry &reg, const std::string &name) {
  for (const auto &t : reg.tables)
    if (t.def && t.def->name == name) return &t;
  return nullptr;
}

const Cell *cell(const TableRows &t, const Row &r, const std::string &col) {
  int i = t.def->column_index(col);
  if (i < 0) return nullptr;
  const Cell &c = r.cells[static_cast<size_t>(i)];
  return c.null ? nullptr : &c;
}

std::string cell_text(const TableRows &t, const Row &r, const std::string &col) {
  const Cell *c = cell(t, r, col);
  return c ? c->text : std::string();
}

std::string at(const std::string &file, Mark m) { return file + ":" + std::to_string(m.line); }

// Table names a query reads (after FROM / JOIN; schema prefix removed) and qualified column
// references (name.column, the last two parts of a dotted chain), outside string literals.
void scan_sql(const std::string &sql, std::vector<std::string> &tables, std::vector<std::pair<std::string, std::string>> &qualified) {
  std::string s;
  bool in_str = false;
  for (char c : sql) {
    if (c == '\'') { in_str = !in_str; s += ' '; continue; }
    s += in_str ? ' ' : c;
  }
  auto ident_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '"' || c == '.'; };
  std::vector<std::string> words;
  for (size_t i = 0; i < s.size();) {
    if (!ident_char(s[i])) { ++i; continue; }
    size_t j = i;
    while (j < s.size() && ident_char(s[j])) ++j;
    std::string w = s.substr(i, j - i);
    w.erase(std::remove(w.begin(), w.end(), '"'), w.end());
    words.push_back(w);
    i = j;
  }
  for (size_t i = 0; i < words.size(); ++i) {
    std::string lw = lower(words[i]);
    std::vector<std::string> parts;
    size_t p = 0;
    for (;;) {
      size_t q = words[i].find('.', p);
      parts.push_back(words[i].substr(p, q == std::string::npos ? std::string::npos : q - p));
      if (q == std::string::npos) break;
      p = q + 1;
    }
    if ((lw == "from" || lw == "join") && i + 1 < words.size()) {
      const std::string &t = words[i + 1];
      std::string last = t.substr(t.rfind('.') == std::string::npos ? 0 : t.rfind('.') + 1);
      if (!last.empty() && !std::isdigit(static_cast<unsigned char>(last[0]))) tables.push_back(last);
    }
    if (parts.size() >= 2 && !parts[parts.size() - 2].empty() && !parts.back().empty())
      qualified.emplace_back(parts[parts.size() - 2], parts.back());
  }
}

struct Runner {
  const std::string &path;
  const Mapping &m;
  const Registry &reg;
  Checklist out;
  Node root;
  const Node *meta = nullptr;  // the metadata: mapping, when there is one
  std::string pid, name;
  Mark id_mark, name_mark;
  bool staging = false;
  std::vector<Relation> relations;
  std::vector<KpiUse> kpis;  // the contract's, then the registry's that name the product
  std::set<size_t> own_files;  // registry files that are this contract

  // Entry files: the mapping's `entry:` for data_products that reads this contract (nullptr:
  // the mapping has none, the contract is read as documented: metadata.X, else X).
  const FileDef *efd = nullptr;
  size_t efd_idx = 0;
  Mapping one_file;       // the mapping with only that files entry, for this one file
  Registry own;           // the contract read through it
  Findings own_findings;  // and what the mapping found wrong with it
  Node stem_node;

  Runner(const std::string &p, const Mapping &mp, const Registry &r) : path(p), m(mp), reg(r) {}

  // Index of the files entry whose path (a glob) matches `rel`, or -1.
  int def_of(const std::string &rel) const {
    for (size_t i = 0; i < m.files.size(); ++i)
      if (fnmatch(m.files[i].path.c_str(), rel.c_str(), FNM_PATHNAME) == 0) return static_cast<int>(i);
    return -1;
  }

  // Picks the entry files rule for data_products matching the contract's path in the registry
  // (else its file name, else the first one) and reads the contract through it alone.
  void use_mapping(const std::string &rel, uint64_t max_bytes) {
    std::vector<size_t> cands;
    for (size_t i = 0; i < m.files.size(); ++i)
      if (m.files[i].entry && m.files[i].entry->table == "data_products") cands.push_back(i);
    if (cands.empty()) return;
    efd_idx = cands[0];
    std::string base = fs::path(path).filename().string();
    bool found = false;
    for (size_t i : cands)
      if (!rel.empty() && fnmatch(m.files[i].path.c_str(), rel.c_str(), FNM_PATHNAME) == 0) { efd_idx = i; found = true; break; }
    if (!found)
      for (size_t i : cands)
        if (fnmatch(fs::path(m.files[i].path).filename().string().c_str(), base.c_str(), 0) == 0) { efd_idx = i; break; }
    efd = &m.files[efd_idx];
    one_file = m;
    FileDef fd = *efd;
    fd.path = base;
    fd.optional = false;
    fd.overrides.clear();
    fd.overrides_idx.clear();
    one_file.files = {fd};
    LoadOptions lo;
    lo.max_file_bytes = max_bytes;
    std::string dir = fs::path(path).parent_path().string();
    own = load_registry(one_file, dir.empty() ? "." : dir, lo, own_findings);
  }

  // Where the mapping reads data_products column `col` from (the rule's sources).
  std::vector<std::string> sources(const std::string &col) const {
    if (!efd) return {"metadata." + col, col};
    auto it = efd->entry->columns.find(col);
    if (it == efd->entry->columns.end()) return {col};
    if (it->second.kind == ColumnRule::From || it->second.kind == ColumnRule::FirstOf) return it->second.fields;
    return {};
  }
  // The node a source names in the contract ($stem: the file name).
  const Node *lookup(const std::string &source) const {
    if (source == "$stem") return &stem_node;
    if (source.empty() || source[0] == '$') return nullptr;
    const Node *cur = &root;
    for (const auto &seg : source_path(source)) {
      if (!cur->is_map()) return nullptr;
      cur = cur->get(seg);
      if (!cur) return nullptr;
    }
    return cur;
  }

  Check &add(const std::string &title) {
    out.checks.push_back(Check{title, {}, {}});
    return out.checks.back();
  }
  static void fail(Check &c, const std::string &file, Mark m, const std::string &msg) { c.problems.push_back(CheckProblem{file, m, msg}); }

  // A product field as written: where the mapping's rule for the column reads it (entry
  // files), else under metadata: first, then at the top level. `source` tells which.
  const Node *field(const std::string &k, std::string *source = nullptr) const {
    for (const auto &src : sources(k)) {
      if (src == "$stem") continue;  // not written in the file
      const Node *v = lookup(src);
      if (v && !is_null(*v)) {
        if (source) *source = src;
        return v;
      }
    }
    return nullptr;
  }
  std::string where_to_add(const std::string &k, const std::string &example) const {
    if (efd) {
      std::string srcs;
      for (const auto &src : sources(k))
        if (src[0] != '$') srcs += (srcs.empty() ? "" : ", ") + src;
      return "add `" + k + ": " + example + "` (the mapping " + m.path + " reads " + k + " from " + (srcs.empty() ? std::string("nowhere") : srcs) + ")";
    }
    return "add `" + k + ": " + example + "`" + (meta ? " under metadata:" : " at the top level");
  }
  Mark meta_key_mark;
  Mark fields_mark() const { return meta ? meta_key_mark : root.mark; }

  bool own_row(const Row &r) const { return own_files.count(r.file) > 0; }

  void find_own_files(const std::string &registry_dir) {
    std::error_code ec;
    fs::path self = fs::weakly_canonical(fs::absolute(path, ec), ec);
    for (size_t i = 0; i < reg.files.size(); ++i) {
      std::error_code e2;
      fs::path p = fs::weakly_canonical(fs::absolute(reg.files[i].shown, e2), e2);
      if (!e2 && !ec && p == self) own_files.insert(i);
    }
    (void)registry_dir;
  }

  bool read_contract(uint64_t max_bytes) {
    Check &c = add("contract reads as one YAML mapping");
    try {
      root = parse_yaml_file(path, ParseOptions{max_bytes}).root;
    } catch (const YamlError &e) {
      fail(c, path, e.mark, e.detail);
      return false;
    }
    if (!root.is_map()) {
      fail(c, path, root.mark, std::string("the top level is ") + kind_name(root) +
                                   "; a contract is a mapping of the product's fields (name:, domain:, owner:, ... at the top or under metadata:)");
      return false;
    }
    for (size_t i = 0; i < root.map_size(); ++i)
      if (root.key(i).text == "metadata") meta_key_mark = root.key(i).mark;
    if (const Node *md = root.get("metadata")) {
      if (md->is_map()) meta = md;
      else if (!is_null(*md)) {
        fail(c, path, md->mark, std::string("metadata: is ") + kind_name(*md) + "; it must be a mapping of the product's fields");
        return false;
      }
    }
    return true;
  }

  void check_registry(const Findings &rf, const std::string &dir) {
    Check &c = add("registry " + dir + " reads through the mapping");
    size_t shown = 0, errors = 0;
    for (const auto &f : rf.items()) {
      if (f.severity != Finding::Error) continue;
      ++errors;
      if (shown < 5) { fail(c, f.file, f.mark, f.message); ++shown; }
    }
    if (errors > shown)
      fail(c, dir, Mark{1, 1}, std::to_string(errors - shown) + " more error(s): run registry-sync validate --registry " + dir);
    if (c.passed()) {
      const TableRows *dp = table_rows(reg, "data_products");
      c.note = m.path + ": " + std::to_string(reg.files.size()) + " file(s), " + std::to_string(dp ? dp->live() : 0) + " data product(s)";
    }
  }

  // Reads tables: / views: (lists of {name, columns}); shape problems go to `c`.
  void read_relations(Check &c, const std::string &key, bool view) {
    const Node *list = field(key);
    if (!list || is_null(*list)) return;
    if (!list->is_seq()) {
      fail(c, path, list->mark, key + ": must be a list of {name: ..., columns: [...]}, got " + kind_name(*list));
      return;
    }
    for (const Node &e : list->items) {
      Relation r;
      r.view = view;
      const Node *n = e.is_scalar() ? &e : (e.is_map() ? text_node(e.get("name")) : nullptr);
      if (!n || is_null(*n)) {
        fail(c, path, e.mark, key + ": each entry needs a name (`- name: ...`), got " + (e.is_map() ? std::string("no name") : kind_name(e)));
        continue;
      }
      r.name = n->text;
      if (e.is_map())
        if (const Node *cols = e.get("columns"); cols && !is_null(*cols)) {
          r.columns_declared = true;
          if (cols->is_seq()) {
            for (const Node &col : cols->items) {
              const Node *cn = col.is_scalar() ? &col : (col.is_map() ? text_node(col.get("name")) : nullptr);
              if (!cn || is_null(*cn)) {
                fail(c, path, col.mark, key + " '" + r.name + "': each column needs a name (`- name: ...`)");
                continue;
              }
              Column cc{cn->text, {}};
              if (col.is_map())
                if (const Node *d = text_node(col.get("display_name"))) cc.display = d->text;
              r.columns.push_back(cc);
            }
          } else if (cols->is_map()) {
            for (size_t i = 0; i < cols->map_size(); ++i) r.columns.push_back(Column{cols->key(i).text, {}});
          } else {
            fail(c, path, cols->mark, key + " '" + r.name + "': columns must be a list (or a mapping name -> type), got " + kind_name(*cols));
          }
        }
      relations.push_back(std::move(r));
    }
  }

  void read_contract_kpis(Check &c) {
    std::string from = "kpis";
    if (efd)
      for (const auto &ch : efd->entry->children)
        if (ch.table == "kpis") from = ch.from;
    const Node *list = lookup(from);
    if (!list || is_null(*list)) return;
    if (!list->is_seq()) {
      fail(c, path, list->mark, std::string("kpis: must be a list of KPI entries, got ") + kind_name(*list));
      return;
    }
    const TableDef *kt = m.table("kpis");
    for (const Node &e : list->items) {
      if (!e.is_map()) {
        fail(c, path, e.mark, std::string("each kpis: entry must be a mapping of fields, got ") + kind_name(e));
        continue;
      }
      KpiUse k;
      k.file = path;
      k.mark = e.mark;
      k.in_contract = true;
      if (const Node *id = text_node(e.get("id"))) k.id = id->text;
      if (kt && !efd) {
        for (const auto &[col, type] : kt->columns)
          if (const Node *v = e.get(col))
            if (auto bad = type_mismatch(path, *v, type))
              fail(c, path, v->mark, "KPI '" + k.id + "' " + col + ": expected " + *bad + ", got " + kind_name(*v));
        for (const auto &req : kt->required) {
          if (req == "data_product_id") continue;  // filled in with the product's id
          const Node *v = e.get(req);
          if (!v || is_null(*v) || (v->is_scalar() && v->text.empty()))
            fail(c, path, e.mark, "KPI" + (k.id.empty() ? std::string() : " '" + k.id + "'") + " has no " + req + ": add `" + req + ": ...` to it");
        }
      }
      auto scalar = [&](const char *f, std::optional<std::pair<std::string, Mark>> &dst) {
        if (const Node *v = text_node(e.get(f))) dst = std::make_pair(v->text, v->mark);
      };
      scalar("data_product_id", k.product);
      scalar("view_name", k.view_name);
      scalar("base_column", k.base_column);
      scalar("sql_query", k.sql_query);
      if (const Node *dims = e.get("dimensions"); dims && dims->is_seq())
        for (const Node &d : dims->items)  // {name, field} or just the column name
          if (const Node *f = d.is_map() ? text_node(d.get("field")) : text_node(&d)) k.columns.emplace_back(f->text, f->mark);
      if (const Node *flt = e.get("filters"); flt && flt->is_map())
        for (size_t i = 0; i < flt->map_size(); ++i) k.columns.emplace_back(flt->key(i).text, flt->key(i).mark);
      kpis.push_back(std::move(k));
    }
  }

  void check_required() {
    Check &c = add("required fields present, with the right types");
    const TableDef *dp = efd ? nullptr : m.table("data_products");
    stem_node.text = fs::path(path).stem().string();
    stem_node.mark = root.mark;
    if (efd)  // the mapping's own findings for this file: types, required columns, unknown fields
      for (const auto &f : own_findings.items()) {
        if (f.severity != Finding::Error) continue;
        // owner and domain missing: the next check says so (with where the mapping reads them)
        if (f.message.find("required column 'owner'") != std::string::npos || f.message.find("required column 'domain'") != std::string::npos) continue;
        fail(c, f.file, f.mark, f.message);
      }
    // id: `id` or `product_id` (or where the mapping reads it), else the file name without .yaml
    std::string id_source;
    const Node *id = field("id", &id_source);
    const Node *pidn = efd ? nullptr : field("product_id");
    if (id && pidn && !is_null(*id) && !is_null(*pidn) && id->text != pidn->text)
      fail(c, path, pidn->mark, "both id '" + id->text + "' and product_id '" + pidn->text + "' are given; keep one");
    const Node *idn = id && !is_null(*id) ? id : pidn;
    std::string id_from = "the file name";
    bool id_bad = false;
    if (idn && !is_null(*idn)) {
      if (!idn->is_scalar() || idn->text.empty()) {
        fail(c, path, idn->mark, std::string("the product id must be non-empty text, got ") + (idn->is_scalar() ? "an empty value" : kind_name(*idn)));
        id_bad = true;
        id_mark = idn->mark;
      } else { pid = idn->text; id_mark = idn->mark; id_from = "written" + (efd ? " as " + id_source : std::string()); }
    } else {
      pid = fs::path(path).stem().string();
      id_mark = root.mark;
    }
    if (pid.empty() && !id_bad) fail(c, path, root.mark, "the product has no id: " + where_to_add("id", "dp_<domain>_<name>"));
    else if (pid.find_first_of(" \t/\\") != std::string::npos)
      fail(c, path, id_mark, "the product id '" + pid + "' (" + id_from + ") contains spaces or slashes; use letters, digits, '_' and '-'");
    out.product_id = pid;
    if (const Node *n = text_node(field("name"))) { name = n->text; name_mark = n->mark; }
    if (dp) {
      for (const auto &[col, type] : dp->columns) {
        if (col == "id" || col == "tables" || col == "views") continue;  // checked here / by their own shape
        if (const Node *v = field(col))
          if (auto bad = type_mismatch(path, *v, type)) fail(c, path, v->mark, col + ": expected " + *bad + ", got " + kind_name(*v));
      }
      for (const auto &req : dp->required) {
        if (req == "id" || req == "owner" || req == "domain") continue;  // id above; owner and domain: their own check
        const Node *v = field(req);
        if (!v || is_null(*v) || (v->is_scalar() && v->text.empty()))
          fail(c, path, fields_mark(), "no " + req + ": " + where_to_add(req, "..."));
      }
    }
    if (const Node *s = efd ? field("staging") : root.get("staging"); s && !is_null(*s)) {
      if (auto bad = type_mismatch(path, *s, ColType::Boolean)) fail(c, path, s->mark, std::string("staging: expected true or false, got ") + kind_name(*s) + (s->is_scalar() ? " '" + s->text + "'" : std::string()));
      else staging = resolve_scalar(path, *s).boolean;
    } else if (const Node *ms = meta && !efd ? meta->get("staging") : nullptr; ms && !is_null(*ms)) {
      if (type_mismatch(path, *ms, ColType::Boolean)) fail(c, path, ms->mark, "staging: expected true or false");
      else staging = resolve_scalar(path, *ms).boolean;
    }
    if (efd)  // a staging: {const: true} rule (e.g. staging/*.yaml) says so for every file it reads
      if (const TableRows *t = table_rows(own, "data_products"); t && !t->rows.empty())
        if (const Cell *sc = cell(*t, t->rows[0], "staging"); sc && sc->text == "true") staging = true;
    read_relations(c, "tables", false);
    read_relations(c, "views", true);
    read_contract_kpis(c);
    if (c.passed()) c.note = "id " + pid + " (" + id_from + "), name '" + name + "'";
  }

  void check_owner_domain() {
    Check &c = add("owner and domain set");
    std::string got;
    for (const char *k : {"owner", "domain"}) {
      const Node *v = field(k);
      if (!v || is_null(*v)) {
        fail(c, path, fields_mark(), std::string("no ") + k + ": " +
                                         where_to_add(k, std::string(k) == "owner" ? "<the team answering for this product>" : "<e.g. Finance>") +
                                         (std::string(k) == "owner" ? " (the registry's '{domain} Team' default is not an owner)" : ""));
      } else if (!v->is_scalar() || v->text.find_first_not_of(" \t") == std::string::npos) {
        fail(c, path, v->mark, std::string(k) + ": must be non-empty text, got " + (v->is_scalar() ? "an empty value" : kind_name(*v)));
      } else {
        got += (got.empty() ? "" : ", ") + std::string(k) + " '" + v->text + "'";
      }
    }
    if (c.passed()) c.note = got;
  }

  void check_processes() {
    Check &c = add("related business processes exist");
    const ReferenceDef *ref = m.reference("data_products", "related_business_processes");
    std::string target = ref ? ref->target : "business_processes";
    std::vector<std::string> match = ref ? ref->match : std::vector<std::string>{"id"};
    const TableRows *t = table_rows(reg, target);
    const Node *list = field("related_business_processes");
    if (!list || is_null(*list) || (list->is_seq() && list->items.empty())) {
      fail(c, path, list ? list->mark : fields_mark(),
           "the product names no business process: " + where_to_add("related_business_processes", "[<process id>]"));
      return;
    }
    if (!list->is_seq()) return;  // the type check reported it
    std::string found;
    for (const Node &e : list->items) {
      if (!e.is_scalar() || is_null(e)) continue;
      bool ok = false;
      std::string by;
      if (t)
        for (const auto &r : t->rows) {
          if (r.dropped) continue;
          for (const auto &mc : match)
            if (cell_text(*t, r, mc) == e.text) { ok = true; by = cell_text(*t, r, t->def->key.empty() ? "id" : t->def->key[0]); break; }
          if (ok) break;
        }
      std::string matches;
      for (const auto &mc : match) matches += (matches.empty() ? "" : " or ") + mc;
      if (!ok) fail(c, path, e.mark, "business process '" + e.text + "' does not exist in " + target + " (by " + matches +
                                         "): use the id of an existing process, or add the process to the registry first");
      else found += (found.empty() ? "" : ", ") + by;
    }
    if (c.passed()) c.note = found;
  }

  // The registry's KPIs that name the product by id or by name (not from this contract file).
  void collect_registry_kpis() {
    const TableRows *kt = table_rows(reg, "kpis");
    if (!kt) return;
    for (const auto &r : kt->rows) {
      if (r.dropped || own_row(r)) continue;
      const Cell *dpc = cell(*kt, r, "data_product_id");
      if (!dpc || (dpc->text != pid && (name.empty() || dpc->text != name))) continue;
      KpiUse k;
      k.id = cell_text(*kt, r, "id");
      k.file = reg.files[r.file].shown;
      k.mark = r.mark;
      k.product = std::make_pair(dpc->text, dpc->mark);
      if (const Cell *v = cell(*kt, r, "view_name")) k.view_name = std::make_pair(v->text, v->mark);
      if (const Cell *v = cell(*kt, r, "sql_query")) k.sql_query = std::make_pair(v->text, v->mark);
      if (const Cell *v = cell(*kt, r, "dimensions")) {
        auto j = nlohmann::json::parse(v->text, nullptr, false);
        if (j.is_array()) {
          for (const auto &d : j) {
            if (d.is_object() && d.contains("field") && d["field"].is_string()) k.columns.emplace_back(d["field"].get<std::string>(), v->mark);
            else if (d.is_string()) k.columns.emplace_back(d.get<std::string>(), v->mark);
          }
        }
      }
      if (const Cell *v = cell(*kt, r, "filters")) {
        auto j = nlohmann::json::parse(v->text, nullptr, false);
        if (j.is_object())
          for (auto it = j.begin(); it != j.end(); ++it) k.columns.emplace_back(it.key(), v->mark);
      }
      kpis.push_back(std::move(k));
    }
  }

  void check_kpis_exist() {
    Check &c = add("KPIs that name the product exist");
    size_t own = 0, other = 0;
    for (const auto &k : kpis) (k.in_contract ? own : other)++;
    if (kpis.empty())
      fail(c, path, root.mark, "no KPI names " + pid + ": add a kpis: list to the contract, or KPIs with data_product_id: " + pid + " to the registry");
    else
      c.note = std::to_string(own) + " in the contract, " + std::to_string(other) + " in the registry";
  }

  void check_kpis_by_id() {
    Check &c = add("KPIs name the product by id");
    for (const auto &k : kpis) {
      if (!k.product || k.product->first == pid) continue;
      if (!name.empty() && k.product->first == name)
        fail(c, k.file, k.product->second, "KPI '" + k.id + "' names the product by its display name '" + name + "': write data_product_id: " + pid);
      else if (k.in_contract)
        fail(c, k.file, k.product->second, "KPI '" + k.id + "' in this contract names another product '" + k.product->first +
                                               "': a contract's KPIs belong to its product; remove data_product_id (it is filled in) or move the KPI");
    }
  }

  void check_kpi_columns() {
    Check &c = add("tables and columns the KPIs use exist in the contract");
    std::map<std::string, const Relation *> rel;  // lower-case name -> relation
    std::set<std::string> cols;                    // every declared column name and display name
    for (const auto &r : relations) {
      rel.emplace(lower(r.name), &r);
      for (const auto &cc : r.columns) {
        cols.insert(lower(cc.name));
        if (!cc.display.empty()) cols.insert(lower(cc.display));
      }
    }
    size_t uses = 0;
    for (const auto &k : kpis) {
      std::string who = "KPI '" + k.id + "'";
      if (k.view_name) {
        ++uses;
        if (!rel.count(lower(k.view_name->first)))
          fail(c, k.file, k.view_name->second, who + " view_name '" + k.view_name->first + "' is not a view or table of the contract: add it under views:, or fix the name");
      }
      auto column = [&](const std::string &col, Mark mk, const std::string &what) {
        ++uses;
        if (!cols.count(lower(col)))
          fail(c, k.file, mk, who + " " + what + " '" + col + "' is not a column of the contract's tables or views: add it under the table's columns:, or fix the name");
      };
      if (k.base_column) column(k.base_column->first, k.base_column->second, "base_column");
      for (const auto &[col, mk] : k.columns) column(col, mk, "uses column");
      if (k.sql_query) {
        std::vector<std::string> tables;
        std::vector<std::pair<std::string, std::string>> qualified;
        scan_sql(k.sql_query->first, tables, qualified);
        for (const auto &t : tables) {
          ++uses;
          if (!rel.count(lower(t)))
            fail(c, k.file, k.sql_query->second, who + " sql_query reads '" + t + "', which is not a table or view of the contract: declare it under tables:, or fix the query");
        }
        for (const auto &[t, col] : qualified) {
          auto it = rel.find(lower(t));
          if (it == rel.end() || !it->second->columns_declared) continue;  // an alias or a schema, not a declared table
          ++uses;
          bool ok = false;
          for (const auto &cc : it->second->columns) ok = ok || lower(cc.name) == lower(col);
          if (!ok) fail(c, k.file, k.sql_query->second, who + " sql_query uses " + t + "." + col + ", which is not a column of " + t + " in the contract: add it, or fix the query");
        }
      }
    }
    if (c.passed()) c.note = std::to_string(uses) + " use(s) checked against " + std::to_string(relations.size()) + " table(s)/view(s)";
  }

  // Other data products (not from this file) with the same id, as rows of the registry.
  std::vector<const Row *> same_id_products(const TableRows *&dp) const {
    std::vector<const Row *> out;
    dp = table_rows(reg, "data_products");
    if (!dp) return out;
    for (const auto &r : dp->rows)
      if (!r.dropped && !own_row(r) && cell_text(*dp, r, "id") == pid) out.push_back(&r);
    return out;
  }

  void check_collisions() {
    Check &c = add("no id or name collision with another product");
    const TableRows *dp = table_rows(reg, "data_products");
    if (dp)
      for (const auto &r : dp->rows) {
        if (r.dropped || own_row(r)) continue;
        std::string oid = cell_text(*dp, r, "id"), oname = cell_text(*dp, r, "name");
        std::string w = at(reg.files[r.file].shown, r.mark);
        if (oid == pid) continue;  // same id: an override (next check)
        if (!name.empty() && lower(oname) == lower(name))
          fail(c, path, name_mark, "product " + oid + " (" + w + ") has the same name '" + oname + "'; KPIs naming products by name could not tell them apart: choose another name");
        else if (oname == pid)
          fail(c, path, id_mark, "the id " + pid + " is the name of product " + oid + " (" + w + "): choose another id");
        else if (!name.empty() && oid == name)
          fail(c, path, name_mark, "the name '" + name + "' is the id of product " + oid + " (" + w + "): choose another name");
      }
    const TableRows *kt = table_rows(reg, "kpis");
    if (kt)
      for (const auto &k : kpis) {
        if (!k.in_contract || k.id.empty()) continue;
        auto it = kt->by_key.find(k.id);
        if (it == kt->by_key.end()) continue;
        const Row &r = kt->rows[it->second];
        if (r.dropped || own_row(r)) continue;
        std::string odp = cell_text(*kt, r, "data_product_id");
        if (odp == pid || (!name.empty() && odp == name)) continue;  // this product's KPI: an override (next check)
        fail(c, path, k.mark, "KPI id '" + k.id + "' is already used at " + at(reg.files[r.file].shown, r.mark) + " by product " + odp + ": choose another KPI id");
      }
  }

  // Whether overriding `r` (a row of another registry file) is declared, and how.
  // Without entry files in the mapping, the contract's `staging: true` declares it; with them,
  // the mapping must also say which source wins (overrides:), or validate and apply refuse the
  // same key from two files.
  bool declared(const Row &r, std::string &how) const {
    if (!efd) {
      if (staging) how = "staging: true";
      return staging;
    }
    int d = def_of(reg.files[r.file].rel);
    if (d >= 0 && m.overrides(efd_idx, static_cast<size_t>(d))) { how = "mapping: " + efd->path + " overrides " + m.files[d].path; return true; }
    if (d >= 0 && m.overrides(static_cast<size_t>(d), efd_idx)) { how = "mapping: " + m.files[d].path + " overrides " + efd->path + ", so that entry wins"; return true; }
    how = d >= 0 ? m.files[d].path : reg.files[r.file].rel;
    return false;
  }
  std::string how_to_declare(const std::string &other) const {
    if (!efd) return "declare `staging: true` if it is meant to, otherwise choose another id";
    return std::string(staging ? "the contract says staging: true, but " : "") + "the mapping " + m.path + " declares no precedence between " + efd->path +
           " and " + other + ": put staging contracts where a files entry with `overrides: [" + other + "]` reads them (or add it to " + efd->path +
           "'s entry) if this override is meant, otherwise choose another id";
  }

  void check_override() {
    Check &c = add("no override without saying so");
    const TableRows *dp = nullptr;
    auto same = same_id_products(dp);
    std::vector<std::string> overridden;
    std::string how;
    for (const Row *r : same) {
      std::string w = at(reg.files[r->file].shown, r->mark);
      if (declared(*r, how)) overridden.push_back("product " + pid + " at " + w + " (" + how + ")");
      else fail(c, path, id_mark, "product " + pid + " is already defined at " + w + "; this contract would override it: " + how_to_declare(how));
    }
    const TableRows *kt = table_rows(reg, "kpis");
    if (kt)
      for (const auto &k : kpis) {
        if (!k.in_contract || k.id.empty()) continue;
        auto it = kt->by_key.find(k.id);
        if (it == kt->by_key.end()) continue;
        const Row &r = kt->rows[it->second];
        if (r.dropped || own_row(r)) continue;
        std::string odp = cell_text(*kt, r, "data_product_id");
        if (odp != pid && (name.empty() || odp != name)) continue;  // another product's: a collision (previous check)
        std::string w = at(reg.files[r.file].shown, r.mark);
        if (declared(r, how)) overridden.push_back("KPI " + k.id + " at " + w + " (" + how + ")");
        else fail(c, path, k.mark, "KPI '" + k.id + "' is already defined at " + w + "; this contract would override it: " + how_to_declare(how));
      }
    if (c.passed()) {
      if (overridden.empty()) c.note = staging ? "staging: true, but nothing in the registry has these ids" : "overrides nothing";
      else {
        c.note = "declared; overrides ";
        for (size_t i = 0; i < overridden.size(); ++i) c.note += (i ? ", " : "") + overridden[i];
      }
    }
  }
};

}  // namespace

size_t Checklist::failed() const {
  size_t n = 0;
  for (const auto &c : checks) n += c.passed() ? 0 : 1;
  return n;
}

Checklist check_data_product(const std::string &contract_path, const Mapping &m, const Registry &reg, const Findings &registry_findings,
                             const std::string &registry_dir, const std::string &contract_rel, uint64_t max_file_bytes) {
  Runner r(contract_path, m, reg);
  r.out.file = contract_path;
  if (!r.read_contract(max_file_bytes)) return r.out;
  r.find_own_files(registry_dir);
  r.use_mapping(contract_rel, max_file_bytes);
  r.check_registry(registry_findings, registry_dir);
  r.check_required();
  r.check_owner_domain();
  r.check_processes();
  r.collect_registry_kpis();
  r.check_kpis_exist();
  r.check_kpis_by_id();
  r.check_kpi_columns();
  r.check_collisions();
  r.check_override();
  return r.out;
}

void print_checklist(const Checklist &c, std::ostream &out, bool utf8) {
  const char *ok = utf8 ? "\u2713 " : "ok   ";
  const char *bad = utf8 ? "\u2717 " : "FAIL ";
  out << "onboarding checklist for data product contract " << c.file << (c.product_id.empty() ? std::string() : " (product " + c.product_id + ")") << "\n";
  for (const auto &ch : c.checks) {
    if (ch.passed()) {
      out << ok << ch.title << (ch.note.empty() ? "" : ": " + ch.note) << "\n";
      continue;
    }
    bool first = true;
    for (const auto &p : ch.problems) {
      std::string loc = p.file + ":" + std::to_string(p.mark.line) + ":" + std::to_string(p.mark.column) + ": ";
      if (first) out << bad << ch.title << ": " << loc << p.message << "\n";
      else out << "       " << loc << p.message << "\n";
      first = false;
    }
  }
  size_t failed = c.failed();
  out << c.checks.size() - failed << " passed, " << failed << " failed";
  if (c.checks.size() == 1 && failed == 1) out << " (the other checks need a readable contract)";
  out << "\n";
}

std::string path_inside(const std::string &file, const std::string &dir) {
  std::error_code e1, e2;
  fs::path f = fs::weakly_canonical(fs::absolute(file, e1), e1), d = fs::weakly_canonical(fs::absolute(dir, e2), e2);
  if (e1 || e2) return "";
  fs::path rel = f.lexically_relative(d);
  std::string r = rel.generic_string();
  if (r.empty() || r == "." || r.rfind("..", 0) == 0) return "";
  return r;
}

bool locale_is_utf8() {
  const char *v = nullptr;
  for (const char *name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char *x = std::getenv(name);
    if (x && *x) { v = x; break; }
  }
  if (!v) return false;
  std::string s = lower(v);
  return s.find("utf-8") != std::string::npos || s.find("utf8") != std::string::npos;
}

}  // namespace rgsync
