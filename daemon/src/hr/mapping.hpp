// The HR mapping file (e.g. config/hr-scim.yaml): which HR source, how its fields map onto the
// HR-owned columns of principal_profiles, which users may be created (scope), the id template
// for created profiles and the safety threshold for deactivations.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/field_template.hpp"
#include "hr/sources/http.hpp"

namespace rgsync::hr {

enum class SourceKind { Scim, Workday, SuccessFactors, Csv };

const char *kind_name(SourceKind k);

// Columns HR sync may write (the HR-owned columns); `status` follows the HR `active` flag and
// the bookkeeping columns (hr_source, hr_created, last_hr_sync_at) are HR sync's own. Anything
// else (preferences, business_process_ids, default_filters, persona_profile, ...) is owned by
// the registry and refused in a mapping.
const std::vector<std::string> &hr_mappable_columns();

struct SourceConfig {
  std::string name;  // watermark key, audit actor "registry-sync hr:<name>", hr_source value
  SourceKind kind = SourceKind::Scim;
  std::string url;   // scim: base URL (…/scim); workday / successfactors: the report / OData URL
  std::string file;  // workday / successfactors JSON file, or CSV file
  std::string token_env, token_file;
  int page_size = 100;
  long max_pages = 10000;           // a source paging past this fails (endless paging)
  bool allow_insecure_http = false;  // plain http to a non-loopback host
  char csv_delimiter = ',';
  uint64_t max_file_bytes = 256ull << 20;  // `file` sources: larger files are refused
  RetryPolicy retry;
};

struct FieldRule {
  std::string column;
  std::string expr;  // a field path (a.b.c) or a template with {path} placeholders
  std::optional<FieldTemplate> tpl;  // set when expr is a template

  FieldRule(std::string c, std::string e, std::optional<FieldTemplate> t = std::nullopt)
      : column(std::move(c)), expr(std::move(e)), tpl(std::move(t)) {}
};

struct HrMapping {
  std::string file;
  SourceConfig source;
  std::vector<FieldRule> fields;        // in file order; employee_id always present
  std::string active_field;             // empty: every user is active
  std::vector<std::string> active_values;  // lower-cased texts meaning active
  std::string last_modified_field;      // scim: meta.lastModified
  std::set<std::string> scope_departments, scope_titles;  // lower-cased; empty = any
  FieldTemplate id_template = FieldTemplate::parse("emp_{employee_id}");
  double deactivation_threshold = 0.10;
  double full_reconciliation_hours = 24;
  double watermark_overlap_s = 60;  // incremental runs ask for changes since watermark minus this

  bool in_scope(const std::optional<std::string> &department, const std::optional<std::string> &title) const;
  // Expands id_template with a user's column values; throws when a placeholder has no value.
  std::string make_id(const std::map<std::string, std::optional<std::string>> &columns) const;
};

// Loads and validates a mapping file. hr_owned (from the registry mapping, when known) limits
// the columns a mapping may name. Errors name file:line and what to do.
HrMapping load_hr_mapping(const std::string &path, const std::optional<std::set<std::string>> &hr_owned = std::nullopt);
HrMapping parse_hr_mapping(const std::string &yaml_text, const std::string &name,
                           const std::optional<std::set<std::string>> &hr_owned = std::nullopt);

// Reads the bearer token from the configured environment variable or file ("" when neither).
std::string read_token(const SourceConfig &src);

// Looks up a dotted path in a JSON record. Keys may themselves contain dots (SCIM extension
// URNs): the longest key prefix that exists wins. A list met on the way (SCIM emails) is
// entered at its element with "primary": true, else the first. Returns nullptr when absent.
const nlohmann::json *json_path(const nlohmann::json &record, const std::string &path);

}  // namespace rgsync::hr
