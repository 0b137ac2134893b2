// apply's database side. Rows are COPYed into temp tables, then compared and merged with a few
// set-based statements per table (the fast path for 100k-row registries); an empty target gets
// the COPY directly. Unchanged inputs on an unchanged database are detected without parsing
// the diff (file hashes + row counts + no row newer than the last apply's transaction).
#ifdef __GNUC__
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // pqxx 6.4's tablewriter is the raw COPY writer we need
#endif
#include "registry/write_changes.hpp"

#include <pqxx/pqxx>
#include <pqxx/tablewriter>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "common/errors.hpp"
#include "common/progress.hpp"
#include "db/connection.hpp"
#include "db/sql.hpp"

namespace rgsync {

std::string qi(const std::string &ident) { return quote_ident(ident); }

TableDef documents_table_def() {
  TableDef t;
  t.name = "registry_documents";
  t.key = {"file", "key"};
  t.columns = {{"file", ColType::Text}, {"key", ColType::Text}, {"document", ColType::Jsonb}};
  t.required = {"file", "key", "document"};
  t.owner = "file";
  return t;
}

namespace {

using Clock = std::chrono::steady_clock;
double secs(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }

// Appends s in COPY text form: backslash, newline, carriage return and tab escaped (spans
// without them are appended whole).
void copy_escape(std::string &out, const std::string &s) {
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char *rep;
    switch (s[i]) {
      case '\\': rep = "\\\\"; break;
      case '\n': rep = "\\n"; break;
      case '\r': rep = "\\r"; break;
      case '\t': rep = "\\t"; break;
      default: continue;
    }
    out.append(s, start, i - start);
    out += rep;
    start = i + 1;
  }
  out.append(s, start, std::string::npos);
}

struct TableInfo {
  std::map<std::string, std::string> columns;  // name -> format_type
  bool tenant = false;      // has client_id
  bool hr = false;          // hr_link_column present
  bool hr_created = false;  // hr_created_column present
};

TableInfo table_info(pqxx::transaction_base &tx, const std::string &table) {
  TableInfo ti;
  auto r = tx.exec_params(
      "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a "
      "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
      "public." + qi(table));
  for (const auto &row : r) ti.columns[row[0].c_str()] = row[1].c_str();
  ti.tenant = ti.columns.count("client_id") > 0;
  return ti;
}

bool type_matches(const std::string &db, ColType t) {
  std::string base = db.substr(0, db.find('('));
  switch (t) {
    case ColType::Text: return base == "text" || base == "character varying";
    case ColType::TextArray: return base == "text[]" || base == "character varying[]";
    case ColType::Jsonb: return base == "jsonb";
    case ColType::Boolean: return base == "boolean";
    case ColType::Date: return base == "date";
    case ColType::Integer: return base == "integer" || base == "bigint" || base == "smallint";
    case ColType::Bigint: return base == "bigint";
    case ColType::Numeric: return base == "numeric" || base == "double precision" || base == "real";
  }
  return false;
}

// Everything apply needs to know about one target table.
struct Target {
  const TableDef *def;
  const TableRows *rows = nullptr;  // nullptr for documents (rows built separately)
  std::vector<std::vector<std::string>> doc_rows;  // documents only: file, key, json
  TableInfo info;
  std::string stage;
  bool staged = false;
  TableCounts counts;
};

struct Sql {
  const Target &t;
  const std::string &tenant_lit;
  std::string tbl() const { return "public." + qi(t.def->name); }
  std::string cols(const std::string &prefix = "") const {
    std::string s;
    for (const auto &[c, ty] : t.def->columns) s += (s.empty() ? "" : ", ") + prefix + qi(c);
    return s;
  }
  bool is_key(const std::string &c) const { return std::find(t.def->key.begin(), t.def->key.end(), c) != t.def->key.end(); }
  bool hr_owned(const std::string &c) const {
    return t.info.hr && std::find(t.def->hr_owned_columns.begin(), t.def->hr_owned_columns.end(), c) != t.def->hr_owned_columns.end();
  }
  std::string tenant_cond(const std::string &alias) const { return t.info.tenant ? alias + ".client_id = " + tenant_lit : "true"; }
  std::string join(const std::string &ta, const std::string &sa) const {
    std::string s;
    for (const auto &k : t.def->key) s += (s.empty() ? "" : " AND ") + ta + "." + qi(k) + " = " + sa + "." + qi(k);
    return s + " AND " + tenant_cond(ta);
  }
  std::string distinct(const std::string &c) const {
    std::string d = "s." + qi(c) + " IS DISTINCT FROM t." + qi(c);
    if (hr_owned(c)) return "(t." + qi(t.def->hr_link_column) + " IS NULL AND " + d + ")";
    return "(" + d + ")";
  }
  std::string any_distinct() const {
    std::string s;
    for (const auto &[c, ty] : t.def->columns)
      if (!is_key(c)) s += (s.empty() ? "" : " OR ") + distinct(c);
    return s.empty() ? "false" : s;
  }
  std::string label(const std::string &a) const {
    if (t.def->key.size() == 1) return a + "." + qi(t.def->key[0]);
    std::string s = "concat_ws(', '";
    for (const auto &k : t.def->key) s += ", " + quote_literal(k + "=") + " || " + a + "." + qi(k);
    return s + ")";
  }
  std::string not_hr_created(const std::string &a) const {
    return t.info.hr_created ? " AND NOT coalesce(" + a + "." + qi(t.def->hr_created_column) + ", false)" : "";
  }
};

// COPY rows into `dest` (a temp stage or the target), in ~1 MB chunks.
size_t copy_rows(pqxx::work &tx, const Target &t, const std::string &dest, bool with_tenant, const std::string &tenant) {
  std::vector<std::string> cols;
  for (const auto &[c, ty] : t.def->columns) cols.push_back(qi(c));
  if (with_tenant) cols.push_back("client_id");
  pqxx::tablewriter w(tx, dest, cols.begin(), cols.end());
  std::string chunk;
  chunk.reserve(1 << 20);
  size_t n = 0, sent = 0;
  Progress progress("apply: " + t.def->name, "rows sent");
  auto flush = [&] {
    if (chunk.empty()) return;
    chunk.pop_back();  // the writer adds the final newline
    w.write_raw_line(chunk);
    chunk.clear();
    progress.add(n - sent);
    sent = n;
  };
  std::string suffix;  // the tenant column
  if (with_tenant) { suffix = "\t"; copy_escape(suffix, tenant); }
  auto end_row = [&] {
    if (with_tenant) { chunk.pop_back(); chunk += suffix; chunk += '\n'; }
    ++n;
    if (chunk.size() > (1 << 20)) flush();
  };
  if (t.rows) {
    for (const auto &r : t.rows->rows) {
      if (r.dropped) continue;
      append_copy_row(chunk, *t.def, r);
      end_row();
    }
  } else {
    for (const auto &d : t.doc_rows) {
      for (size_t i = 0; i < d.size(); ++i) {
        if (i) chunk += '\t';
        copy_escape(chunk, d[i]);
      }
      chunk += '\n';
      end_row();
    }
  }
  flush();
  w.complete();
  return n;
}

// COPY of rows handed over as COPY text while the registry is still being read.
void copy_stream(pqxx::work &tx, const Target &t, const std::string &dest, bool with_tenant, const std::string &tenant,
                 const std::function<bool(std::string &)> &next) {
  std::vector<std::string> cols;
  for (const auto &[c, ty] : t.def->columns) cols.push_back(qi(c));
  if (with_tenant) cols.push_back("client_id");
  pqxx::tablewriter w(tx, dest, cols.begin(), cols.end());
  std::string suffix;  // the tenant column, added to each row
  if (with_tenant) { suffix = "\t"; copy_escape(suffix, tenant); }
  std::string chunk, lines;
  Progress progress("apply: " + t.def->name, "rows read and sent");
  while (next(chunk)) {
    if (chunk.empty()) continue;
    if (Progress::enabled()) progress.add(static_cast<size_t>(std::count(chunk.begin(), chunk.end(), '\n')));
    if (!suffix.empty()) {
      // Rows end in '\n' (newlines inside values are escaped).
      lines.clear();
      lines.reserve(chunk.size() + chunk.size() / 64 * suffix.size());
      size_t start = 0;
      for (size_t nl; (nl = chunk.find('\n', start)) != std::string::npos; start = nl + 1) {
        lines.append(chunk, start, nl - start);
        lines += suffix;
        lines += '\n';
      }
      chunk.swap(lines);
    }
    chunk.pop_back();  // the writer adds the final newline
    w.write_raw_line(chunk);
  }
  w.complete();
}

size_t live_rows(const Target &t) { return t.rows ? t.rows->live() : t.doc_rows.size(); }

void print_list(std::ostream &out, const char *sign, const pqxx::result &r, size_t cap = 1000) {
  size_t i = 0;
  for (const auto &row : r) {
    if (i++ == cap) { out << "    ... and " << (r.size() - cap) << " more\n"; break; }
    out << "    " << sign << " " << row[0].c_str();
    for (pqxx::row::size_type c = 1; c < row.size(); ++c) out << (c == 1 ? ": " : ", ") << row[c].c_str();
    out << "\n";
  }
}

}  // namespace

