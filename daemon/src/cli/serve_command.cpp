// `registry-sync serve`: runs the configured jobs on their schedules, serves /healthz,
// /readyz and /metrics, and stops cleanly on SIGTERM / SIGINT.
//
// Failures come in two classes. Transient ones (network, HTTP 5xx / 429, timeouts, the
// database down or restarting) are retried with full-jitter backoff capped at
// serve.retry_max_seconds, but never before a Retry-After the HR source asked for: a
// database restart delays runs but loses none. Permanent ones (a refused mass deactivation,
// a registry that fails validation, authentication refused, a payload that cannot be read)
// block the job: it is not retried until its input changes (mapping and source files,
// registry files, the HR data for HTTP sources - fetched at the job's interval, a repeated
// refusal of the same data writes no sync_runs row) or an operator sends SIGHUP; a metric and
// a log line say why.
//
// Several serve instances may share one database: each job runs only on the instance that
// holds its session advisory lock ("registry-sync serve job NAME"); the others check at every
// interval and take the job over when the holder's session ends.
//
// Jobs run one at a time on the scheduler thread; each job keeps its own connection and drops
// it after any failure (libpq connections do not survive a server restart). /readyz answers
// from the state a separate checker thread keeps, never from the serving threads.
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <ctime>
#include <dirent.h>
#include <poll.h>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <sys/stat.h>
#include <thread>

#include "registry/apply.hpp"
#include "cli/options.hpp"
#include "common/backoff.hpp"
#include "cli/commands.hpp"
#include "db/advisory_lock.hpp"
#include "db/connection.hpp"
#include "common/errors.hpp"
#include "common/sha256.hpp"
#include "hr/run.hpp"
#include "hr/sources/fetch.hpp"
#include "hr/sources/http.hpp"
#include "migrate/migrator.hpp"
#include "backup/manifest.hpp"
#include "common/redact.hpp"
#include "serve/config.hpp"
#include "serve/export_job.hpp"
#include "serve/health_metrics.hpp"
#include "serve/health_job.hpp"
#include "serve/http.hpp"
#include "serve/metrics.hpp"

