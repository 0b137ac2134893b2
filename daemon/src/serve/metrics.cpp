// Job metrics and their Prometheus text rendering (see serve_metrics.hpp).
#include "serve/metrics.hpp"

#include <cstdio>
#include <sstream>

namespace rgsync::serve {

std::string prom_label(const std::string &v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') { out += '\\'; out += c; }
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void Metrics::declare(const std::string &job, const std::string &kind) {
  std::lock_guard<std::mutex> l(mu_);
  jobs_[job].kind = kind;
}

void Metrics::success(const std::string &job, double started, double duration, long rows) {
  std::lock_guard<std::mutex> l(mu_);
  auto &j = jobs_[job];
  j.last_run_ts = started;
  j.last_success_ts = started + duration;
  j.last_duration_s = duration;
  j.last_rows_changed = rows;
  j.rows_changed_total += rows;
  ++j.runs_ok;
  j.last_ok = true;
  j.last_error.clear();
}

void Metrics::set_blocked(const std::string &job, bool blocked) {
  std::lock_guard<std::mutex> l(mu_);
  jobs_[job].blocked = blocked;
}

void Metrics::set_active(const std::string &job, bool active) {
  std::lock_guard<std::mutex> l(mu_);
  jobs_[job].active = active;
}

void Metrics::hr_unseen(const std::string &job, long present, long gone) {
  std::lock_guard<std::mutex> l(mu_);
  auto &s = jobs_[job];
  s.hr_unseen_present_total += present;
  s.hr_unseen_gone_total += gone;
}

void Metrics::hr_conflicts(const std::string &job, const std::string &source, const std::map<std::string, long> &by_kind) {
  std::lock_guard<std::mutex> l(mu_);
  auto &s = jobs_[job];
  s.hr_source = source;
  s.hr_conflicts = {{"same_profile", 0}, {"ownership", 0}, {"email", 0}};
  for (const auto &[kind, n] : by_kind) s.hr_conflicts[kind] += n;
}

void Metrics::failure(const std::string &job, double started, double duration, const std::string &error, bool permanent) {
  std::lock_guard<std::mutex> l(mu_);
  auto &j = jobs_[job];
  if (permanent) ++j.permanent_failures_total;
  j.last_run_ts = started;
  j.last_duration_s = duration;
  ++j.runs_failed;
  ++j.errors_total;
  j.last_ok = false;
  j.last_error = error;
}

JobStats Metrics::get(const std::string &job) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = jobs_.find(job);
  return it == jobs_.end() ? JobStats{} : it->second;
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> l(mu_);
  std::ostringstream o;
  auto num = [](double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string(buf);
  };
  struct Family { const char *name, *type, *help; };
  const Family families[] = {
      {"registry_sync_job_last_success_timestamp_seconds", "gauge", "Unix time the job last finished successfully (0 = never)."},
      {"registry_sync_job_last_run_timestamp_seconds", "gauge", "Unix time the job last started."},
      {"registry_sync_job_last_duration_seconds", "gauge", "Duration of the job's last run."},
      {"registry_sync_job_last_rows_changed", "gauge", "Rows written by the job's last successful run."},
      {"registry_sync_job_rows_changed_total", "counter", "Rows written by the job since start."},
      {"registry_sync_job_runs_total", "counter", "Job runs since start, by outcome."},
      {"registry_sync_job_errors_total", "counter", "Failed job runs (and retries) since start."},
      {"registry_sync_job_up", "gauge", "1 when the job's last run succeeded."},
      {"registry_sync_job_blocked", "gauge",
       "1 when the job's last run failed permanently (refusal, validation, authentication): not retried until its input changes or SIGHUP."},
      {"registry_sync_job_permanent_failures_total", "counter", "Runs that failed permanently since start."},
      {"registry_sync_job_active", "gauge", "1 when this instance runs the job; 0 when another serve instance holds it."},
      {"registry_sync_hr_conflicts", "gauge",
       "HR jobs: conflicts the last plan found and did not apply, by conflict: same_profile (several HR users map to "
       "one profile id), ownership (a profile of another HR source, or an id taken by an unlinked profile), email."},
      {"registry_sync_hr_unseen_users_total", "counter",
       "HR jobs: users a full SCIM fetch did not see (paging by index is not a snapshot), looked up one by one before "
       "deactivation, by result: present (kept) or gone."},
  };
  for (const auto &f : families) {
    o << "# HELP " << f.name << " " << f.help << "\n# TYPE " << f.name << " " << f.type << "\n";
    std::string n = f.name;
    for (const auto &[job, s] : jobs_) {
      std::string lbl = "job=\"" + prom_label(job) + "\",kind=\"" + prom_label(s.kind) + "\"";
      if (n == "registry_sync_job_runs_total") {
        o << n << "{" << lbl << ",outcome=\"success\"} " << s.runs_ok << "\n";
        o << n << "{" << lbl << ",outcome=\"failure\"} " << s.runs_failed << "\n";
        continue;
      }
      if (n == "registry_sync_hr_conflicts") {
        for (const auto &[conflict, count] : s.hr_conflicts)
          o << n << "{" << lbl << ",source=\"" << prom_label(s.hr_source) << "\",conflict=\"" << prom_label(conflict) << "\"} " << count << "\n";
        continue;
      }
      if (n == "registry_sync_hr_unseen_users_total") {
        if (s.kind != "hr") continue;
        o << n << "{" << lbl << ",result=\"present\"} " << s.hr_unseen_present_total << "\n";
        o << n << "{" << lbl << ",result=\"gone\"} " << s.hr_unseen_gone_total << "\n";
        continue;
      }
      double v = n == "registry_sync_job_last_success_timestamp_seconds" ? s.last_success_ts
               : n == "registry_sync_job_last_run_timestamp_seconds"     ? s.last_run_ts
               : n == "registry_sync_job_last_duration_seconds"          ? s.last_duration_s
               : n == "registry_sync_job_last_rows_changed"              ? static_cast<double>(s.last_rows_changed)
               : n == "registry_sync_job_rows_changed_total"             ? static_cast<double>(s.rows_changed_total)
               : n == "registry_sync_job_errors_total"                   ? static_cast<double>(s.errors_total)
               : n == "registry_sync_job_blocked"                        ? (s.blocked ? 1.0 : 0.0)
               : n == "registry_sync_job_permanent_failures_total"       ? static_cast<double>(s.permanent_failures_total)
               : n == "registry_sync_job_active"                         ? (s.active ? 1.0 : 0.0)
                                                                         : (s.last_ok ? 1.0 : 0.0);
      o << n << "{" << lbl << "} " << num(v) << "\n";
    }
  }
  return o.str();
}

}  // namespace rgsync::serve