void append_copy_row(std::string &out, const TableDef &def, const Row &r) {
  for (size_t i = 0; i < r.cells.size(); ++i) {
    if (i) out += '\t';
    const Cell &c = r.cells[i];
    if (c.null) out += "\\N";
    else if (def.columns[i].second == ColType::TextArray) copy_escape(out, text_array_literal(c.elems));
    else copy_escape(out, c.text);
  }
  out += '\n';
}

std::string file_hashes_json(const std::vector<SourceFile> &files) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto &f : files) j[f.rel] = f.sha256;
  return j.dump();
}

std::string apply_options_text(const ApplyOptions &opt) { return "on_dangling=" + opt.on_dangling + ";mapping=" + opt.mapping_sha256; }

std::optional<long long> try_unchanged_shortcut(pqxx::connection &conn, const Mapping &m, const std::vector<SourceFile> &files,
                                                const ApplyOptions &opt) {
  std::string hashes = file_hashes_json(files);
  pqxx::work tx(conn);
  select_tenant(tx, opt.tenant);
  std::string tenant_lit = tx.quote(opt.tenant);
  auto st = tx.exec_params(
      "SELECT xid_text, row_counts::text, sync_run_id FROM registry_sync.apply_state "
      "WHERE tenant = $1 AND options = $2 AND file_hashes = $3::jsonb AND age(xid_text::xid) < 1000000000",
      opt.tenant, apply_options_text(opt), hashes);
  if (st.empty()) return std::nullopt;
  auto stored = nlohmann::json::parse(st[0][1].c_str());
  std::string xid = st[0][0].c_str();
  std::vector<TableDef> defs(m.tables.begin(), m.tables.end());
  defs.push_back(documents_table_def());
  nlohmann::json counts = nlohmann::json::object();
  std::vector<std::pair<std::string, long long>> kept;
  for (const auto &d : defs) {
    if (!stored.contains(d.name)) return std::nullopt;
    long long want_db = stored[d.name][0].get<long long>(), yaml = stored[d.name][1].get<long long>();
    Target t{&d, nullptr, {}, table_info(tx, d.name), {}, false, {}};
    // Any insert, update or delete since that run shows as a changed count or a newer xmin.
    auto r = tx.exec("SELECT count(*), count(*) FILTER (WHERE age(xmin) < age(" + tx.quote(xid) + "::xid)) FROM public." + qi(d.name) +
                     " t WHERE " + Sql{t, tenant_lit}.tenant_cond("t"));
    long long n = r[0][0].as<long long>(), newer = r[0][1].as<long long>();
    if (n != want_db || newer != 0 || (opt.prune && n != yaml)) return std::nullopt;
    counts[d.name] = {{"inserted", 0}, {"updated", 0}, {"deleted", 0}, {"unchanged", yaml}, {"not_in_yaml", n - std::min(n, yaml)}};
    if (n > yaml) kept.emplace_back(d.name, n - yaml);
  }
  auto id = tx.exec_params1(
      "INSERT INTO registry_sync.sync_runs (kind, tenant, actor, file_hashes, dry_run, status, finished_at, counts) "
      "VALUES ('apply', $1, 'registry-sync apply', $2::jsonb, $3, $4, now(), $5::jsonb) RETURNING id",
      opt.tenant, hashes, opt.dry_run, opt.dry_run ? "dry_run" : "succeeded", counts.dump())[0].as<long long>();
  tx.commit();
  std::ostream &out = *opt.out;
  out << "registry unchanged since sync run " << st[0][2].c_str() << " (same files and mapping, no database change since): 0 rows written\n";
  for (const auto &[name, n] : kept) out << "  " << name << ": " << n << " row(s) not in the YAML (kept; --prune deletes them)\n";
  return id;
}

