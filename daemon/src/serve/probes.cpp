// serve's probes (see serve/probes.hpp).
#include "serve/probes.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <poll.h>
#include <thread>

#include "common/errors.hpp"
#include "db/connection.hpp"
#include "migrate/migrator.hpp"

namespace rgsync::serve {

namespace {

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

// One readiness check on a kept connection. The reply never names host, port, database or
// user (probes may be reachable by more people than the log); the log has the details.
void ReadinessChecker::check() {
  try {
    if (!conn_ || !conn_->is_open()) {
      ConnectionSettings quick = cs_;
      if (!quick.get("connect_timeout")) quick.set("connect_timeout", "3", "serve readiness check");
      conn_ = connect(quick, "registry-sync serve readyz");
    }
    pqxx::read_transaction tx(*conn_);
    tx.exec("SELECT 1");
    auto files = load_migrations(cfg_.migrations_dir);
    MigrationStatus st = inspect_migrations(tx, files);
    size_t pending = st.count(MigrationState::kPending), edited = st.count(MigrationState::kEdited);
    health_.reachable(unix_now(), static_cast<long>(pending), static_cast<long>(edited));
    if (pending || edited)
      ready_.set(503, "not ready: migrations not current (" + std::to_string(pending) + " pending, " + std::to_string(edited) +
                         " edited; checked " + utc_now() + "); run registry-sync migrate\n");
    else
      ready_.set(200, "ready: database reachable, migrations current (checked " + utc_now() + ")\n");
    last_logged_.clear();
  } catch (const std::exception &e) {
    conn_.reset();
    std::string err = describe_error(e);
    if (err != last_logged_) spdlog::warn("readiness check failed: {}", err);
    last_logged_ = err;
    bool db = dynamic_cast<const DatabaseError *>(&e) || dynamic_cast<const pqxx::broken_connection *>(&e) ||
              dynamic_cast<const pqxx::sql_error *>(&e);
    if (db) health_.unreachable(unix_now());
    ready_.set(503, std::string("not ready: ") + (db ? "database not reachable or not answering" : "readiness check failed") +
                       " (checked " + utc_now() + "; details in the serve log)\n");
  }
}

void ReadinessChecker::run(const std::atomic<bool> &stop) {
  auto every = std::chrono::duration<double>(cfg_.readiness_check_s);
  auto next = Clock::now() + std::chrono::duration_cast<Clock::duration>(every);
  while (!stop) {
    if (Clock::now() < next) {
      // Between checks the kept connection is idle: data arriving on it means the server
      // is going away (shutdown, terminated backend), so check at once instead of serving a
      // stale "ready" until the next interval.
      int fd = conn_ && conn_->is_open() ? conn_->sock() : -1;
      if (fd < 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
    }
    check();
    next = Clock::now() + std::chrono::duration_cast<Clock::duration>(every);
  }
}

HttpHandler probe_handler(Readiness &ready, const SharedState &state) {
  return [&ready, &state](const std::string &method, const std::string &path) -> HttpReply {
    if (method != "GET" && method != "HEAD") return {405, "text/plain; charset=utf-8", "GET only\n"};
    if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};  // the process serves
    if (path == "/readyz") return ready.get();
    if (path == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", state.render_metrics()};
    return {404, "text/plain; charset=utf-8", "not found (try /healthz, /readyz, /metrics)\n"};
  };
}

}  // namespace rgsync::serve
