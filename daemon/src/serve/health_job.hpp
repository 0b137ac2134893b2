// serve's `health` job: registry health computed on a schedule in one read-only transaction,
// kept in memory for /metrics (the HTTP threads never query the database).
//
//   jobs:
//     health: {kind: health, every_minutes: 5}
//
// Each run reads: audit.verify_incremental() (only what was sealed since the last seal a
// previous run found good), the full audit.verify() at most every full_verify_every_minutes
// (and when the extension has no incremental verify, or the role may not run it), unsealed
// versions and the time of the last audit.seal(), when the registry_guard extension is installed; each declared reference's
// violations (guard.reference_violations: missing elements of report-only references, and of
// enforced ones, which should stay 0); the last successful HR sync run per tenant and the
// active principals without an HR link. The full audit.verify() walks the whole chain: give it
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
  std::optional<bool> audit_ok;  // nullopt: extension not installed; else the last full and incremental both ok
  long audit_checked = 0, audit_unsealed = 0;  // audit_checked: by the last full verify
  bool full_ok = false;          // the last full audit.verify()
  double full_verify_at = 0;     // when it ran (0 = not yet)
  std::optional<bool> incremental_ok;  // nullopt: no audit.verify_incremental() (or not allowed)
  long incremental_checked = 0;
  double last_seal_ts = 0;
  std::map<std::pair<std::string, std::string>, long> reference_violations;  // (name, mode) -> missing elements
  std::map<std::string, double> hr_last_success_ts;                          // tenant -> unix seconds
  std::optional<long> principals_not_in_hr;
};

// Computes the health metrics (throws on a database error); full: run the full audit.verify()
// too (the previous full result is kept otherwise).
Health compute_health(pqxx::connection &conn, bool full, const std::optional<Health> &previous);

class HealthState {
 public:
  void set(const std::string &job, Health h);
  std::optional<Health> get(const std::string &job) const;
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Health> jobs_;
};

}  // namespace rgsync::serve
