// serve's scheduler (see serve/scheduler.hpp).
#include "serve/scheduler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <thread>
#include <vector>

#include "common/backoff.hpp"
#include "common/errors.hpp"
#include "db/advisory_lock.hpp"
#include "hr/sources/fetch.hpp"
#include "hr/sources/http.hpp"

namespace rgsync::serve {

namespace {

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

}  // namespace

void declare_jobs(const ServeConfig &cfg, SharedState &state) {
  for (auto &jc : cfg.jobs) {
    state.metrics.declare(jc.name, jc.kind);
    if (jc.kind == "export") state.snapshots.watch(jc.name, jc.snapshot_dir);  // read through `current`: kept across restarts
  }
}

void run_scheduler(const ServeConfig &cfg, const ConnectionSettings &cs, SharedState &state, const std::atomic<bool> &stop,
                   std::atomic<bool> &retry_blocked) {
  std::vector<JobState> jobs;
  auto start = Clock::now();
  for (auto &jc : cfg.jobs) {
    JobState j;
    j.cfg = jc;
    j.due = start;
    jobs.push_back(std::move(j));
  }
  auto after = [](double s) { return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); };
  while (!stop) {
    if (retry_blocked.exchange(false)) {
      for (auto &j : jobs) {
        if (!j.blocked) continue;
        spdlog::info("job {}: SIGHUP: retrying the blocked job now", j.cfg.name);
        j.blocked = false;
        j.refused_data_hash.clear();
        state.metrics.set_blocked(j.cfg.name, false);
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
      bool mine = take_job_lock(j, cs);
      state.metrics.set_active(j.cfg.name, mine);
      if (!mine) {
        j.due = Clock::now() + every;
        continue;
      }
    } catch (const std::exception &e) {
      j.conn.reset();
      j.holds_job_lock = false;
      state.metrics.failure(j.cfg.name, unix_now(), 0, describe_error(e), false);
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
      long rows = run_job(j, cs, stop, state);
      state.metrics.success(j.cfg.name, t0, unix_now() - t0, rows);
      if (was_blocked) spdlog::info("job {}: input changed, the job runs again", j.cfg.name);
      j.blocked = false;
      state.metrics.set_blocked(j.cfg.name, false);
      j.failures = 0;
      j.due += every;
      if (j.due < Clock::now()) j.due = Clock::now();  // overran its slot: run again now, not a burst
    } catch (const std::exception &e) {
      std::string err = describe_error(e);
      Failure f = classify(e);
      if (stop) {
        state.metrics.failure(j.cfg.name, t0, unix_now() - t0, err, false);
        break;
      }
      if (!f.permanent) {
        j.conn.reset();
        j.holds_job_lock = false;
        state.metrics.failure(j.cfg.name, t0, unix_now() - t0, err, false);
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
        state.metrics.failure(j.cfg.name, t0, unix_now() - t0, err, true);
        state.metrics.set_blocked(j.cfg.name, true);
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
}

}  // namespace rgsync::serve
