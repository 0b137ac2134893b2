// `registry-sync serve`: runs the configured jobs on their schedules, serves /healthz,
// /readyz and /metrics, and stops cleanly on SIGTERM / SIGINT.
//
// A failed run is not skipped: it is retried with full-jitter backoff (capped at
// serve.retry_max_seconds) until it succeeds, so a database restart delays runs but loses
// none. Jobs run one at a time on the scheduler thread; each job keeps its own connection
// and drops it after any failure (libpq connections do not survive a server restart).
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <thread>

#include "registry/apply.hpp"
#include "cli/options.hpp"
#include "common/backoff.hpp"
#include "cli/commands.hpp"
#include "db/connection.hpp"
#include "common/errors.hpp"
#include "hr/run.hpp"
#include "migrate/migrator.hpp"
#include "backup/manifest.hpp"
#include "common/redact.hpp"
#include "serve/config.hpp"
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
  int failures = 0;  // consecutive, for the backoff
  std::unique_ptr<pqxx::connection> conn;
};

// Runs one job once on its connection; returns the rows it changed.
long run_job(JobState &j, const ConnectionSettings &cs, const std::atomic<bool> &stop) {
  if (!j.conn || !j.conn->is_open()) j.conn = connect(cs, "registry-sync serve " + j.cfg.name);
  if (j.cfg.kind == "hr") {
    hr::RunOptions ro;
    ro.tenant = j.cfg.tenant;
    ro.allow_mass_deactivation = j.cfg.allow_mass_deactivation;
    ro.stop = &stop;
    hr::RunResult r = hr::run_hr_sync(*j.conn, j.cfg.mapping, ro);
    if (r.status == hr::RunStatus::Refused) throw OperationError(r.message);
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
    Mapping m = load_apply_mapping(j.cfg.registry, ao);
    auto r = run_registry_apply(*j.conn, m, j.cfg.registry, ao, findings);
    if (!findings.str().empty()) spdlog::info("job {}: {}", j.cfg.name, findings.str());
    if (!summary.str().empty()) spdlog::info("job {}: {}", j.cfg.name, summary.str());  // per-table counts, rows not in the YAML
    if (!r) throw OperationError("registry " + j.cfg.registry.registry_dir + " failed validation; the database was not changed (findings above)");
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
  // seal
  pqxx::work tx(*j.conn);
  if (tx.exec("SELECT to_regprocedure('audit.seal()') IS NULL")[0][0].as<bool>())
    throw OperationError("audit.seal() does not exist: the registry_guard extension (with its audit trail) is not installed in this database");
  tx.exec("SELECT set_config('registry_guard.actor', 'registry-sync serve " + tx.esc(j.cfg.name) + "', true)");
  long sealed = tx.exec("SELECT audit.seal()")[0][0].as<long>();
  tx.commit();
  spdlog::info("job {}: sealed {} audit versions", j.cfg.name, sealed);
  return sealed;
}

serve::HttpReply readyz(const ConnectionSettings &cs, const serve::ServeConfig &cfg) {
  ConnectionSettings quick = cs;
  if (!quick.get("connect_timeout")) quick.set("connect_timeout", "3", "serve /readyz");
  try {
    auto conn = connect(quick, "registry-sync serve readyz");
    pqxx::read_transaction tx(*conn);
    tx.exec("SELECT 1");
    auto files = load_migrations(cfg.migrations_dir);
    MigrationStatus st = inspect_migrations(tx, files);
    size_t pending = st.count(MigrationState::kPending), edited = st.count(MigrationState::kEdited);
    if (pending || edited)
      return {503, "text/plain; charset=utf-8",
              "not ready: migrations not current (" + std::to_string(pending) + " pending, " + std::to_string(edited) +
                  " edited); run registry-sync migrate\n"};
    return {200, "text/plain; charset=utf-8", "ready: database reachable, migrations current\n"};
  } catch (const std::exception &e) {
    return {503, "text/plain; charset=utf-8", "not ready: " + describe_error(e) + "\n"};
  }
}

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop = true; }

}  // namespace

int run_serve(const std::vector<std::string> &args) {
  CommandHelp help{
      "serve", "registry-sync serve --config FILE [options]",
      "Runs the jobs of the config file on their schedules (HR sync every N minutes, registry apply,\n"
      "audit sealing, restore manifests) and serves /healthz (process alive), /readyz (database reachable, migrations current) and\n"
      "/metrics (Prometheus text: last success, duration, rows changed, errors per job). A failed run\n"
      "is retried with backoff until it succeeds. SIGTERM or SIGINT stop it cleanly (exit 0).",
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
    jobs.push_back({jc, start, 0, nullptr});
  }

  auto [host, port] = serve::parse_listen(cfg.listen);
  serve::HttpServer http(host, port, [&](const std::string &method, const std::string &path) -> serve::HttpReply {
    if (method != "GET" && method != "HEAD") return {405, "text/plain; charset=utf-8", "GET only\n"};
    if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};  // the process serves
    if (path == "/readyz") return readyz(settings.connection, cfg);
    if (path == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", metrics.render()};
    return {404, "text/plain; charset=utf-8", "not found (try /healthz, /readyz, /metrics)\n"};
  });

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  http.start();
  spdlog::info("serve: listening on {}:{}, {} job(s)", host, http.port(), jobs.size());

  while (!g_stop) {
    auto now = Clock::now();
    JobState *next = nullptr;
    for (auto &j : jobs)
      if (!next || j.due < next->due) next = &j;
    if (next->due > now) {
      std::this_thread::sleep_for(std::min<Clock::duration>(next->due - now, std::chrono::milliseconds(200)));
      continue;
    }
    double t0 = unix_now();
    try {
      long rows = run_job(*next, settings.connection, g_stop);
      metrics.success(next->cfg.name, t0, unix_now() - t0, rows);
      next->failures = 0;
      auto every = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(next->cfg.every_s));
      next->due += every;
      if (next->due < Clock::now()) next->due = Clock::now();  // overran its slot: run again now, not a burst
    } catch (const std::exception &e) {
      std::string err = describe_error(e);
      metrics.failure(next->cfg.name, t0, unix_now() - t0, err);
      next->conn.reset();
      if (g_stop) break;
      ++next->failures;
      double delay = std::max(0.5, full_jitter_backoff(1.0, std::min(cfg.retry_max_s, next->cfg.every_s), next->failures, unit_random()));
      spdlog::warn("job {}: run failed (attempt {}), retrying in {:.1f}s: {}", next->cfg.name, next->failures, delay, err);
      // The slot stays owed: only the retry time moves.
      next->due = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(delay));
    }
  }
  spdlog::info("serve: stopping (signal received)");
  http.stop();
  return kOk;
}

}  // namespace rgsync
