// serve's `export` job: the fallback YAML snapshot, written atomically.
//
//   jobs:
//     snapshot:
//       kind: export
//       dir: /var/lib/registry-sync/snapshot   # snapshots live here; `current` names the newest
//       mapping: /usr/share/registry-sync/registry-mapping.yaml   # optional (the default mapping)
//       tenant: default
//       every_minutes: 15
//
// Each run writes the whole registry (the same files `registry-sync export` writes) into a new
// directory DIR/.incoming-<stamp>-<pid>, each file fsynced, then SHA256SUMS (sha256sum -c
// format, over every other file) and snapshot.json (taken_at, tenant, counts), fsyncs the
// directory, renames it to DIR/snapshot-<stamp>Z and only then points the symlink DIR/current at
// it (a new symlink renamed over the old one: readers see the old snapshot or the new one, never
// a mix). The previous snapshot is kept; older ones are removed. A run that fails at any point
// (database down, a table it cannot read, a row the mapping cannot express, a full disk) removes
// its own incoming directory and leaves `current` and the snapshots as they were.
#pragma once

#include <map>
#include <mutex>
#include <pqxx/connection>
#include <string>

#include "registry/read.hpp"

namespace rgsync::serve {

struct SnapshotResult {
  std::string path;  // DIR/snapshot-<stamp>Z
  size_t files = 0, rows = 0, documents = 0;
  double taken_at = 0;  // unix seconds
};

// Writes a new snapshot under `dir` as described above; throws (leaving the last good snapshot
// in place) on any failure.
SnapshotResult write_snapshot(pqxx::connection &conn, const RegistryOptions &registry, const std::string &dir,
                              const std::string &tenant);

// taken_at (unix seconds) of the snapshot DIR/current points at, read from its snapshot.json;
// 0 when there is none (or it cannot be read).
double current_snapshot_time(const std::string &dir);

// The time and age of each export job's current snapshot, for /metrics. Read from
// DIR/current/snapshot.json when /metrics is answered, so the numbers always describe the
// snapshot `current` points at (a value kept in memory and set after the export lagged the
// symlink swap: a scrape in between reported the previous snapshot), also after a restart.
class SnapshotMetrics {
 public:
  void watch(const std::string &job, const std::string &dir);
  std::string render(double now) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> dir_;
};

}  // namespace rgsync::serve