void check_schema(pqxx::connection &conn, const Mapping &m) {
  pqxx::read_transaction tx(conn);
  // Privileges first, so a role that may not even look at the schema gets a clear message.
  {
    std::vector<std::string> missing;
    auto role = tx.exec("SELECT current_user, has_schema_privilege('registry_sync', 'USAGE') IS NOT FALSE, "
                        "has_database_privilege(current_database(), 'TEMP'), to_regnamespace('registry_sync') IS NOT NULL")[0];
    std::string user = role[0].c_str();
    bool sync_schema = role[3].as<bool>();
    if (sync_schema && !role[1].as<bool>()) missing.push_back("USAGE on schema registry_sync");
    if (!role[2].as<bool>()) missing.push_back("TEMP on the database (apply stages rows in temp tables)");
    std::vector<std::string> tables;
    for (const auto &t : m.tables) tables.push_back("public." + qi(t.name));
    tables.push_back("public.registry_documents");
    if (sync_schema && role[1].as<bool>()) {
      tables.push_back("registry_sync.sync_runs");
      tables.push_back("registry_sync.apply_state");
    }
    for (const auto &t : tables) {
      auto r = tx.exec_params("SELECT to_regclass($1) IS NOT NULL AND NOT has_table_privilege($1, 'SELECT'), "
                              "to_regclass($1) IS NOT NULL AND NOT has_table_privilege($1, 'INSERT'), "
                              "to_regclass($1) IS NOT NULL AND NOT has_table_privilege($1, 'UPDATE'), "
                              "to_regclass($1) IS NOT NULL AND NOT has_table_privilege($1, 'DELETE')", t)[0];
      std::string privs;
      const char *names[] = {"SELECT", "INSERT", "UPDATE", "DELETE"};
      // Its own bookkeeping is only inserted and updated (runs and apply state are never deleted).
      int needed = t.rfind("registry_sync.", 0) == 0 ? 3 : 4;
      for (int i = 0; i < needed; ++i)
        if (r[i].as<bool>()) privs += (privs.empty() ? "" : ", ") + std::string(names[i]);
      if (!privs.empty()) missing.push_back(privs + " on " + t);
    }
    if (!missing.empty()) {
      std::string msg = "role " + user + " lacks privileges apply needs:";
      for (const auto &x : missing) msg += "\n  " + x;
      msg += "\ngrant them, or connect as the registry's owner; nothing was changed";
      throw DatabaseError(msg);
    }
  }
  std::vector<std::string> problems;
  std::vector<TableDef> defs(m.tables.begin(), m.tables.end());
  defs.push_back(documents_table_def());
  for (const auto &d : defs) {
    TableInfo ti = table_info(tx, d.name);
    if (ti.columns.empty()) { problems.push_back("table public." + d.name + " does not exist"); continue; }
    for (const auto &[c, ty] : d.columns) {
      auto it = ti.columns.find(c);
      if (it == ti.columns.end()) problems.push_back("public." + d.name + " has no column " + c);
      else if (!type_matches(it->second, ty))
        problems.push_back("public." + d.name + "." + c + " is " + it->second + ", the mapping expects " + col_type_name(ty));
    }
  }
  for (const char *rel : {"registry_sync.sync_runs", "registry_sync.apply_state"}) {
    auto r = tx.exec_params("SELECT to_regclass($1) IS NOT NULL", std::string(rel));
    if (!r[0][0].as<bool>()) problems.push_back(std::string("table ") + rel + " does not exist");
  }
  if (problems.empty()) return;
  std::string msg = "the database schema is behind the mapping (" + m.path + "):";
  for (const auto &p : problems) msg += "\n  " + p;
  msg += "\nrun 'registry-sync migrate' first (or fix the mapping); nothing was changed";
  throw OperationError(msg);
}

