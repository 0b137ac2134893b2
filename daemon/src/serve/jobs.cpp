// serve's jobs, one run each (see serve/jobs.hpp).
#include "serve/jobs.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <dirent.h>
#include <sstream>
#include <sys/stat.h>
#include <vector>

#include "backup/manifest.hpp"
#include "common/errors.hpp"
#include "common/sha256.hpp"
#include "db/advisory_lock.hpp"
#include "db/connection.hpp"
#include "hr/run.hpp"
#include "hr/sources/http.hpp"
#include "registry/apply.hpp"

namespace rgsync::serve {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string SharedState::render_metrics() const {
  return metrics.render() + health.render() + registry_health.render() + snapshots.render(unix_now());
}

namespace {

void hash_path(std::string &acc, const std::string &path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) { acc += path + ":missing\n"; return; }
  if (S_ISDIR(st.st_mode)) {
    std::vector<std::string> names;
    if (DIR *d = opendir(path.c_str())) {
      while (dirent *e = readdir(d)) if (e->d_name[0] != '.') names.push_back(e->d_name);
      closedir(d);
    }
    std::sort(names.begin(), names.end());
    for (const auto &n : names) hash_path(acc, path + "/" + n);
    return;
  }
  acc += path + ":" + sha256_file_hex(path) + "\n";
}

}  // namespace

std::string input_fingerprint(const JobConfig &c) {
  std::string acc = c.kind + "\n";
  if (c.kind == "hr") {
    hash_path(acc, c.mapping_file);
    if (!c.mapping.source.file.empty()) hash_path(acc, c.mapping.source.file);
    try { acc += "token:" + sha256_hex(hr::read_token(c.mapping.source)) + "\n"; } catch (const std::exception &) { acc += "token:none\n"; }
  } else if (c.kind == "apply") {
    hash_path(acc, c.registry.registry_dir);
    hash_path(acc, c.registry.mapping_path);
  }
  return sha256_hex(acc);
}

bool rerun_while_blocked(const JobConfig &c) {
  return c.kind == "seal" || c.kind == "manifest" || c.kind == "export" || c.kind == "health" || (c.kind == "hr" && c.mapping.source.file.empty());
}

