// Export: reads every mapped table and writes it back through the mapping in reverse.
#include "registry/export.hpp"

#include <pqxx/pqxx>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "db/connection.hpp"
#include "registry/write_changes.hpp"
#include "common/errors.hpp"
#include "yaml/emit.hpp"

namespace rgsync {

namespace {

using json = nlohmann::ordered_json;

struct TableData {
  std::vector<json> rows;  // column -> value, in key order
  bool tenant = false;
};

std::string key_of(const TableDef &t, const json &row) {
  std::string k;
  for (const auto &c : t.key) k += (k.empty() ? "" : "\x1f") + (row[c].is_string() ? row[c].get<std::string>() : row[c].dump());
  return k;
}

TableData read_table(pqxx::transaction_base &tx, const TableDef &t, const std::string &tenant) {
  TableData d;
  d.tenant = tx.exec_params1("SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'client_id' AND NOT attisdropped)",
                             "public." + qi(t.name))[0].as<bool>();
  std::string cols, order;
  for (const auto &[c, ty] : t.columns) cols += (cols.empty() ? "" : ", ") + qi(c);
  for (const auto &k : t.key) order += (order.empty() ? "" : ", ") + qi(k);
  std::string sql = "SELECT row_to_json(x)::text FROM (SELECT " + cols + " FROM public." + qi(t.name) + " t" +
                    (d.tenant ? " WHERE client_id = " + tx.quote(tenant) : "") + " ORDER BY " + order + ") x";
  for (const auto &r : tx.exec(sql)) d.rows.push_back(json::parse(r[0].c_str()));
  return d;
}

// The entry field a column is written to, or "" when the column is derived on the way in.
// A dotted path (metadata.name) is written as nested mappings; $stem / $path / const are derived.
std::string field_for(const ListDef &l, const std::string &col) {
  auto it = l.columns.find(col);
  if (it == l.columns.end()) return col;
  if (it->second.kind == ColumnRule::From || it->second.kind == ColumnRule::FirstOf)
    for (const auto &src : it->second.fields)
      if (src[0] != '$') return src;
  return "";
}

// The value at a dotted path of `entry` (creating the mappings on the way); nullptr when the
// path is already taken by a value that is not a mapping.
json *slot(json &entry, const std::string &field) {
  json *cur = &entry;
  auto segs = source_path(field);
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    if (!cur->contains(segs[i])) (*cur)[segs[i]] = json::object();
    cur = &(*cur)[segs[i]];
    if (!cur->is_object()) return nullptr;
  }
  if (cur->contains(segs.back())) return nullptr;
  return &(*cur)[segs.back()];
}

// The column whose value comes from entry field `field` (to check a derived column against it).
std::string column_reading(const ListDef &l, const TableDef &t, const std::string &field) {
  for (const auto &[c, ty] : t.columns)
    if (field_for(l, c) == field) return c;
  return field;
}

}  // namespace

