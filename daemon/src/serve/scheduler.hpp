// serve's scheduler: runs the configured jobs on their schedules, one at a time, until stop.
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
// it after any failure (libpq connections do not survive a server restart).
#pragma once

#include <atomic>

#include "common/connection_settings.hpp"
#include "serve/config.hpp"
#include "serve/jobs.hpp"

namespace rgsync::serve {

// Declares each job's metrics and the snapshot age kept across restarts (before /metrics serves).
void declare_jobs(const ServeConfig &cfg, SharedState &state);

// Runs the jobs until stop; retry_blocked (SIGHUP) unblocks permanently failed jobs.
void run_scheduler(const ServeConfig &cfg, const ConnectionSettings &cs, SharedState &state, const std::atomic<bool> &stop,
                   std::atomic<bool> &retry_blocked);

}  // namespace rgsync::serve
