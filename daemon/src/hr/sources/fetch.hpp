// HR sources: SCIM 2.0 /Users (scim.cpp), Workday RaaS JSON (workday.cpp), SuccessFactors OData v2
// (successfactors.cpp) over HTTP or from a file, and CSV files (csv.cpp). Each yields mapped
// HR users; a payload that cannot be read completely and correctly is an error (the caller
// then writes nothing).
#pragma once

#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hr/mapping.hpp"
#include "hr/plan.hpp"

namespace rgsync::hr {

struct FetchOptions {
  std::string since;  // SCIM incremental: only users with meta.lastModified >= since ("" = all)
  const std::atomic<bool> *stop = nullptr;
  std::function<void(double)> sleeper;  // tests: replaces backoff sleeps
};

struct FetchResult {
  std::vector<HrUser> users;
  std::vector<std::string> source_ids;  // SCIM: users[i]'s SCIM id (empty for other sources)
  bool complete = true;          // every HR user (a full fetch), so absent users are gone
  long requests = 0, retries = 0, pages = 0;
};

// The HR payload cannot be used (not JSON, wrong shape, paging that does not advance, a
// next-link to another origin, a record without employee id, ...): retrying the same data
// does not help. Transport and HTTP failures are HttpError (see http.hpp).
class SourceDataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

FetchResult fetch_hr_users(const HrMapping &m, const FetchOptions &opt);

// A full SCIM fetch pages by index, which is not a snapshot: a delete plus an add between the
// same two pages keeps totalResults and the number of distinct users right while one user
// shifts across the page boundary, unseen. Before such users are deactivated their absence is
// confirmed at the source, one request each (a filter on the attribute employee_id is mapped
// from); each request counts against max_pages.
struct AbsenceCheck {
  std::vector<HrUser> present;  // still at the source: to be treated as fetched
  long gone = 0;                // confirmed absent
  long requests = 0;
};

// Whether absences of this source can (and need to) be confirmed: SCIM with employee_id
// mapped from a plain attribute path.
bool can_confirm_absence(const HrMapping &m);

// employee_ids: profiles linked to the source that the full fetch did not see. fetched: that
// fetch (its users resolve the manager references of users found here).
AbsenceCheck confirm_absent(const HrMapping &m, const std::vector<std::string> &employee_ids, const FetchResult &fetched,
                            const FetchOptions &opt);

// One HR record (JSON object; CSV rows are objects of header -> text) -> HrUser. Throws with
// the record's key and the field when a value has the wrong type or the employee id is missing.
HrUser map_record(const HrMapping &m, const nlohmann::json &rec, const std::string &key);

// RFC 4180 CSV (quoted fields, "" escapes, CRLF or LF) with a header row -> JSON objects.
// Rejects non-UTF-8 input and rows with a different number of fields, naming the line.
std::vector<nlohmann::json> parse_csv(const std::string &text, char delimiter, const std::string &name);

// Checks that text is valid UTF-8; returns the 1-based line of the first bad byte, or 0.
long invalid_utf8_line(const std::string &text);

}  // namespace rgsync::hr
