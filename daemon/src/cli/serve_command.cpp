// `registry-sync serve`: parses the options, reads the config and wires the parts: the
// scheduler (serve/scheduler: the jobs, their failure classes, several instances), the
// readiness checker and the probes (serve/probes), the HTTP listener (serve/http). SIGTERM /
// SIGINT stop it cleanly; SIGHUP retries permanently failed jobs.
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "common/errors.hpp"
#include "serve/config.hpp"
#include "serve/http.hpp"
#include "serve/jobs.hpp"
#include "serve/probes.hpp"
#include "serve/scheduler.hpp"

namespace rgsync {

namespace {

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

  serve::SharedState state;
  serve::declare_jobs(cfg, state);

  serve::Readiness ready;
  serve::ReadinessChecker checker(cfg, settings.connection, ready, state.health);
  checker.check();  // /readyz is right from the start

  auto [host, port] = serve::parse_listen(cfg.listen);
  serve::HttpLimits limits;
  limits.workers = cfg.http_workers;
  limits.request_timeout_s = cfg.request_timeout_s;
  serve::HttpServer http(host, port, serve::probe_handler(ready, state), limits);

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
  spdlog::info("serve: listening on {}:{}, {} job(s)", host, http.port(), cfg.jobs.size());

  std::thread checker_thread([&] { checker.run(g_stop); });
  serve::run_scheduler(cfg, settings.connection, state, g_stop, g_retry_blocked);
  spdlog::info("serve: stopping (signal received)");
  g_stop = true;
  if (checker_thread.joinable()) checker_thread.join();
  http.stop();
  return kOk;
}

}  // namespace rgsync