ApplyResult apply_registry(pqxx::connection &conn, const Mapping &m, const Registry &reg, const ApplyOptions &opt, ApplyStream *stream) {
  std::ostream &out = *opt.out;
  ApplyResult res;
  auto t_start = Clock::now();
  TableDef docdef = documents_table_def();
  std::vector<Target> targets;
  for (const auto &tr : reg.tables) targets.push_back(Target{tr.def, &tr, {}, {}, {}, false, {}});
  // Documents are built when their turn comes (a streaming run is still reading them now).
  targets.push_back(Target{&docdef, nullptr, {}, {}, {}, false, {}});
  // A streaming run knows the files' hashes from the unchanged-input check; the files it
  // reads are those bytes (LoadOptions::preread), and the hashes are taken again at the end.
  std::string hashes = stream ? stream->file_hashes : file_hashes_json(reg.files);
  std::string options = apply_options_text(opt);

  auto start_run = [&](pqxx::work &tx) {
    tx.exec("UPDATE registry_sync.sync_runs SET status = 'failed', finished_at = now(), "
            "error = 'abandoned: the process ended before finishing (killed or disconnected); its transaction was rolled back' "
            "WHERE kind = 'apply' AND status = 'running'");
    auto r = tx.exec_params1(
        "INSERT INTO registry_sync.sync_runs (kind, tenant, actor, file_hashes, dry_run) "
        "VALUES ('apply', $1, 'registry-sync apply', $2::jsonb, $3) RETURNING id",
        opt.tenant, hashes, opt.dry_run);
    res.sync_run_id = r[0].as<long long>();
  };
  // The run record lives outside the data transaction so a failed run is still recorded. A
  // streaming run writes it inside (a validation failure found while the rows were already
  // going in must leave nothing behind) and records a failure afterwards instead.
  if (!stream) {
    pqxx::work tx(conn);
    start_run(tx);
    tx.commit();
  }

  nlohmann::json counts = nlohmann::json::object();
  try {
    pqxx::work tx(conn);
    if (stream) start_run(tx);
    select_tenant(tx, opt.tenant);
    std::string tenant_lit = tx.quote(opt.tenant);
    tx.exec("SET LOCAL registry_guard.actor = 'registry-sync apply'");
    tx.exec("SET LOCAL registry_guard.sync_run_id = " + std::to_string(res.sync_run_id));
    for (auto &t : targets) {
      t.info = table_info(tx, t.def->name);
      t.info.hr = !t.def->hr_link_column.empty() && t.info.columns.count(t.def->hr_link_column);
      t.info.hr_created = !t.def->hr_created_column.empty() && t.info.columns.count(t.def->hr_created_column);
    }

    // Stage and merge, referenced tables first.
    for (size_t ti = 0; ti < targets.size(); ++ti) {
      Target &t = targets[ti];
      if (!t.rows)
        for (const auto &doc : reg.documents) t.doc_rows.push_back({reg.files[doc.file].rel, doc.key, doc.json});
      Sql q{t, tenant_lit};
      auto t0 = Clock::now();
      bool empty = tx.exec("SELECT NOT EXISTS (SELECT 1 FROM " + q.tbl() + " t WHERE " + q.tenant_cond("t") + ")")[0][0].as<bool>();
      bool streamed = stream && ti == stream->table;
      if (streamed) {
        // The rows go in while the registry is still being read: straight into an empty table
        // (through a stage where row-level security applies), else into the stage to merge.
        std::string dest = q.tbl(), direct_stage;
        bool with_tenant = t.info.tenant;
        if (!empty) {
          t.stage = "rg_stage_" + std::to_string(ti);
          dest = t.stage;
          with_tenant = false;
        } else if (tx.exec("SELECT pg_catalog.row_security_active(" + tx.quote(q.tbl()) + "::regclass)")[0][0].as<bool>()) {
          direct_stage = dest = "rg_direct_" + std::to_string(ti);
        }
        std::string cols = q.cols() + (with_tenant ? ", client_id" : "");
        if (dest != q.tbl()) tx.exec("CREATE TEMP TABLE " + dest + " ON COMMIT DROP AS SELECT " + cols + " FROM " + q.tbl() + " WITH NO DATA");
        try {
          copy_stream(tx, t, dest, with_tenant, opt.tenant, stream->next_chunk);
        } catch (const std::exception &) {
          // Rows a later validation error would have refused can fail in the database first:
          // the user gets the validation errors, as without streaming.
          if (!stream->finish()) { res.validation_failed = true; res.sync_run_id = 0; return res; }
          throw;
        }
        if (!stream->finish()) {
          tx.abort();
          res.validation_failed = true;
          res.sync_run_id = 0;
          return res;
        }
        hashes = file_hashes_json(reg.files);
        if (empty) {
          size_t n = live_rows(t);
          t.counts.inserted = n;
          if (!direct_stage.empty()) tx.exec("INSERT INTO " + q.tbl() + " (" + cols + ") SELECT " + cols + " FROM " + direct_stage);
          res.rows_written += n;
        }
      }
      size_t n = live_rows(t);
      if (streamed && empty) {
        // written above
      } else if (empty) {
        // Nothing to compare against: every row is new.
        t.counts.inserted = n;
        if (opt.dry_run) {
          out << t.def->name << ": " << n << " added\n";
        } else if (n && !tx.exec("SELECT pg_catalog.row_security_active(" + tx.quote(q.tbl()) + "::regclass)")[0][0].as<bool>()) {
          copy_rows(tx, t, q.tbl(), t.info.tenant, opt.tenant);
          res.rows_written += n;
        } else if (n) {
          // COPY FROM is refused where row-level security applies to the role (registry-sync's
          // own role has no BYPASSRLS): stage the rows, then INSERT them under the policies.
          std::string stage = "rg_direct_" + std::to_string(ti);
          std::string cols = q.cols() + (t.info.tenant ? ", client_id" : "");
          tx.exec("CREATE TEMP TABLE " + stage + " ON COMMIT DROP AS SELECT " + cols + " FROM " + q.tbl() + " WITH NO DATA");
          copy_rows(tx, t, stage, t.info.tenant, opt.tenant);
          tx.exec("INSERT INTO " + q.tbl() + " (" + cols + ") SELECT " + cols + " FROM " + stage);
          res.rows_written += n;
        }
      } else {
        if (!streamed) {
          t.stage = "rg_stage_" + std::to_string(ti);
          tx.exec("CREATE TEMP TABLE " + t.stage + " ON COMMIT DROP AS SELECT " + q.cols() + " FROM " + q.tbl() + " WITH NO DATA");
          copy_rows(tx, t, t.stage, false, opt.tenant);
        }
        if (n > 1000) tx.exec("ANALYZE " + t.stage);
        t.staged = true;
        std::string s = t.stage + " s";
        std::string match = "EXISTS (SELECT 1 FROM " + q.tbl() + " t WHERE " + q.join("t", "s") + ")";
        std::string in_stage = "EXISTS (SELECT 1 FROM " + s + " WHERE " + q.join("t", "s") + ")";
        std::string owned = t.def->owner.empty() ? "false" : "t." + qi(t.def->owner) + " IN (SELECT " + qi(t.def->owner) + " FROM " + t.stage + ")";
        if (opt.dry_run) {
          auto added = tx.exec("SELECT " + q.label("s") + " FROM " + s + " WHERE NOT " + match + " ORDER BY 1");
          std::string flags;
          for (const auto &[c, ty] : t.def->columns)
            if (!q.is_key(c)) flags += ", CASE WHEN " + q.distinct(c) + " THEN " + quote_literal(c) + " END";
          auto changed = tx.exec("SELECT " + q.label("s") + ", concat_ws(', '" + flags + ") FROM " + s + " JOIN " + q.tbl() + " t ON " +
                                 q.join("t", "s") + " WHERE " + q.any_distinct() + " ORDER BY 1");
          auto missing = tx.exec("SELECT " + q.label("t") + ", CASE WHEN " + owned + " THEN 'removed from its list' END FROM " + q.tbl() +
                                 " t WHERE " + q.tenant_cond("t") + " AND NOT " + in_stage + q.not_hr_created("t") + " ORDER BY 1");
          t.counts.inserted = added.size();
          t.counts.updated = changed.size();
          size_t owned_missing = 0;
          for (const auto &r : missing) owned_missing += !r[1].is_null();
          t.counts.deleted = owned_missing + (opt.prune ? missing.size() - owned_missing : 0);
          t.counts.not_in_yaml = opt.prune ? 0 : missing.size() - owned_missing;
          t.counts.unchanged = n - added.size() - changed.size();
          out << t.def->name << ": " << added.size() << " added, " << changed.size() << " changed, " << t.counts.deleted << " removed"
              << (t.counts.not_in_yaml ? ", " + std::to_string(t.counts.not_in_yaml) + " not in the YAML (kept; --prune deletes them)" : "")
              << ", " << t.counts.unchanged << " unchanged\n";
          print_list(out, "+", added);
          print_list(out, "~", changed);
          for (const auto &r : missing) {
            bool del = !r[1].is_null() || opt.prune;
            out << "    " << (del ? "-" : "?") << " " << r[0].c_str() << (del ? "" : " (not in the YAML; kept)") << "\n";
          }
        } else {
          if (!t.def->owner.empty()) {
            // Link rows of a parent in the YAML are that parent's list: replace changed and
            // removed ones (delete first, so unique positions never collide mid-statement).
            auto ch = tx.exec("SELECT count(*) FROM " + s + " JOIN " + q.tbl() + " t ON " + q.join("t", "s") + " WHERE " + q.any_distinct());
            t.counts.updated = ch[0][0].as<size_t>();
            auto del = tx.exec("DELETE FROM " + q.tbl() + " t WHERE " + q.tenant_cond("t") + " AND " + owned + " AND NOT EXISTS (SELECT 1 FROM " +
                               s + " WHERE " + q.join("t", "s") + " AND NOT (" + q.any_distinct() + "))");
            t.counts.deleted = del.affected_rows() - t.counts.updated;
            auto ins = tx.exec("INSERT INTO " + q.tbl() + " (" + q.cols() + (t.info.tenant ? ", client_id" : "") + ") SELECT " + q.cols("s.") +
                               (t.info.tenant ? ", " + tenant_lit : "") + " FROM " + s + " WHERE NOT " + match);
            t.counts.inserted = ins.affected_rows() - t.counts.updated;
            res.rows_written += del.affected_rows() + ins.affected_rows();
          } else {
            std::string set;
            for (const auto &[c, ty] : t.def->columns) {
              if (q.is_key(c)) continue;
              set += (set.empty() ? "" : ", ") + qi(c) + " = ";
              if (q.hr_owned(c)) set += "CASE WHEN t." + qi(t.def->hr_link_column) + " IS NULL THEN s." + qi(c) + " ELSE t." + qi(c) + " END";
              else set += "s." + qi(c);
            }
            if (!set.empty()) {
              auto up = tx.exec("UPDATE " + q.tbl() + " t SET " + set + " FROM " + s + " WHERE " + q.join("t", "s") + " AND (" + q.any_distinct() + ")");
              t.counts.updated = up.affected_rows();
            }
            auto ins = tx.exec("INSERT INTO " + q.tbl() + " (" + q.cols() + (t.info.tenant ? ", client_id" : "") + ") SELECT " + q.cols("s.") +
                               (t.info.tenant ? ", " + tenant_lit : "") + " FROM " + s + " WHERE NOT " + match);
            t.counts.inserted = ins.affected_rows();
            res.rows_written += t.counts.updated + t.counts.inserted;
          }
          t.counts.unchanged = n - t.counts.inserted - t.counts.updated;
        }
      }
      if (opt.progress && n > 10000) {
        char buf[200];
        std::snprintf(buf, sizeof buf, "registry-sync: %s: %zu rows staged and merged in %.2f s\n", t.def->name.c_str(), n, secs(t0));
        *opt.progress << buf << std::flush;
      }
    }

    // HR in use: YAML principals that HR does not know are reported, never duplicated.
    for (const auto &t : targets) {
      if (!t.info.hr || !t.rows) continue;
      Sql q{t, tenant_lit};
      auto hr = tx.exec("SELECT count(*) FILTER (WHERE t." + qi(t.def->hr_link_column) + " IS NOT NULL), string_agg(" + q.label("t") +
                        ", ', ' ORDER BY " + q.label("t") + ") FILTER (WHERE t." + qi(t.def->hr_link_column) + " IS NULL) FROM " + q.tbl() +
                        " t WHERE " + q.tenant_cond("t"));
      if (hr[0][0].as<long long>() > 0 && !hr[0][1].is_null())
        out << t.def->name << ": not in HR (no " << t.def->hr_link_column << "; link them with employee_id or email): " << hr[0][1].c_str() << "\n";
    }

    // Rows no longer in the YAML: deleted with --prune (dependent tables first), else reported.
    if (!opt.dry_run) {
      for (size_t i = targets.size(); i-- > 0;) {
        Target &t = targets[i];
        if (!t.staged) continue;
        Sql q{t, tenant_lit};
        std::string s = t.stage + " s";
        std::string in_stage = "EXISTS (SELECT 1 FROM " + s + " WHERE " + q.join("t", "s") + ")";
        std::string where = q.tenant_cond("t") + " AND NOT " + in_stage + q.not_hr_created("t");
        if (opt.prune) {
          auto del = tx.exec("DELETE FROM " + q.tbl() + " t WHERE " + where);
          t.counts.deleted += del.affected_rows();
          res.rows_written += del.affected_rows();
        } else {
          auto keep = tx.exec("SELECT " + q.label("t") + " FROM " + q.tbl() + " t WHERE " + where + " ORDER BY 1");
          t.counts.not_in_yaml = keep.size();
          if (!keep.empty()) {
            out << t.def->name << ": " << keep.size() << " row(s) not in the YAML, kept (--prune deletes them):\n";
            print_list(out, "?", keep, 50);
          }
        }
      }
      for (const auto &t : targets)
        out << t.def->name << ": " << t.counts.inserted << " inserted, " << t.counts.updated << " updated, " << t.counts.deleted
            << " deleted, " << t.counts.unchanged << " unchanged\n";
    }

    for (const auto &t : targets)
      counts[t.def->name] = {{"inserted", t.counts.inserted}, {"updated", t.counts.updated}, {"deleted", t.counts.deleted},
                             {"unchanged", t.counts.unchanged}, {"not_in_yaml", t.counts.not_in_yaml}};
    if (!opt.dry_run) {
      // Remember what this run left behind, for the unchanged-input shortcut.
      nlohmann::json rc = nlohmann::json::object();
      for (auto &t : targets) {
        Sql q{t, tenant_lit};
        long long db = tx.exec("SELECT count(*) FROM " + q.tbl() + " t WHERE " + q.tenant_cond("t"))[0][0].as<long long>();
        rc[t.def->name] = {db, static_cast<long long>(live_rows(t))};
      }
      tx.exec_params(
          "INSERT INTO registry_sync.apply_state (tenant, sync_run_id, options, file_hashes, row_counts, xid_text, applied_at) "
          "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, (txid_current() % 4294967296)::text, now()) "
          "ON CONFLICT (tenant) DO UPDATE SET sync_run_id = EXCLUDED.sync_run_id, options = EXCLUDED.options, "
          "file_hashes = EXCLUDED.file_hashes, row_counts = EXCLUDED.row_counts, xid_text = EXCLUDED.xid_text, applied_at = now()",
          opt.tenant, res.sync_run_id, options, hashes, rc.dump());
    }
    tx.exec_params("UPDATE registry_sync.sync_runs SET status = $2, finished_at = now(), counts = $3::jsonb, file_hashes = $4::jsonb WHERE id = $1",
                   res.sync_run_id, opt.dry_run ? "dry_run" : "succeeded", counts.dump(), hashes);
    if (opt.dry_run) {
      tx.abort();  // the temp stages only; the run record above is re-written below
      pqxx::work tx2(conn);
      tx2.exec_params("UPDATE registry_sync.sync_runs SET status = 'dry_run', finished_at = now(), counts = $2::jsonb WHERE id = $1",
                      res.sync_run_id, counts.dump());
      tx2.commit();
    } else {
      tx.commit();
    }
  } catch (const std::exception &e) {
    std::string err = describe_error(e);
    try {
      pqxx::work tx(conn);
      if (stream)  // its run record went with the rolled-back transaction
        tx.exec_params("INSERT INTO registry_sync.sync_runs (kind, tenant, actor, file_hashes, dry_run, status, finished_at, error) "
                       "VALUES ('apply', $1, 'registry-sync apply', $2::jsonb, $3, 'failed', now(), $4)",
                       opt.tenant, hashes, opt.dry_run, err);
      else
        tx.exec_params("UPDATE registry_sync.sync_runs SET status = 'failed', finished_at = now(), error = $2 WHERE id = $1",
                       res.sync_run_id, err);
      tx.commit();
    } catch (const std::exception &e2) {
      spdlog::warn("could not record the failure in registry_sync.sync_runs: {}", describe_error(e2));
    }
    throw;
  }
  size_t total = 0;
  for (const auto &t : targets) total += live_rows(t);
  if (opt.progress && total > 10000) {
    char buf[100];
    std::snprintf(buf, sizeof buf, "registry-sync: database work took %.2f s\n", secs(t_start));
    *opt.progress << buf << std::flush;
  }
  return res;
}

}  // namespace rgsync
