// HR sync planning, free of I/O: HR users + existing principal profiles -> what to create,
// update (with the changed fields), deactivate, and what conflicts or is skipped.
//
// Rules: correlate by employee id, then by email (case-insensitive). An HR user without a
// profile is created only when active and in scope (else skipped and counted). A profile
// linked to this source whose HR user is gone (full runs only) or inactive becomes
// status 'inactive', never deleted. Two HR users matching one profile, or one employee id
// twice in HR, is a conflict: reported, not applied. Unlinked profiles nobody matched are
// reported as "not in HR".
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hr/mapping.hpp"

namespace rgsync::hr {

using Value = std::optional<std::string>;
using Columns = std::map<std::string, Value>;  // column -> text value (nullopt = NULL)

struct HrUser {
  std::string key;       // where it came from, for messages: "SCIM id 42", "row 17", "Report_Entry[3]"
  Columns columns;       // mapped HR-owned columns (employee_id always set)
  bool active = true;
  std::string last_modified;  // source timestamp (SCIM meta.lastModified), may be empty
};

struct Profile {
  std::string id;
  Columns columns;       // HR-owned columns + status
  Value hr_source;       // NULL: not linked to HR
};

struct Change {
  std::string column;
  Value before, after;
};

struct PlannedCreate {
  std::string id;
  Columns columns;       // HR-owned columns incl. status
  std::string hr_key;
};

struct PlannedUpdate {
  std::string id;
  std::vector<Change> changes;  // includes status and hr_source (linking) changes
  std::string hr_key;           // empty when the HR user is gone
  bool deactivates = false;     // status goes from not-inactive to inactive
};

struct Conflict {
  std::string profile_id;      // empty when no profile exists yet
  std::string reason;
  std::vector<std::string> hr_keys;
  // What kind (the label of serve's registry_sync_hr_conflicts): same_profile (several HR users
  // map to one profile id), ownership (the profile belongs to another HR source, or the id an
  // HR user would get is taken by a profile not linked to it), email (an email matches several
  // profiles, or one with another employee id).
  std::string kind;
};

struct Plan {
  std::vector<PlannedCreate> creates;
  std::vector<PlannedUpdate> updates;  // deactivations included (deactivates = true)
  std::vector<Conflict> conflicts;
  std::vector<std::string> not_in_hr;  // unlinked profile ids that no HR user matched
  long skipped_out_of_scope = 0;
  long skipped_inactive = 0;           // inactive HR users without a profile
  long unchanged = 0;
  long hr_managed = 0;                 // profiles linked to this source and not inactive, before the run
  long deactivations = 0;
  bool threshold_exceeded = false;

  long rows_to_write() const { return static_cast<long>(creates.size() + updates.size()); }
  nlohmann::json counts() const;
  // Human-readable plan (dry-run output), one line per item, deterministic order.
  std::string describe() const;
};

struct PlanInput {
  const HrMapping &mapping;
  bool full = true;  // full reconciliation: HR users absent from the fetch are gone
};

Plan make_plan(const PlanInput &in, const std::vector<HrUser> &users, const std::vector<Profile> &profiles);

// Resolves SCIM manager references (manager.value = the manager's SCIM id) to the manager's
// employee id using the users of the same fetch; unresolvable values are kept as they are.
// scim_ids[i] is users[i]'s SCIM id.
void resolve_managers(std::vector<HrUser> &users, const std::vector<std::string> &scim_ids,
                      const std::map<std::string, std::string> &extra_scim_to_employee = {});

}  // namespace rgsync::hr
