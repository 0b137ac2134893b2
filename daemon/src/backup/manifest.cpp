// Manifest of a registry database and the comparison of a restored database with it
// (registry-sync manifest / verify-restore).
#include "backup/manifest.hpp"

#include <pqxx/pqxx>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

#include "common/errors.hpp"

namespace rgsync {

namespace {

using json = nlohmann::ordered_json;
const char *const kFormat = "registry-sync manifest 1";

std::string in_list(pqxx::transaction_base &tx, const std::vector<std::string> &values) {
  std::string out;
  for (const auto &v : values) out += (out.empty() ? "" : ", ") + tx.quote(v);
  return out.empty() ? "NULL" : out;
}

std::string describe_seal(const SealHead &h) {
  if (h.id == 0) return "nothing sealed";
  return "id " + std::to_string(h.id) + " hash " + h.hash.substr(0, 16) + "...";
}

}  // namespace

std::vector<std::string> default_manifest_schemas() {
  return {"public", "audit", "guard", "registry_sync", "registry_private", "supabase_migrations"};
}

Manifest take_manifest(pqxx::connection_base &conn, const std::vector<std::string> &schemas) {
  Manifest m;
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(conn);
  // Counts under row-level security would be those of the rows this role may see: with
  // row_security off PostgreSQL refuses such a query (42501, naming the table) instead.
  tx.exec("SET LOCAL row_security = off");
  // The first statement takes the snapshot; its clock is the manifest's time.
  auto head = tx.exec(
      "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
      "current_database(), current_setting('server_version')");
  m.taken_at = head[0][0].c_str();
  m.database = head[0][1].c_str();
  m.server_version = head[0][2].c_str();
  for (const auto &row : tx.exec("SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname IN (" + in_list(tx, schemas) +
                                 ") ORDER BY nspname"))
    m.schemas.push_back(row[0].c_str());
  auto tables = tx.exec(
      "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname IN (" + in_list(tx, m.schemas) +
      ") ORDER BY 1, 2");
  for (const auto &t : tables) {
    std::string schema = t[0].c_str(), name = t[1].c_str();
    // Sorted per-row digests: independent of physical order, bounded memory per row.
    auto r = tx.exec("SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '-') FROM "
                     "(SELECT md5(\"registry-sync manifest row\"::text) AS h FROM " + tx.quote_name(schema) + "." +
                     tx.quote_name(name) + " AS \"registry-sync manifest row\") d");
    m.tables[schema + "." + name] = TableState{r[0][0].as<long long>(), r[0][1].c_str()};
  }
  if (!tx.exec("SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
               "WHERE n.nspname = 'supabase_migrations' AND c.relname = 'schema_migrations'").empty() &&
      std::find(m.schemas.begin(), m.schemas.end(), "supabase_migrations") != m.schemas.end()) {
    for (const auto &row : tx.exec("SELECT version FROM supabase_migrations.schema_migrations ORDER BY version"))
      m.migrations.push_back(row[0].c_str());
  }
  auto ext = tx.exec("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'registry_guard'");
  if (!ext.empty()) m.extension_version = ext[0][0].c_str();
  if (!tx.exec("SELECT 1 WHERE to_regprocedure('audit.seal_head()') IS NOT NULL AND to_regprocedure('audit.verify()') IS NOT NULL")
           .empty() &&
      std::find(m.schemas.begin(), m.schemas.end(), "audit") != m.schemas.end()) {
    SealHead h;
    auto s = tx.exec("SELECT id, encode(hash, 'hex') FROM audit.seal_head()");
    if (!s.empty() && !s[0][0].is_null()) h = SealHead{s[0][0].as<long long>(), s[0][1].c_str()};
    m.seal_head = h;
    // audit.verify() is not for PUBLIC: a role without EXECUTE gets a manifest without the
    // chain check (verify-restore then compares the seal head only).
    if (tx.exec("SELECT has_function_privilege('audit.verify()', 'EXECUTE')")[0][0].as<bool>()) {
      auto v = tx.exec("SELECT ok, first_bad_id, problem FROM audit.verify()");
      m.audit_ok = v[0][0].as<bool>();
      if (!*m.audit_ok)
        m.audit_problem = "first bad version " + std::string(v[0][1].is_null() ? "?" : v[0][1].c_str()) + ": " +
                          (v[0][2].is_null() ? "" : v[0][2].c_str());
    }
  }
  tx.commit();
  return m;
}

std::string manifest_to_json(const Manifest &m) {
  json j;
  j["format"] = kFormat;
  j["taken_at"] = m.taken_at;
  j["database"] = m.database;
  j["server_version"] = m.server_version;
  j["schemas"] = m.schemas;
  json tables = json::object();
  for (const auto &[name, t] : m.tables) tables[name] = {{"rows", t.rows}, {"checksum", t.checksum}};
  j["tables"] = tables;
  j["migrations"] = m.migrations;
  j["extension_version"] = m.extension_version ? json(*m.extension_version) : json(nullptr);
  if (m.seal_head) {
    j["audit"] = {{"seal_head_id", m.seal_head->id}, {"seal_head_hash", m.seal_head->hash},
                  {"verify_ok", m.audit_ok ? json(*m.audit_ok) : json(nullptr)}, {"verify_problem", m.audit_problem}};
  } else {
    j["audit"] = nullptr;
  }
  return j.dump(2) + "\n";
}

Manifest manifest_from_json(const std::string &text, const std::string &source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception &e) {
    throw UsageError(source + ": not valid JSON (" + e.what() + "); give a file written by registry-sync manifest");
  }
  if (!j.is_object() || !j.contains("format") || j["format"] != kFormat)
    throw UsageError(source + ": not a registry-sync manifest (expected \"format\": \"" + kFormat +
                     "\"); give a file written by registry-sync manifest");
  Manifest m;
  try {
    m.taken_at = j.at("taken_at").get<std::string>();
    m.database = j.at("database").get<std::string>();
    m.server_version = j.at("server_version").get<std::string>();
    m.schemas = j.at("schemas").get<std::vector<std::string>>();
    for (const auto &[name, t] : j.at("tables").items())
      m.tables[name] = TableState{t.at("rows").get<long long>(), t.at("checksum").get<std::string>()};
    m.migrations = j.at("migrations").get<std::vector<std::string>>();
    if (!j.at("extension_version").is_null()) m.extension_version = j["extension_version"].get<std::string>();
    const json &a = j.at("audit");
    if (!a.is_null()) {
      m.seal_head = SealHead{a.at("seal_head_id").get<long long>(), a.at("seal_head_hash").get<std::string>()};
      if (!a.at("verify_ok").is_null()) m.audit_ok = a["verify_ok"].get<bool>();
      m.audit_problem = a.at("verify_problem").get<std::string>();
    }
  } catch (const json::exception &e) {
    throw UsageError(source + ": damaged manifest (" + e.what() + ")");
  }
  return m;
}

