// Per-job metrics of `registry-sync serve`, rendered in the Prometheus text format (0.0.4).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace rgsync::serve {

struct JobStats {
  std::string kind;
  double last_success_ts = 0;   // unix seconds, 0 = never
  double last_run_ts = 0;
  double last_duration_s = 0;
  long last_rows_changed = 0;
  long rows_changed_total = 0;
  long runs_ok = 0, runs_failed = 0;
  long errors_total = 0;
  bool last_ok = false;
  bool blocked = false;         // a permanent failure: not retried until its input changes
  long permanent_failures_total = 0;
  bool active = true;           // this instance runs the job (holds its lock); false: another does
  std::string last_error;       // redacted, for logs and /readyz detail
  // hr jobs: users a full SCIM fetch did not see, looked up one by one before deactivating:
  // still at the source (kept) or confirmed gone.
  long hr_unseen_present_total = 0, hr_unseen_gone_total = 0;
  // hr jobs: conflicts the last plan found (reported, not applied), by kind; source: the HR
  // source's name. Empty until a plan ran.
  std::string hr_source;
  std::map<std::string, long> hr_conflicts;
};

class Metrics {
 public:
  void declare(const std::string &job, const std::string &kind);
  void success(const std::string &job, double started_ts, double duration_s, long rows_changed);
  void failure(const std::string &job, double started_ts, double duration_s, const std::string &error, bool permanent = false);
  void set_blocked(const std::string &job, bool blocked);
  void set_active(const std::string &job, bool active);
  // The conflicts of an hr job's last plan, counted by Conflict::kind.
  void hr_conflicts(const std::string &job, const std::string &source, const std::map<std::string, long> &by_kind);
  void hr_unseen(const std::string &job, long present, long gone);
  JobStats get(const std::string &job) const;
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, JobStats> jobs_;
};

// Escapes a label value for the exposition format (backslash, quote, newline).
std::string prom_label(const std::string &v);

}  // namespace rgsync::serve
