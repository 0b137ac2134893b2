// One HR sync run against the database: fetch (full or incremental from the stored
// watermark), plan, check the deactivation threshold, then write everything in one
// transaction (profiles, watermark, sync_runs row) with the HR source as the audit actor.
// Shared by `registry-sync hr` and the hr jobs of `registry-sync serve`.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>
#include <pqxx/connection>

#include "hr/mapping.hpp"
#include "hr/plan.hpp"

namespace rgsync::hr {

struct RunOptions {
  std::string tenant = "default";
  bool dry_run = false;
  bool force_full = false;
  bool allow_mass_deactivation = false;
  const std::atomic<bool> *stop = nullptr;
  // serve: the data hash of a run refused before. A refusal of the same HR data again is
  // not recorded (no sync_runs row): status RefusedUnchanged.
  std::string refused_data_hash;
  bool record_failure = true;  // false: a failed run writes no sync_runs row (serve re-checking a blocked job)
};

enum class RunStatus { Succeeded, DryRun, Refused, RefusedUnchanged };

struct RunResult {
  RunStatus status = RunStatus::Succeeded;
  long sync_run_id = 0;
  bool full = true;
  long hr_users = 0, pages = 0, requests = 0, retries = 0;
  long rows_written = 0;
  // Users a full SCIM fetch did not see, looked up one by one before deactivating them:
  // still at the source (kept) and confirmed gone (see confirm_absent).
  long absent_present = 0, absent_gone = 0;
  Plan plan;
  std::string message;  // one-line summary
  std::string data_hash;  // SHA-256 over the fetched users (what HR said), for "input changed?"
};

// The audit actor for a source: "registry-sync hr:<name>".
std::string actor_for(const HrMapping &m);

// Runs one sync. Throws on fetch errors, bad payloads and database errors; before throwing
// it rolls back and records a failed sync_runs row when the database is reachable.
RunResult run_hr_sync(pqxx::connection &conn, const HrMapping &m, const RunOptions &opt);

}  // namespace rgsync::hr