ExportResult export_registry(pqxx::connection &conn, const Mapping &m, const std::string &out_dir, const std::string &tenant,
                             std::ostream &log) {
  for (const auto &f : m.files)
    if (f.path.find_first_of("*?[") != std::string::npos)
      throw OperationError("export cannot write '" + f.path + "': a glob source has no single file to write its rows to; map it to a file path");
  for (const auto &f : m.files)
    if (f.entry)
      throw OperationError("export cannot write '" + f.path + "': a file that is one entry (entry:) has no file name to write each row to; export with a mapping that lists the table in one file");
  pqxx::read_transaction tx(conn);
  select_tenant(tx, tenant);
  std::map<std::string, TableData> data;
  for (const auto &t : m.tables) data[t.name] = read_table(tx, t, tenant);
  TableDef docdef = documents_table_def();
  TableData docs = read_table(tx, docdef, tenant);

  ExportResult res;
  std::set<std::string> table_written;  // a table fed by several lists goes to the first one
  std::filesystem::create_directories(out_dir);
  for (const auto &f : m.files) {
    json root = json::object();
    for (const auto &dkey : f.documents)
      for (const auto &d : docs.rows)
        if (d["file"] == f.path && d["key"] == dkey) { root[dkey] = d["document"]; ++res.documents; }
    for (const auto &l : f.lists) {
      const TableDef &t = *m.table(l.table);
      json list = json::array();
      if (table_written.insert(l.table).second) {
        // Child rows grouped by their parent's key, in position order.
        std::vector<std::map<std::string, std::vector<const json *>>> children(l.children.size());
        for (size_t ci = 0; ci < l.children.size(); ++ci) {
          const ChildDef &ch = l.children[ci];
          table_written.insert(ch.table);
          std::string parent_col, pos_col;
          for (const auto &[c, r] : ch.columns) {
            if (r.kind == ColumnRule::Parent) parent_col = c;
            if (r.kind == ColumnRule::Position) pos_col = c;
          }
          auto &rows = data[ch.table].rows;
          if (!pos_col.empty())
            std::stable_sort(rows.begin(), rows.end(), [&](const json &a, const json &b) { return a[pos_col].get<long long>() < b[pos_col].get<long long>(); });
          for (const auto &r : rows) children[ci][r[parent_col].is_string() ? r[parent_col].get<std::string>() : r[parent_col].dump()].push_back(&r);
        }
        for (const auto &row : data[l.table].rows) {
          json entry = json::object();
          for (const auto &[col, ty] : t.columns) {
            auto rule = l.columns.find(col);
            if (rule != l.columns.end() && rule->second.kind == ColumnRule::Slug) {
              const json &src = row[column_reading(l, t, rule->second.fields.front())];
              if (!src.is_string() || slugify(src.get<std::string>()) != row[col].get<std::string>())
                throw OperationError(t.name + " '" + key_of(t, row) + "': " + col + " is not the slug of " + rule->second.fields.front() +
                                     ", which the mapping derives it from; export cannot write it back (fix the row or the mapping)");
              continue;
            }
            std::string field = field_for(l, col);
            if (field.empty() || row[col].is_null()) continue;
            if (json *to = slot(entry, field)) *to = row[col];
          }
          for (size_t ci = 0; ci < l.children.size(); ++ci) {
            const ChildDef &ch = l.children[ci];
            std::string parent_src;
            for (const auto &[c, r] : ch.columns) if (r.kind == ColumnRule::Parent) parent_src = r.fields.front();
            const json &pv = row[parent_src];
            auto it = children[ci].find(pv.is_string() ? pv.get<std::string>() : pv.dump());
            json items = json::array();
            if (it != children[ci].end())
              for (const json *cr : it->second) {
                json item = json::object();
                json element;
                for (const auto &[c, ty] : m.table(ch.table)->columns) {
                  auto r = ch.columns.find(c);
                  if (r != ch.columns.end() && r->second.kind == ColumnRule::Element) { element = (*cr)[c]; continue; }
                  std::string field = c;  // a column without a rule reads the element's same-named field
                  if (r != ch.columns.end()) {
                    field.clear();
                    if (r->second.kind == ColumnRule::From || r->second.kind == ColumnRule::FirstOf)
                      for (const auto &src : r->second.fields)
                        if (src[0] != '$') { field = src; break; }
                  }
                  if (field.empty() || (*cr)[c].is_null()) continue;
                  if (json *to = slot(item, field)) *to = (*cr)[c];
                }
                items.push_back(item.empty() ? element : item);
              }
            entry[ch.from] = items;
          }
          list.push_back(std::move(entry));
          ++res.rows;
        }
      }
      if (l.key == ".") root = list;
      else root[l.key] = list;
    }
    std::string path = out_dir + "/" + f.path;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    {
      std::ofstream out(path + ".tmp", std::ios::binary | std::ios::trunc);
      out << emit_yaml_document(root);
      if (!out) throw OperationError("cannot write " + path + ".tmp");
    }
    std::filesystem::rename(path + ".tmp", path);
    log << "wrote " << path << "\n";
    ++res.files;
  }
  return res;
}

}  // namespace rgsync
