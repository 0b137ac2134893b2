// Reads and writes the Supabase-compatible migration history (see migration_history.hpp).
#include "migrate/history.hpp"
#include "db/sql.hpp"

#include <pqxx/array>
#include <pqxx/result>
#include <pqxx/row>

namespace rgsync {

namespace {
bool relation_exists(pqxx::transaction_base &tx, const std::string &qualified) {
  return !tx.exec1("SELECT to_regclass(" + tx.quote(qualified) + ") IS NULL")[0].as<bool>();
}

std::vector<std::string> parse_text_array(const pqxx::field &f) {
  std::vector<std::string> out;
  if (f.is_null()) return out;
  pqxx::array_parser parser = f.as_array();
  for (auto item = parser.get_next(); item.first != pqxx::array_parser::done; item = parser.get_next()) {
    if (item.first == pqxx::array_parser::string_value) out.push_back(item.second);
    else if (item.first == pqxx::array_parser::null_value) out.emplace_back();
  }
  return out;
}
}  // namespace

std::string to_pg_text_array(const std::vector<std::string> &values) { return text_array_literal(values); }

bool history_exists(pqxx::transaction_base &tx) {
  return relation_exists(tx, "supabase_migrations.schema_migrations");
}

void ensure_history(pqxx::transaction_base &tx) {
  bool schema = tx.exec1("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'supabase_migrations')")[0].as<bool>();
  if (!schema) tx.exec0("CREATE SCHEMA supabase_migrations");
  if (!history_exists(tx))
    tx.exec0("CREATE TABLE supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)");
  // The CLI adds its columns one by one; older CLI versions created the table without them.
  auto cols = tx.exec(
      "SELECT attname FROM pg_attribute WHERE attrelid = 'supabase_migrations.schema_migrations'::regclass "
      "AND attnum > 0 AND NOT attisdropped");
  bool has_statements = false, has_name = false;
  for (const auto &r : cols) {
    std::string c = r[0].as<std::string>();
    has_statements |= c == "statements";
    has_name |= c == "name";
  }
  if (!has_statements) tx.exec0("ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN statements text[]");
  if (!has_name) tx.exec0("ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN name text");
  if (!relation_exists(tx, "supabase_migrations.registry_sync_checksums")) {
    tx.exec0(
        "CREATE TABLE supabase_migrations.registry_sync_checksums ("
        " version text PRIMARY KEY,"
        " name text NOT NULL,"
        " checksum text NOT NULL,"              // sha256 of the file's bytes
        " applied_at timestamptz NOT NULL DEFAULT now(),"
        " applied_by text NOT NULL DEFAULT current_user,"
        " adopted boolean NOT NULL DEFAULT false,"  // baseline run over a January 2026 database
        " repaired_at timestamptz)");               // an edited file accepted by `repair`
    tx.exec0("COMMENT ON TABLE supabase_migrations.registry_sync_checksums IS "
             "'registry-sync: sha256 of each applied migration file, next to the Supabase CLI history'");
  }
}

std::map<std::string, HistoryRow> read_history(pqxx::transaction_base &tx) {
  std::map<std::string, HistoryRow> out;
  if (!history_exists(tx)) return out;
  bool side = relation_exists(tx, "supabase_migrations.registry_sync_checksums");
  auto has_col = [&](const char *col) {
    return tx.exec1("SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "
                    "'supabase_migrations.schema_migrations'::regclass AND attname = " + tx.quote(col) +
                    " AND NOT attisdropped)")[0].as<bool>();
  };
  std::string statements = has_col("statements") ? "h.statements" : "NULL::text[]";
  std::string name = has_col("name") ? "coalesce(h.name, '')" : "''";
  std::string sql = "SELECT h.version, " + name + ", " + statements;
  if (side)
    sql += ", c.checksum, coalesce(to_char(c.applied_at, 'YYYY-MM-DD HH24:MI:SSOF'), ''), coalesce(c.adopted, false), "
           "c.repaired_at IS NOT NULL FROM supabase_migrations.schema_migrations h "
           "LEFT JOIN supabase_migrations.registry_sync_checksums c ON c.version = h.version";
  else
    sql += ", NULL::text, '', false, false FROM supabase_migrations.schema_migrations h";
  for (const auto &r : tx.exec(sql)) {
    HistoryRow row;
    row.version = r[0].as<std::string>();
    row.name = r[1].as<std::string>();
    row.statements = parse_text_array(r[2]);
    if (!r[3].is_null()) row.checksum = r[3].as<std::string>();
    row.applied_at = r[4].as<std::string>();
    row.adopted = r[5].as<bool>();
    row.repaired = r[6].as<bool>();
    out[row.version] = std::move(row);
  }
  return out;
}

void record_applied(pqxx::transaction_base &tx, const std::string &version, const std::string &name,
                    const std::vector<std::string> &statements, const std::string &checksum, bool adopted) {
  tx.exec_params("INSERT INTO supabase_migrations.schema_migrations (version, name, statements) VALUES ($1, $2, $3::text[])",
                 version, name, to_pg_text_array(statements));
  tx.exec_params("INSERT INTO supabase_migrations.registry_sync_checksums (version, name, checksum, adopted) "
                 "VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO UPDATE SET name = excluded.name, "
                 "checksum = excluded.checksum, applied_at = now(), applied_by = current_user, "
                 "adopted = excluded.adopted, repaired_at = NULL",
                 version, name, checksum, adopted);
}

void record_checksum(pqxx::transaction_base &tx, const std::string &version, const std::string &name,
                     const std::string &checksum) {
  tx.exec_params("INSERT INTO supabase_migrations.registry_sync_checksums (version, name, checksum) "
                 "VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING",
                 version, name, checksum);
}

void record_repair(pqxx::transaction_base &tx, const std::string &version, const std::string &name,
                   const std::vector<std::string> &statements, const std::string &checksum) {
  tx.exec_params("UPDATE supabase_migrations.schema_migrations SET name = $2, statements = $3::text[] WHERE version = $1",
                 version, name, to_pg_text_array(statements));
  tx.exec_params("INSERT INTO supabase_migrations.registry_sync_checksums (version, name, checksum, repaired_at) "
                 "VALUES ($1, $2, $3, now()) ON CONFLICT (version) DO UPDATE SET name = excluded.name, "
                 "checksum = excluded.checksum, repaired_at = now()",
                 version, name, checksum);
}

}  // namespace rgsync