void write_manifest_file(const Manifest &m, const std::string &path) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw UsageError(path + ": cannot write the manifest (" + std::strerror(errno) + ")");
    out << manifest_to_json(m);
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw UsageError(path + ": cannot write the manifest (" + std::strerror(errno) + ")");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    std::remove(tmp.c_str());
    throw UsageError(path + ": cannot write the manifest (" + std::strerror(e) + ")");
  }
}

Manifest read_manifest_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(path + ": cannot read the manifest (" + std::strerror(errno) + ")");
  std::stringstream ss;
  ss << in.rdbuf();
  return manifest_from_json(ss.str(), path);
}

std::vector<std::string> compare_manifests(const Manifest &expected, const Manifest &actual) {
  std::vector<std::string> diffs;
  std::set<std::string> have(actual.schemas.begin(), actual.schemas.end());
  for (const auto &s : expected.schemas)
    if (!have.count(s)) diffs.push_back("schema " + s + ": missing (the manifest has it)");
  std::set<std::string> wanted(expected.schemas.begin(), expected.schemas.end());
  for (const auto &s : actual.schemas)
    if (!wanted.count(s)) diffs.push_back("schema " + s + ": not in the manifest");
  for (const auto &[name, e] : expected.tables) {
    auto it = actual.tables.find(name);
    if (it == actual.tables.end()) {
      diffs.push_back("table " + name + ": missing (the manifest has " + std::to_string(e.rows) + " rows)");
    } else if (it->second.rows != e.rows) {
      diffs.push_back("table " + name + ": " + std::to_string(it->second.rows) + " rows, the manifest has " +
                      std::to_string(e.rows));
    } else if (it->second.checksum != e.checksum) {
      diffs.push_back("table " + name + ": " + std::to_string(e.rows) + " rows as in the manifest, but their content differs (checksum " +
                      it->second.checksum + ", the manifest has " + e.checksum + ")");
    }
  }
  for (const auto &[name, a] : actual.tables)
    if (!expected.tables.count(name))
      diffs.push_back("table " + name + ": not in the manifest (" + std::to_string(a.rows) + " rows)");
  std::set<std::string> applied(actual.migrations.begin(), actual.migrations.end());
  std::set<std::string> recorded(expected.migrations.begin(), expected.migrations.end());
  for (const auto &v : expected.migrations)
    if (!applied.count(v)) diffs.push_back("migration " + v + ": applied in the manifest, not here");
  for (const auto &v : actual.migrations)
    if (!recorded.count(v)) diffs.push_back("migration " + v + ": applied here, not in the manifest");
  if (expected.extension_version != actual.extension_version)
    diffs.push_back("extension registry_guard: " + actual.extension_version.value_or("not installed") +
                    ", the manifest has " + expected.extension_version.value_or("not installed"));
  if (expected.seal_head && !actual.seal_head) {
    diffs.push_back("audit trail: missing (the manifest has seal head " + describe_seal(*expected.seal_head) + ")");
  } else if (expected.seal_head && actual.seal_head &&
             (expected.seal_head->id != actual.seal_head->id || expected.seal_head->hash != actual.seal_head->hash)) {
    diffs.push_back("audit seal head: " + describe_seal(*actual.seal_head) + ", the manifest has " +
                    describe_seal(*expected.seal_head));
  } else if (!expected.seal_head && actual.seal_head) {
    diffs.push_back("audit trail: present here, not in the manifest");
  }
  if (actual.audit_ok && !*actual.audit_ok)
    diffs.push_back("audit.verify(): the chain does not verify (" + actual.audit_problem +
                    "); see docs/runbooks/audit-verify-failed.md");
  return diffs;
}

}  // namespace rgsync
