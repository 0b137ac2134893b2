// SQL for HR sync: reading principal profiles and the watermark, writing a plan, the
// watermark and the sync_runs row. Everything runs in the caller's transaction.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/transaction_base>

#include "hr/plan.hpp"

namespace rgsync::hr {

struct Watermark {
  std::string value;           // stored position minus the overlap, UTC ISO 8601 ("" = none)
  double hours_since_full = -1;  // < 0: never had a full run
};

class HrStore {
 public:
  HrStore(pqxx::transaction_base &tx, std::string tenant);

  // Whether principal_profiles has a client_id column (multi-tenant schema).
  bool tenanted() const { return tenanted_; }
  // Fails with what to do when the HR columns or registry_sync tables are missing.
  void check_schema();

  std::vector<Profile> load_profiles();
  // The stored watermark moved back by overlap_s seconds (the safety window for changes
  // committed late in the same second), formatted for a SCIM filter.
  std::optional<Watermark> load_watermark(const std::string &key, double overlap_s);
  // Stores the latest instant among last_modified (ISO 8601 texts, any offset) if later than
  // the stored one. Throws naming the value when one is not a timestamp.
  void save_watermark(const std::string &key, const std::vector<std::string> &last_modified, bool full);

  long start_run(const std::string &actor, bool dry_run, const nlohmann::json &file_hashes);
  void finish_run(long id, const std::string &status, const nlohmann::json &counts, const std::string &error);

  // Writes creates and updates; returns rows written. Throws if a row vanished meanwhile.
  long apply(const Plan &plan, const std::string &source);

 private:
  pqxx::transaction_base &tx_;
  std::string tenant_;
  bool tenanted_ = false;
};

// Records a failed run in its own transaction (the run's transaction was rolled back).
void record_failed_run(pqxx::connection_base &conn, const std::string &tenant, const std::string &actor,
                       bool dry_run, const std::string &error);

}  // namespace rgsync::hr
