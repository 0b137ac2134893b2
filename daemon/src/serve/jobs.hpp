// One run of one `serve` job (hr, apply, seal, manifest, health, export) on the job's own
// connection; the job's session advisory lock (one serve instance runs a job at a time); what
// a permanently failed job's input is, so it is retried only when that changes.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include <pqxx/pqxx>

#include "common/connection_settings.hpp"
#include "serve/config.hpp"
#include "serve/export_job.hpp"
#include "serve/health_job.hpp"
#include "serve/health_metrics.hpp"
#include "serve/metrics.hpp"

namespace rgsync::serve {

using Clock = std::chrono::steady_clock;

// Seconds since the epoch (metrics carry wall-clock times).
double unix_now();

// What the jobs and the readiness checker publish and /metrics renders.
struct SharedState {
  Metrics metrics;              // per job: last success, duration, rows, errors, blocked, active
  SnapshotMetrics snapshots;    // the age of each export job's snapshot
  HealthMetrics health;         // database reachability and migration state (readiness checker)
  HealthState registry_health;  // the health job's registry metrics (audit, references, HR)
  std::string render_metrics() const;
};

struct JobState {
  JobConfig cfg;
  Clock::time_point due;
  int failures = 0;  // consecutive transient failures, for the backoff
  std::unique_ptr<pqxx::connection> conn;
  bool holds_job_lock = false;  // on conn: this instance runs the job
  double last_full_verify = 0;  // health: unix time of the last full audit.verify()
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

// What a permanently failed job depends on, apart from the HR data of HTTP sources (which is
// only seen by fetching): its files and the HR token.
std::string input_fingerprint(const JobConfig &c);

// Jobs whose input includes data that is only seen by running (HR over HTTP, the database for
// seal) are re-run at their interval while blocked; the others only when a file changed.
bool rerun_while_blocked(const JobConfig &c);

// Runs one job once on its connection (opened when missing); returns the rows it changed.
// A refusal or a failed validation throws PermanentFailure.
long run_job(JobState &j, const ConnectionSettings &cs, const std::atomic<bool> &stop, SharedState &state);

// Whether this instance may run the job now: it holds (or obtains) the job's session
// advisory lock on the job's connection. Another serve instance on the same database holds
// it while it runs the job; its lock ends with its session (killed, stopped, connection lost).
bool take_job_lock(JobState &j, const ConnectionSettings &cs);

}  // namespace rgsync::serve