namespace rgsync {

namespace {

using Clock = std::chrono::steady_clock;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct JobState {
  serve::JobConfig cfg;
  Clock::time_point due;
  int failures = 0;  // consecutive transient failures, for the backoff
  std::unique_ptr<pqxx::connection> conn;
  bool holds_job_lock = false;  // on conn: this instance runs the job
  bool told_other_instance = false;
  // A permanent failure: not retried until input_fingerprint() differs (or SIGHUP).
  bool blocked = false;
  std::string blocked_fingerprint, refused_data_hash;
};

// A failure that retrying the same input cannot fix.
class PermanentFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Failure {
  bool permanent = false;
  std::string why;  // the class, for the log line
  std::optional<double> retry_after_s;
};

Failure classify(const std::exception &e) {
  if (auto *h = dynamic_cast<const hr::HttpError *>(&e)) {
    if (h->transient) return {false, "HR source unavailable", h->retry_after_s};
    if (h->status == 401 || h->status == 403) return {true, "HR source refused the credentials (HTTP " + std::to_string(h->status) + ")", {}};
    return {true, "HR source request refused or unusable", {}};
  }
  if (dynamic_cast<const PermanentFailure *>(&e)) return {true, "refused", {}};
  if (dynamic_cast<const hr::SourceDataError *>(&e)) return {true, "HR payload cannot be used", {}};
  if (dynamic_cast<const UsageError *>(&e)) return {true, "configuration or input error", {}};
  if (dynamic_cast<const AdvisoryLockTimeout *>(&e)) return {false, "another session holds the run's lock", {}};
  if (dynamic_cast<const pqxx::broken_connection *>(&e) || dynamic_cast<const pqxx::in_doubt_error *>(&e))
    return {false, "database connection lost", {}};
  if (auto *q = dynamic_cast<const pqxx::sql_error *>(&e)) {
    std::string st = q->sqlstate();
    std::string cls = st.substr(0, 2);
    if (cls == "08" || cls == "40" || cls == "53" || cls == "57" || cls == "58" || st == "55P03" || st.empty())
      return {false, "database busy, timed out or restarting (SQLSTATE " + st + ")", {}};
    return {true, "database refused the change (SQLSTATE " + st + ")", {}};
  }
  if (dynamic_cast<const DatabaseError *>(&e)) {
    std::string m = e.what();
    for (const char *perm : {"authentication failed", "does not exist", "may not connect", "does not accept"})
      if (m.find(perm) != std::string::npos) return {true, "database refused the connection", {}};
    return {false, "database not reachable", {}};
  }
  return {false, "unexpected error", {}};
}

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

// What a permanently failed job depends on, apart from the HR data of HTTP sources (which is
// only seen by fetching): its files and the HR token.
std::string input_fingerprint(const serve::JobConfig &c) {
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

// Jobs whose input includes data that is only seen by running (HR over HTTP, the database for
// seal) are re-run at their interval while blocked; the others only when a file changed.
bool rerun_while_blocked(const serve::JobConfig &c) {
  return c.kind == "seal" || c.kind == "manifest" || c.kind == "export" || c.kind == "health" || (c.kind == "hr" && c.mapping.source.file.empty());
}

// The age of each export job's snapshot, for /metrics.
serve::SnapshotMetrics g_snapshots;
// Database reachability and migration state, for /metrics (kept by the readiness checker).
serve::HealthMetrics g_health;
// The health job's registry metrics (audit, references, HR), for /metrics.
serve::HealthState g_registry_health;

// Runs one job once on its connection; returns the rows it changed.
long run_job(JobState &j, const ConnectionSettings &cs, const std::atomic<bool> &stop) {
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
    if (r.status == hr::RunStatus::Refused || r.status == hr::RunStatus::RefusedUnchanged) {
      j.refused_data_hash = r.data_hash;
      throw PermanentFailure(r.message);
    }
    j.refused_data_hash.clear();
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
    serve::Health h = serve::compute_health(*j.conn);
    long dangling = 0;
    for (const auto &[k, n] : h.reference_violations) dangling += n;
    spdlog::info("job {}: audit {}, {} unsealed, {} missing reference element(s)", j.cfg.name,
                 !h.audit_ok ? "not installed" : *h.audit_ok ? "verified" : "VERIFY FAILED", h.audit_unsealed, dangling);
    g_registry_health.set(j.cfg.name, std::move(h));
    return 0;
  }
  if (j.cfg.kind == "export") {
    // The fallback snapshot; read-only for the database. A failed run leaves the last good one.
    serve::SnapshotResult r = serve::write_snapshot(*j.conn, j.cfg.registry, j.cfg.snapshot_dir, j.cfg.tenant);
    g_snapshots.set(j.cfg.name, r.taken_at);
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

// Whether this instance may run the job now: it holds (or obtains) the job's session
// advisory lock on the job's connection. Another serve instance on the same database holds
// it while it runs the job; its lock ends with its session (killed, stopped, connection lost).
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

// /readyz state, kept by a checker thread (the serving threads only read it).
struct Readiness {
  std::mutex mu;
  int status = 503;
  std::string body = "not ready: first check pending\n";
  void set(int st, std::string b) {
    std::lock_guard<std::mutex> l(mu);
    status = st;
    body = std::move(b);
  }
  serve::HttpReply get() {
    std::lock_guard<std::mutex> l(mu);
    return {status, "text/plain; charset=utf-8", body};
  }
};

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// One readiness check on a kept connection. The reply never names host, port, database or
// user (probes may be reachable by more people than the log); the log has the details.
void check_readiness(std::unique_ptr<pqxx::connection> &conn, const ConnectionSettings &cs, const serve::ServeConfig &cfg,
                     Readiness &ready, std::string &last_logged) {
  try {
    if (!conn || !conn->is_open()) {
      ConnectionSettings quick = cs;
      if (!quick.get("connect_timeout")) quick.set("connect_timeout", "3", "serve readiness check");
      conn = connect(quick, "registry-sync serve readyz");
    }
    pqxx::read_transaction tx(*conn);
    tx.exec("SELECT 1");
    auto files = load_migrations(cfg.migrations_dir);
    MigrationStatus st = inspect_migrations(tx, files);
    size_t pending = st.count(MigrationState::kPending), edited = st.count(MigrationState::kEdited);
    g_health.reachable(unix_now(), static_cast<long>(pending), static_cast<long>(edited));
    if (pending || edited)
      ready.set(503, "not ready: migrations not current (" + std::to_string(pending) + " pending, " + std::to_string(edited) +
                         " edited; checked " + utc_now() + "); run registry-sync migrate\n");
    else
      ready.set(200, "ready: database reachable, migrations current (checked " + utc_now() + ")\n");
    last_logged.clear();
  } catch (const std::exception &e) {
    conn.reset();
    std::string err = describe_error(e);
    if (err != last_logged) spdlog::warn("readiness check failed: {}", err);
    last_logged = err;
    bool db = dynamic_cast<const DatabaseError *>(&e) || dynamic_cast<const pqxx::broken_connection *>(&e) ||
              dynamic_cast<const pqxx::sql_error *>(&e);
    if (db) g_health.unreachable(unix_now());
    ready.set(503, std::string("not ready: ") + (db ? "database not reachable or not answering" : "readiness check failed") +
                       " (checked " + utc_now() + "; details in the serve log)\n");
  }
}

std::atomic<bool> g_stop{false};
std::atomic<bool> g_retry_blocked{false};
extern "C" void on_signal(int) { g_stop = true; }
extern "C" void on_sighup(int) { g_retry_blocked = true; }

}  // namespace

int run_serve(const std::vector<std::string> &args) {
  CommandHelp help{
      "serve", "registry-sync serve --config FILE [options]",
      "Runs the jobs of the config file on their schedules (HR sync every N minutes, registry apply,\n"
      "audit sealing, restore manifests, the fallback YAML snapshot) and serves /healthz (process alive), /readyz (database reachable,\n"
      "migrations current) and /metrics (Prometheus text: last success, duration, rows changed, errors per\n"
      "job). A transient failure\n"
      "(network, HTTP 5xx/429, database down) is retried with backoff honouring Retry-After; a permanent one\n"
      "(refused mass deactivation, validation, authentication) is not retried until its input changes or\n"
      "SIGHUP. With several instances on one database each job runs on one of them at a time.\n"
      "SIGTERM or SIGINT stop it cleanly (exit 0).",
      {{"registry-sync serve --config /etc/registry-sync/registry-sync.yaml", "run the configured jobs"},
       {"curl -s localhost:9187/metrics", "scrape the metrics"}}};
  po::options_description opts("serve options");
  opts.add_options()("listen", po::value<std::string>()->value_name("HOST:PORT"), "listen address (config serve.listen, default 127.0.0.1:9187)");
  add_common_options(opts);
  add_connection_options(opts);
  auto vm = parse_command_line(args, opts, help);
  if (!vm) return kOk;
  Settings settings = resolve_settings(*vm);
  if (!settings.config) throw UsageError("serve: --config FILE is required (the jobs live there; see registry-sync serve --help)");
  serve::ServeConfig cfg = serve::load_serve_config(*settings.config);
  if (vm->count("listen")) cfg.listen = (*vm)["listen"].as<std::string>();

  serve::Metrics metrics;
  std::vector<JobState> jobs;
  auto start = Clock::now();
  for (auto &jc : cfg.jobs) {
    metrics.declare(jc.name, jc.kind);
    if (jc.kind == "export") g_snapshots.set(jc.name, serve::current_snapshot_time(jc.snapshot_dir));  // kept across restarts
    JobState j;
    j.cfg = jc;
    j.due = start;
    jobs.push_back(std::move(j));
  }

  Readiness ready;
  std::unique_ptr<pqxx::connection> ready_conn;
  std::string ready_logged;
  check_readiness(ready_conn, settings.connection, cfg, ready, ready_logged);  // /readyz is right from the start

  auto [host, port] = serve::parse_listen(cfg.listen);
  serve::HttpServer http(host, port, [&](const std::string &method, const std::string &path) -> serve::HttpReply {
    if (method != "GET" && method != "HEAD") return {405, "text/plain; charset=utf-8", "GET only\n"};
    if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};  // the process serves
    if (path == "/readyz") return ready.get();
    if (path == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", metrics.render() + g_health.render() + g_registry_health.render() + g_snapshots.render(unix_now())};
    return {404, "text/plain; charset=utf-8", "not found (try /healthz, /readyz, /metrics)\n"};
  });

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  struct sigaction hup {};
  hup.sa_handler = on_sighup;
  sigemptyset(&hup.sa_mask);
  sigaction(SIGHUP, &hup, nullptr);
  http.start();
  spdlog::info("serve: listening on {}:{}, {} job(s)", host, http.port(), jobs.size());

  std::thread checker([&] {
    auto every = std::chrono::duration<double>(cfg.readiness_check_s);
    auto next = Clock::now() + std::chrono::duration_cast<Clock::duration>(every);
    while (!g_stop) {
      if (Clock::now() < next) {
        // Between checks the kept connection is idle: data arriving on it means the server
        // is going away (shutdown, terminated backend), so check at once instead of serving a
        // stale "ready" until the next interval.
        int fd = ready_conn && ready_conn->is_open() ? ready_conn->sock() : -1;
        if (fd < 0) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          continue;
        }
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
      }
      check_readiness(ready_conn, settings.connection, cfg, ready, ready_logged);
      next = Clock::now() + std::chrono::duration_cast<Clock::duration>(every);
    }
  });

  auto after = [](double s) { return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); };
  while (!g_stop) {
    if (g_retry_blocked.exchange(false)) {
      for (auto &j : jobs) {
        if (!j.blocked) continue;
        spdlog::info("job {}: SIGHUP: retrying the blocked job now", j.cfg.name);
        j.blocked = false;
        j.refused_data_hash.clear();
        metrics.set_blocked(j.cfg.name, false);
        j.due = Clock::now();
      }
    }
    auto now = Clock::now();
    JobState *next = nullptr;
    for (auto &j : jobs)
      if (!next || j.due < next->due) next = &j;
    if (next->due > now) {
      std::this_thread::sleep_for(std::min<Clock::duration>(next->due - now, std::chrono::milliseconds(200)));
      continue;
    }
    JobState &j = *next;
    auto every = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(j.cfg.every_s));
    if (j.blocked && !rerun_while_blocked(j.cfg) && input_fingerprint(j.cfg) == j.blocked_fingerprint) {
      j.due = Clock::now() + every;  // input unchanged: nothing to retry
      continue;
    }
    try {
      bool mine = take_job_lock(j, settings.connection);
      metrics.set_active(j.cfg.name, mine);
      if (!mine) {
        j.due = Clock::now() + every;
        continue;
      }
    } catch (const std::exception &e) {
      j.conn.reset();
      j.holds_job_lock = false;
      metrics.failure(j.cfg.name, unix_now(), 0, describe_error(e), false);
      ++j.failures;
      double delay = std::max(0.5, full_jitter_backoff(1.0, cfg.retry_max_s, j.failures, unit_random()));
      spdlog::warn("job {}: cannot reach the database to take the job (retrying in {:.1f}s): {}", j.cfg.name, delay, describe_error(e));
      j.due = after(delay);
      continue;
    }
    const bool was_blocked = j.blocked;
    const std::string fingerprint = input_fingerprint(j.cfg);
    double t0 = unix_now();
    try {
      long rows = run_job(j, settings.connection, g_stop);
      metrics.success(j.cfg.name, t0, unix_now() - t0, rows);
      if (was_blocked) spdlog::info("job {}: input changed, the job runs again", j.cfg.name);
      j.blocked = false;
      metrics.set_blocked(j.cfg.name, false);
      j.failures = 0;
      j.due += every;
      if (j.due < Clock::now()) j.due = Clock::now();  // overran its slot: run again now, not a burst
    } catch (const std::exception &e) {
      std::string err = describe_error(e);
      Failure f = classify(e);
      if (g_stop) {
        metrics.failure(j.cfg.name, t0, unix_now() - t0, err, false);
        break;
      }
      if (!f.permanent) {
        j.conn.reset();
        j.holds_job_lock = false;
        metrics.failure(j.cfg.name, t0, unix_now() - t0, err, false);
        ++j.failures;
        double delay = std::max(0.5, full_jitter_backoff(1.0, std::min(cfg.retry_max_s, j.cfg.every_s), j.failures, unit_random()));
        std::string because;
        if (f.retry_after_s && *f.retry_after_s > delay) {
          delay = *f.retry_after_s;  // the source asked for it: a longer Retry-After is not cut short
          because = " (the HR source's Retry-After)";
        }
        spdlog::warn("job {}: run failed ({}, transient, attempt {}), retrying in {:.1f}s{}: {}", j.cfg.name, f.why, j.failures,
                     delay, because, err);
        // The slot stays owed: only the retry time moves.
        j.due = after(delay);
      } else {
        j.failures = 0;
        metrics.failure(j.cfg.name, t0, unix_now() - t0, err, true);
        metrics.set_blocked(j.cfg.name, true);
        bool same = was_blocked && fingerprint == j.blocked_fingerprint;
        j.blocked = true;
        j.blocked_fingerprint = fingerprint;
        std::string inputs = j.cfg.kind == "apply" ? "the registry files or the mapping"
                           : j.cfg.kind == "seal" || j.cfg.kind == "manifest" || j.cfg.kind == "export" || j.cfg.kind == "health" ? "the database (checked every interval)"
                           : rerun_while_blocked(j.cfg) ? "the HR data (checked every interval), the mapping or the token"
                                                        : "the HR file, the mapping or the token";
        if (same) spdlog::info("job {}: still failing permanently ({}), input unchanged", j.cfg.name, f.why);
        else
          spdlog::error("job {}: permanent failure ({}): not retried until {} change(s), or SIGHUP: {}", j.cfg.name, f.why, inputs, err);
        j.due = Clock::now() + every;
      }
    }
  }
  spdlog::info("serve: stopping (signal received)");
  g_stop = true;
  if (checker.joinable()) checker.join();
  http.stop();
  return kOk;
}

}  // namespace rgsync
