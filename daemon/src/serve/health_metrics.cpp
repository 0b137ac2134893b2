// Database reachability and migration state for /metrics (see health_metrics.hpp).
#include "serve/health_metrics.hpp"

#include <cstdio>
#include <sstream>

namespace rgsync::serve {

void HealthMetrics::reachable(double now, long pending, long edited) {
  std::lock_guard<std::mutex> l(mu_);
  checked_ = up_ = true;
  pending_ = pending;
  edited_ = edited;
  checked_at_ = now;
}

void HealthMetrics::unreachable(double now) {
  std::lock_guard<std::mutex> l(mu_);
  checked_ = true;
  up_ = false;
  checked_at_ = now;  // pending/edited keep the last known values
}

std::string HealthMetrics::render() const {
  std::lock_guard<std::mutex> l(mu_);
  if (!checked_) return "";
  char ts[64];
  std::snprintf(ts, sizeof ts, "%.17g", checked_at_);
  std::ostringstream o;
  o << "# HELP registry_sync_database_up 1 when the last readiness check reached the database and ran a query.\n"
       "# TYPE registry_sync_database_up gauge\n"
       "registry_sync_database_up " << (up_ ? 1 : 0) << "\n"
       "# HELP registry_sync_migrations_pending Migrations in serve.migrations_dir not applied (last successful check).\n"
       "# TYPE registry_sync_migrations_pending gauge\n"
       "registry_sync_migrations_pending " << pending_ << "\n"
       "# HELP registry_sync_migrations_edited Applied migrations whose file changed since (last successful check).\n"
       "# TYPE registry_sync_migrations_edited gauge\n"
       "registry_sync_migrations_edited " << edited_ << "\n"
       "# HELP registry_sync_database_check_timestamp_seconds Unix time of the last readiness check.\n"
       "# TYPE registry_sync_database_check_timestamp_seconds gauge\n"
       "registry_sync_database_check_timestamp_seconds " << ts << "\n";
  return o.str();
}

}  // namespace rgsync::serve
