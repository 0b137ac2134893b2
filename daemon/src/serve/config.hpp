// `registry-sync serve` configuration, read from the registry-sync config file (the same file
// that holds database_url and log_level):
//
//   database_url: postgresql://registry_sync@db.internal/registry
//   serve:
//     listen: 127.0.0.1:9187          # /healthz /readyz /metrics
//     migrations_dir: /usr/share/registry-sync/migrations   # /readyz checks none is pending
//     retry_max_seconds: 60           # backoff cap when a run fails transiently (the run is retried)
//     readiness_check_seconds: 5      # how often the database and migrations are checked for /readyz
//     request_timeout_seconds: 5      # an HTTP request (head and body) not complete by then is closed
//     http_workers: 8                 # connections served at once
//   jobs:
//     hr-workday:
//       kind: hr
//       mapping: /etc/registry-sync/hr-workday.yaml
//       every_minutes: 15
//       tenant: default
//     seal:
//       kind: seal                     # audit.seal() of the registry_guard extension
//       every_minutes: 60
//     snapshot:
//       kind: export                   # the fallback YAML snapshot (serve/export_job.hpp)
//       dir: /var/lib/registry-sync/snapshot
//       every_minutes: 15
#pragma once

#include <string>
#include <vector>

#include "common/config_file.hpp"
#include "hr/mapping.hpp"
#include "registry/read.hpp"

namespace rgsync::serve {

struct JobConfig {
  std::string name;
  std::string kind;          // hr | apply | seal | manifest | export | health
  double every_s = 0;
  std::string tenant = "default";
  bool allow_mass_deactivation = false;
  std::string mapping_file;  // hr
  hr::HrMapping mapping;     // hr, loaded at start so a bad file fails fast
  RegistryOptions registry;  // apply: directory, mapping path, dangling policy; export: mapping path
  std::string on_dangling = "fail";  // apply, as recorded with the run
  std::string manifest_dir;  // manifest: where each run writes registry-<UTC time>.json
  std::string snapshot_dir;  // export: where the snapshots and the `current` symlink live
  // health: audit.verify_incremental() every run, the full audit.verify() at most this often
  double full_verify_every_s = 24 * 3600;
};

struct ServeConfig {
  std::string listen = "127.0.0.1:9187";
  std::string migrations_dir = "migrations";
  double retry_max_s = 60;
  double readiness_check_s = 5;  // how often /readyz's state is refreshed
  double request_timeout_s = 5;  // whole HTTP request (head + body) deadline per connection
  int http_workers = 8;          // HTTP connections served at once
  std::vector<JobConfig> jobs;
};

// Validates the serve.* and jobs.* keys (unknown keys are errors naming file:line).
ServeConfig load_serve_config(const ConfigFile &file);

}  // namespace rgsync::serve
