// serve's probes: /healthz (the process serves), /readyz (database reachable, migrations
// current) answered from the state a checker thread keeps (never a database connection per
// request, and never host, port, database or user in the reply), /metrics.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include <pqxx/pqxx>

#include "common/connection_settings.hpp"
#include "serve/config.hpp"
#include "serve/http.hpp"
#include "serve/jobs.hpp"

namespace rgsync::serve {

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
  HttpReply get() {
    std::lock_guard<std::mutex> l(mu);
    return {status, "text/plain; charset=utf-8", body};
  }
};

// Keeps Readiness current: checks at start, every readiness_check_seconds, and at once when
// its kept connection shows the server going away.
class ReadinessChecker {
 public:
  ReadinessChecker(const ServeConfig &cfg, const ConnectionSettings &cs, Readiness &ready, HealthMetrics &health)
      : cfg_(cfg), cs_(cs), ready_(ready), health_(health) {}
  void check();                               // one check now
  void run(const std::atomic<bool> &stop);    // checks until stop (the checker thread)

 private:
  const ServeConfig &cfg_;
  const ConnectionSettings &cs_;
  Readiness &ready_;
  HealthMetrics &health_;
  std::unique_ptr<pqxx::connection> conn_;
  std::string last_logged_;
};

// The routes: GET/HEAD /healthz, /readyz, /metrics; 405 for other methods, 404 elsewhere.
HttpHandler probe_handler(Readiness &ready, const SharedState &state);

}  // namespace rgsync::serve