long run_job(JobState &j, const ConnectionSettings &cs, const std::atomic<bool> &stop, SharedState &state) {
  if (!j.conn || !j.conn->is_open()) {
    j.holds_job_lock = false;
    j.conn = connect(cs, "registry-sync serve " + j.cfg.name);
  }
  if (j.cfg.kind == "hr") {
    hr::RunOptions ro;
    ro.tenant = j.cfg.tenant;
    ro.allow_mass_deactivation = j.cfg.allow_mass_deactivation;
    ro.stop = &stop;
    ro.refused_data_hash = j.refused_data_hash;
    ro.record_failure = !j.blocked;  // the first permanent failure was recorded
    hr::RunResult r = hr::run_hr_sync(*j.conn, j.cfg.mapping, ro);
    {  // every outcome has a plan (a refused run too); a run that threw keeps the previous counts
      std::map<std::string, long> conflicts;
      for (const auto &c : r.plan.conflicts) ++conflicts[c.kind];
      state.metrics.hr_conflicts(j.cfg.name, j.cfg.mapping.source.name, conflicts);
    }
    if (r.status != hr::RunStatus::Succeeded && (r.absent_present || r.absent_gone))
      state.metrics.hr_unseen(j.cfg.name, r.absent_present, r.absent_gone);
    if (r.status == hr::RunStatus::Refused || r.status == hr::RunStatus::RefusedUnchanged) {
      j.refused_data_hash = r.data_hash;
      throw PermanentFailure(r.message);
    }
    j.refused_data_hash.clear();
    if (r.absent_present || r.absent_gone) state.metrics.hr_unseen(j.cfg.name, r.absent_present, r.absent_gone);
    spdlog::info("job {}: {}", j.cfg.name, r.message);
    return r.rows_written;
  }
  if (j.cfg.kind == "apply") {
    ApplyOptions ao;
    ao.tenant = j.cfg.tenant;
    ao.on_dangling = j.cfg.on_dangling;
    std::ostringstream summary, findings;
    ao.out = &summary;
    ao.progress = nullptr;
    Mapping m;
    try {
      m = load_apply_mapping(j.cfg.registry, ao);
    } catch (const std::runtime_error &e) {
      throw PermanentFailure(e.what());
    }
    auto r = run_registry_apply(*j.conn, m, j.cfg.registry, ao, findings);
    if (!findings.str().empty()) spdlog::info("job {}: {}", j.cfg.name, findings.str());
    if (!summary.str().empty()) spdlog::info("job {}: {}", j.cfg.name, summary.str());  // per-table counts, rows not in the YAML
    if (!r) throw PermanentFailure("registry " + j.cfg.registry.registry_dir + " failed validation; the database was not changed (findings above)");
    spdlog::info("job {}: applied: {} row(s) written (sync run {}{})", j.cfg.name, r->rows_written, r->sync_run_id,
                 r->shortcut ? ", files and database unchanged" : "");
    return static_cast<long>(r->rows_written);
  }
  if (j.cfg.kind == "manifest") {
    // What the next restore is checked against (registry-sync verify-restore); writes nothing
    // to the database. The file name is the snapshot's UTC time: registry-20261130T140000Z.json.
    Manifest m = take_manifest(*j.conn, default_manifest_schemas());
    std::string stamp;
    for (char c : m.taken_at.substr(0, 19))
      if (c != '-' && c != ':') stamp += c;
    std::string path = j.cfg.manifest_dir + "/registry-" + stamp + "Z.json";
    write_manifest_file(m, path);
    spdlog::info("job {}: manifest of {} tables{} -> {}", j.cfg.name, m.tables.size(),
                 m.audit_ok && !*m.audit_ok ? " (audit.verify() fails: " + m.audit_problem + ")" : "", path);
    return 0;
  }
  if (j.cfg.kind == "health") {
    bool full = unix_now() - j.last_full_verify >= j.cfg.full_verify_every_s;
    Health h = compute_health(*j.conn, full, state.registry_health.get(j.cfg.name));
    if (h.full_verify_at > 0 && full) j.last_full_verify = h.full_verify_at;
    long dangling = 0;
    for (const auto &[k, n] : h.reference_violations) dangling += n;
    spdlog::info("job {}: audit {} ({}), {} unsealed, {} missing reference element(s)", j.cfg.name,
                 !h.audit_ok ? "not installed" : *h.audit_ok ? "verified" : "VERIFY FAILED",
                 !h.audit_ok ? "-" : h.full_verify_at > 0 && full ? "full" : "incremental", h.audit_unsealed, dangling);
    state.registry_health.set(j.cfg.name, std::move(h));
    return 0;
  }
  if (j.cfg.kind == "export") {
    // The fallback snapshot; read-only for the database. A failed run leaves the last good one.
    SnapshotResult r = write_snapshot(*j.conn, j.cfg.registry, j.cfg.snapshot_dir, j.cfg.tenant);
    // /metrics reads the new snapshot's time through `current` (SnapshotMetrics).
    spdlog::info("job {}: snapshot of {} entries and {} documents in {} files -> {}", j.cfg.name, r.rows, r.documents, r.files, r.path);
    return 0;
  }
  // seal
  pqxx::work tx(*j.conn);
  if (tx.exec("SELECT to_regprocedure('audit.seal()') IS NULL")[0][0].as<bool>())
    throw PermanentFailure("audit.seal() does not exist: the registry_guard extension (with its audit trail) is not installed in this database");
  tx.exec("SELECT set_config('registry_guard.actor', 'registry-sync serve " + tx.esc(j.cfg.name) + "', true)");
  long sealed = tx.exec("SELECT audit.seal()")[0][0].as<long>();
  tx.commit();
  spdlog::info("job {}: sealed {} audit versions", j.cfg.name, sealed);
  return sealed;
}

bool take_job_lock(JobState &j, const ConnectionSettings &cs) {
  if (j.holds_job_lock && j.conn && j.conn->is_open()) return true;
  if (!j.conn || !j.conn->is_open()) j.conn = connect(cs, "registry-sync serve " + j.cfg.name);
  const std::string name = "registry-sync serve job " + j.cfg.name;
  pqxx::nontransaction tx(*j.conn);
  j.holds_job_lock = tx.exec1("SELECT pg_try_advisory_lock(" + std::to_string(advisory_lock_key(name)) + ")")[0].as<bool>();
  if (!j.holds_job_lock && !j.told_other_instance) {
    spdlog::info("job {}: runs on another serve instance ({}); this one takes it over when that session ends",
                 j.cfg.name, advisory_lock_holder(tx, name));
    j.told_other_instance = true;
  }
  if (j.holds_job_lock) j.told_other_instance = false;
  return j.holds_job_lock;
}

}  // namespace rgsync::serve
