// SQL for HR sync (see hr_store.hpp). Bulk writes go through one jsonb_to_recordset statement
// per kind, so 50k changes are two round trips, not 50k.
#include "hr/store.hpp"

#include <pqxx/pqxx>

#include <regex>
#include <stdexcept>

#include "common/errors.hpp"
#include "db/sql.hpp"

namespace rgsync::hr {

namespace {

const char *kProfileColumns[] = {"employee_id", "email", "name", "first_name", "last_name",
                                 "title", "department", "manager_id", "status"};

Value opt(const pqxx::field &f) { return f.is_null() ? Value{} : Value(f.c_str()); }

nlohmann::json jv(const Value &v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

HrStore::HrStore(pqxx::transaction_base &tx, std::string tenant) : tx_(tx), tenant_(std::move(tenant)) {
  auto r = tx_.exec("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('public.principal_profiles') "
                    "AND attname = 'client_id' AND NOT attisdropped)");
  tenanted_ = r[0][0].as<bool>();
}

void HrStore::check_schema() {
  auto r = tx_.exec(
      "SELECT to_regclass('public.principal_profiles') IS NOT NULL, "
      "       (SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('public.principal_profiles') AND NOT attisdropped "
      "          AND attname IN ('employee_id','email','manager_id','status','hr_source','hr_created','last_hr_sync_at')), "
      "       to_regclass('registry_sync.sync_runs') IS NOT NULL AND to_regclass('registry_sync.watermarks') IS NOT NULL "
      "       AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('registry_sync.watermarks') "
      "                   AND attname = 'value' AND atttypid = 'pg_catalog.timestamptz'::pg_catalog.regtype)");
  if (!r[0][0].as<bool>() || r[0][1].as<long>() != 7 || !r[0][2].as<bool>())
    throw OperationError("the database lacks the HR sync schema (principal_profiles HR columns, registry_sync.sync_runs, "
                         "registry_sync.watermarks): run 'registry-sync migrate' first");
}

std::vector<Profile> HrStore::load_profiles() {
  std::string sql = "SELECT id, employee_id, email, name, first_name, last_name, title, department, manager_id, status, hr_source "
                    "FROM public.principal_profiles";
  pqxx::result r = tenanted_ ? tx_.exec_params(sql + " WHERE client_id::text = $1", tenant_) : tx_.exec(sql);
  std::vector<Profile> out;
  out.reserve(r.size());
  for (const auto &row : r) {
    Profile p;
    p.id = row[0].c_str();
    for (size_t i = 0; i < std::size(kProfileColumns); ++i) p.columns[kProfileColumns[i]] = opt(row[static_cast<int>(i) + 1]);
    p.hr_source = opt(row[10]);
    out.push_back(std::move(p));
  }
  return out;
}

std::optional<Watermark> HrStore::load_watermark(const std::string &key, double overlap_s) {
  auto r = tx_.exec_params(
      "SELECT to_char((value - make_interval(secs => $2::float8)) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
      "extract(epoch FROM now() - last_full_at) / 3600.0 FROM registry_sync.watermarks WHERE source = $1",
      key, overlap_s);
  if (r.empty()) return std::nullopt;
  Watermark w;
  w.value = r[0][0].is_null() ? "" : r[0][0].c_str();
  w.hours_since_full = r[0][1].is_null() ? -1 : r[0][1].as<double>();
  return w;
}

void HrStore::save_watermark(const std::string &key, const std::vector<std::string> &last_modified, bool full) {
  std::vector<std::string> values;
  for (const auto &v : last_modified)
    if (!v.empty()) values.push_back(v);
  // Each value is checked before the max so a bad one is named (and the run fails: a
  // watermark that cannot be trusted must not move).
  static const std::regex iso(R"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}(:?\d{2})?)?)");
  for (const auto &v : values)
    if (!std::regex_match(v, iso))
      throw OperationError("HR lastModified value '" + v.substr(0, 60) + "' is not an ISO 8601 timestamp; nothing written");
  tx_.exec_params(
      "INSERT INTO registry_sync.watermarks AS w (source, value, last_full_at, updated_at) "
      "SELECT $1, (SELECT max(v::timestamptz) FROM unnest($2::text[]) v), CASE WHEN $3 THEN now() END, now() "
      "ON CONFLICT (source) DO UPDATE SET value = GREATEST(w.value, EXCLUDED.value), "
      "  last_full_at = COALESCE(EXCLUDED.last_full_at, w.last_full_at), updated_at = now()",
      key, text_array_literal(values), full);
}

long HrStore::start_run(const std::string &actor, bool dry_run, const nlohmann::json &file_hashes) {
  auto r = tx_.exec_params(
      "INSERT INTO registry_sync.sync_runs (kind, started_at, status, tenant, actor, dry_run, file_hashes) "
      "VALUES ('hr', clock_timestamp(), 'running', $1, $2, $3, $4::jsonb) RETURNING id",
      tenant_, actor, dry_run, file_hashes.dump());
  long id = r[0][0].as<long>();
  tx_.exec_params("SELECT set_config('registry_guard.actor', $1, true), set_config('registry_guard.sync_run_id', $2, true)",
                  actor, std::to_string(id));
  if (tenanted_) tx_.exec_params("SELECT set_config('app.client_id', $1, true)", tenant_);
  return id;
}

void HrStore::finish_run(long id, const std::string &status, const nlohmann::json &counts, const std::string &error) {
  tx_.exec_params("UPDATE registry_sync.sync_runs SET finished_at = clock_timestamp(), status = $2, counts = $3::jsonb, "
                  "error = NULLIF($4, '') WHERE id = $1",
                  id, status, counts.dump(), error);
}

long HrStore::apply(const Plan &plan, const std::string &source) {
  long written = 0;
  if (!plan.creates.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto &c : plan.creates) {
      nlohmann::json row = {{"id", c.id}};
      for (const auto &[k, v] : c.columns) row[k] = jv(v);
      rows.push_back(std::move(row));
    }
    std::string cols = "id, name, first_name, last_name, title, department, email, employee_id, manager_id, status";
    std::string sql =
        "INSERT INTO public.principal_profiles (" + cols + ", hr_source, hr_created, last_hr_sync_at" +
        (tenanted_ ? ", client_id" : "") + ") SELECT " + cols + ", $2, true, now()" + (tenanted_ ? ", $3" : "") +
        " FROM jsonb_to_recordset($1::jsonb) AS x(id text, name text, first_name text, last_name text, title text, "
        "department text, email text, employee_id text, manager_id text, status text)";
    pqxx::result r = tenanted_ ? tx_.exec_params(sql, rows.dump(), source, tenant_) : tx_.exec_params(sql, rows.dump(), source);
    written += r.affected_rows();
  }
  if (!plan.updates.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto &u : plan.updates) {
      nlohmann::json d = nlohmann::json::object();
      for (const auto &ch : u.changes) d[ch.column] = jv(ch.after);
      rows.push_back({{"id", u.id}, {"d", std::move(d)}});
    }
    std::string set;
    for (const char *c : {"employee_id", "email", "name", "first_name", "last_name", "title", "department", "manager_id", "status", "hr_source"})
      set += std::string(c) + " = CASE WHEN x.d ? '" + c + "' THEN x.d->>'" + c + "' ELSE p." + c + " END, ";
    std::string sql = "UPDATE public.principal_profiles p SET " + set +
                      "last_hr_sync_at = now() FROM jsonb_to_recordset($1::jsonb) AS x(id text, d jsonb) WHERE p.id = x.id" +
                      (tenanted_ ? " AND p.client_id::text = $2" : "");
    pqxx::result r = tenanted_ ? tx_.exec_params(sql, rows.dump(), tenant_) : tx_.exec_params(sql, rows.dump());
    if (r.affected_rows() != plan.updates.size())
      throw OperationError("principal_profiles changed during the HR sync (" + std::to_string(plan.updates.size()) +
                           " rows to update, " + std::to_string(r.affected_rows()) + " found); nothing written, run again");
    written += r.affected_rows();
  }
  return written;
}

void record_failed_run(pqxx::connection_base &conn, const std::string &tenant, const std::string &actor, bool dry_run,
                       const std::string &error) {
  pqxx::work tx(conn);
  tx.exec_params("INSERT INTO registry_sync.sync_runs (kind, started_at, finished_at, status, tenant, actor, dry_run, error) "
                 "VALUES ('hr', clock_timestamp(), clock_timestamp(), 'failed', $1, $2, $3, $4)",
                 tenant, actor, dry_run, error);
  tx.commit();
}

}  // namespace rgsync::hr
