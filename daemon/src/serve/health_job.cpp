// The health job's queries and their /metrics rendering (see health_job.hpp).
#include "serve/health_job.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <cstdio>
#include <sstream>

#include "serve/metrics.hpp"

namespace rgsync::serve {

Health compute_health(pqxx::connection &conn, bool full, const std::optional<Health> &previous) {
  Health h;
  if (previous) {
    h.full_ok = previous->full_ok;
    h.full_verify_at = previous->full_verify_at;
    h.audit_checked = previous->audit_checked;
  }
  // Not read-only: audit.verify_incremental() records how far it verified.
  pqxx::work tx(conn);
  if (!tx.exec1("SELECT pg_catalog.to_regprocedure('audit.verify()') IS NULL")[0].as<bool>()) {
    bool incremental = tx.exec1("SELECT coalesce(pg_catalog.has_function_privilege(pg_catalog.to_regprocedure('audit.verify_incremental()'),"
                                " 'EXECUTE'), false)")[0].as<bool>();
    if (full || !incremental || h.full_verify_at == 0) {
      auto r = tx.exec1("SELECT ok, checked, coalesce(unsealed, 0) FROM audit.verify()");
      h.full_ok = r[0].as<bool>();
      h.audit_checked = r[1].as<long>(0);
      h.audit_unsealed = r[2].as<long>(0);
      h.full_verify_at = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    }
    if (incremental) {
      auto r = tx.exec1("SELECT ok, checked, coalesce(unsealed, 0) FROM audit.verify_incremental()");
      h.incremental_ok = r[0].as<bool>();
      h.incremental_checked = r[1].as<long>(0);
      h.audit_unsealed = r[2].as<long>(0);
    }
    h.audit_ok = h.full_ok && h.incremental_ok.value_or(true);
    h.last_seal_ts = tx.exec1("SELECT coalesce(extract(epoch FROM max(sealed_at)), 0)::float8 FROM audit.seal")[0].as<double>();
  }
  if (!tx.exec1("SELECT pg_catalog.to_regclass('guard.reference') IS NULL")[0].as<bool>()) {
    for (const auto &row : tx.exec("SELECT r.name, CASE WHEN r.report_only THEN 'report-only' ELSE 'enforced' END,"
                                   " (SELECT count(*) FROM guard.reference_violations(r)) FROM guard.reference r ORDER BY 1"))
      h.reference_violations[{row[0].as<std::string>(), row[1].as<std::string>()}] = row[2].as<long>();
  }
  if (!tx.exec1("SELECT pg_catalog.to_regclass('registry_sync.sync_runs') IS NULL")[0].as<bool>()) {
    for (const auto &row : tx.exec("SELECT coalesce(tenant, 'default'), extract(epoch FROM max(finished_at))::float8 FROM registry_sync.sync_runs"
                                   " WHERE kind = 'hr' AND status = 'succeeded' AND finished_at IS NOT NULL GROUP BY 1 ORDER BY 1"))
      h.hr_last_success_ts[row[0].as<std::string>()] = row[1].as<double>();
  }
  if (tx.exec1("SELECT count(*) = 2 FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('public.principal_profiles')"
               " AND attname IN ('hr_source', 'status') AND NOT attisdropped")[0].as<bool>())
    h.principals_not_in_hr = tx.exec1("SELECT count(*) FROM public.principal_profiles WHERE hr_source IS NULL AND status = 'active'")[0].as<long>();
  tx.commit();
  h.computed_at = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return h;
}

std::optional<Health> HealthState::get(const std::string &job) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = jobs_.find(job);
  if (it == jobs_.end()) return std::nullopt;
  return it->second;
}

void HealthState::set(const std::string &job, Health h) {
  std::lock_guard<std::mutex> l(mu_);
  jobs_[job] = std::move(h);
}

std::string HealthState::render() const {
  std::lock_guard<std::mutex> l(mu_);
  if (jobs_.empty()) return "";
  std::ostringstream o;
  auto num = [](double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string(buf);
  };
  auto family = [&](const char *name, const char *help) { o << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n"; };
  family("registry_sync_health_timestamp_seconds", "Unix time the health job last computed the registry health metrics (0 = not yet).");
  for (const auto &[job, h] : jobs_) o << "registry_sync_health_timestamp_seconds{job=\"" << prom_label(job) << "\"} " << num(h.computed_at) << "\n";
  // The registry's state is the same whichever job computed it: the first job's values.
  const Health &h = jobs_.begin()->second;
  if (h.audit_ok) {
    family("registry_sync_audit_verify_ok", "1 when the last full audit.verify() and the last incremental one found the hash chain intact.");
    o << "registry_sync_audit_verify_ok " << (*h.audit_ok ? 1 : 0) << "\n";
    family("registry_sync_audit_verified_versions", "Audit versions the last full audit.verify() checked.");
    o << "registry_sync_audit_verified_versions " << h.audit_checked << "\n";
    family("registry_sync_audit_full_verify_ok", "1 when the last full audit.verify() found the hash chain intact.");
    o << "registry_sync_audit_full_verify_ok " << (h.full_ok ? 1 : 0) << "\n";
    family("registry_sync_audit_full_verify_timestamp_seconds", "Unix time of the last full audit.verify().");
    o << "registry_sync_audit_full_verify_timestamp_seconds " << num(h.full_verify_at) << "\n";
    if (h.incremental_ok) {
      family("registry_sync_audit_incremental_verify_ok",
             "1 when the last audit.verify_incremental() found the versions sealed since the last verified seal intact.");
      o << "registry_sync_audit_incremental_verify_ok " << (*h.incremental_ok ? 1 : 0) << "\n";
      family("registry_sync_audit_incremental_verified_versions", "Audit versions the last audit.verify_incremental() checked.");
      o << "registry_sync_audit_incremental_verified_versions " << h.incremental_checked << "\n";
    }
    family("registry_sync_audit_unsealed_versions", "Audit versions not yet covered by a seal.");
    o << "registry_sync_audit_unsealed_versions " << h.audit_unsealed << "\n";
    family("registry_sync_audit_last_seal_timestamp_seconds", "Unix time of the last audit.seal() (0 = never).");
    o << "registry_sync_audit_last_seal_timestamp_seconds " << num(h.last_seal_ts) << "\n";
  }
  family("registry_sync_reference_violations", "Missing elements of a declared reference (dangling for report-only ones).");
  for (const auto &[key, n] : h.reference_violations)
    o << "registry_sync_reference_violations{reference=\"" << prom_label(key.first) << "\",mode=\"" << prom_label(key.second) << "\"} " << n << "\n";
  family("registry_sync_hr_last_success_timestamp_seconds", "Unix time the last successful HR sync run of the tenant finished.");
  for (const auto &[tenant, ts] : h.hr_last_success_ts)
    o << "registry_sync_hr_last_success_timestamp_seconds{tenant=\"" << prom_label(tenant) << "\"} " << num(ts) << "\n";
  if (h.principals_not_in_hr) {
    family("registry_sync_principals_not_in_hr", "Active principal profiles with no HR link (hr_source empty).");
    o << "registry_sync_principals_not_in_hr " << *h.principals_not_in_hr << "\n";
  }
  return o.str();
}

}  // namespace rgsync::serve
