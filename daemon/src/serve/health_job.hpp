// serve's `health` job: registry health computed on a schedule in one read-only transaction,
// kept in memory for /metrics (the HTTP threads never query the database).
//
//   jobs:
//     health: {kind: health, every_minutes: 5}
//
// Each run reads: audit.verify() (ok, versions checked, unsealed versions) and the time of the
// last audit.seal(), when the registry_guard extension is installed; each declared reference's
// violations (guard.reference_violations: missing elements of report-only references, and of
// enforced ones, which should stay 0); the last successful HR sync run per tenant and the
// active principals without an HR link. audit.verify() walks the whole chain: run the job at
// an interval its cost allows. A run that fails keeps the previous values (and
// registry_sync_health_timestamp_seconds says when they were computed).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <pqxx/connection>
#include <string>

namespace rgsync::serve {

struct Health {
  double computed_at = 0;
  std::optional<bool> audit_ok;  // nullopt: extension not installed
  long audit_checked = 0, audit_unsealed = 0;
  double last_seal_ts = 0;
  std::map<std::pair<std::string, std::string>, long> reference_violations;  // (name, mode) -> missing elements
  std::map<std::string, double> hr_last_success_ts;                          // tenant -> unix seconds
  std::optional<long> principals_not_in_hr;
};

// Computes the health metrics (throws on a database error).
Health compute_health(pqxx::connection &conn);

class HealthState {
 public:
  void set(const std::string &job, Health h);
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Health> jobs_;
};

}  // namespace rgsync::serve
