// Loading and validating HR mapping files (see hr_mapping.hpp).
#include "hr/mapping.hpp"
#include "common/file_reader.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "yaml/json_reader.hpp"

namespace rgsync::hr {

namespace {

const char *kEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

[[noreturn]] void fail(const YamlDoc &doc, const std::string &ptr, const std::string &what) {
  throw std::runtime_error(doc.where(ptr) + ": " + what);
}

void only_keys(const YamlDoc &doc, const std::string &ptr, const nlohmann::json &obj,
               const std::set<std::string> &allowed) {
  if (!obj.is_object()) fail(doc, ptr, "expected a mapping of keys");
  for (auto &[k, v] : obj.items()) {
    if (!allowed.count(k)) {
      std::string list;
      for (auto &a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(doc, ptr + "/" + k, "unknown key '" + k + "' (allowed here: " + list + ")");
    }
  }
}

std::string text(const YamlDoc &doc, const std::string &ptr, const nlohmann::json &v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean())
    if (auto w = doc.written(ptr)) return *w;
  fail(doc, ptr, "expected text");
}

double number(const YamlDoc &doc, const std::string &ptr, const nlohmann::json &v) {
  if (v.is_number()) return v.get<double>();
  fail(doc, ptr, "expected a number");
}

bool boolean(const YamlDoc &doc, const std::string &ptr, const nlohmann::json &v) {
  if (v.is_boolean()) return v.get<bool>();
  fail(doc, ptr, "expected true or false");
}

std::set<std::string> lower_list(const YamlDoc &doc, const std::string &ptr, const nlohmann::json &v) {
  std::set<std::string> out;
  if (v.is_null()) return out;
  if (!v.is_array()) fail(doc, ptr, "expected a list");
  for (size_t i = 0; i < v.size(); ++i) out.insert(lower(text(doc, ptr + "/" + std::to_string(i), v[i])));
  return out;
}

}  // namespace

const char *kind_name(SourceKind k) {
  switch (k) {
    case SourceKind::Scim: return "scim";
    case SourceKind::Workday: return "workday";
    case SourceKind::SuccessFactors: return "successfactors";
    case SourceKind::Csv: return "csv";
  }
  return "?";
}

const std::vector<std::string> &hr_mappable_columns() {
  static const std::vector<std::string> cols = {"employee_id", "email", "name", "first_name", "last_name",
                                                "title", "department", "manager_id"};
  return cols;
}

bool HrMapping::in_scope(const std::optional<std::string> &department, const std::optional<std::string> &title) const {
  if (!scope_departments.empty() && (!department || !scope_departments.count(lower(*department)))) return false;
  if (!scope_titles.empty() && (!title || !scope_titles.count(lower(*title)))) return false;
  return true;
}

std::string HrMapping::make_id(const std::map<std::string, std::optional<std::string>> &columns) const {
  return *id_template.expand([&](const std::string &field) -> std::optional<std::string> {
    std::string key = field == "employeeNumber" ? "employee_id" : field;
    auto it = columns.find(key);
    if (it == columns.end() || !it->second || it->second->empty())
      throw std::runtime_error("id template '" + id_template.source() + "': no value for {" + field + "}");
    return *it->second;
  });
}

HrMapping parse_hr_mapping(const std::string &yaml_text, const std::string &name,
                           const std::optional<std::set<std::string>> &hr_owned) {
  YamlDoc doc = load_yaml_string(yaml_text, name);
  const auto &root = doc.root;
  HrMapping m;
  m.file = name;
  only_keys(doc, "", root, {"source", "fields", "active", "last_modified", "scope", "create_id_template",
                            "deactivation_threshold", "full_reconciliation_hours", "watermark_overlap_seconds"});
  if (!root.contains("source")) fail(doc, "", "missing 'source' (the HR system to read)");

  // source
  const auto &s = root["source"];
  only_keys(doc, "/source", s, {"name", "kind", "url", "file", "token_env", "token_file", "page_size",
                                "timeout_seconds", "connect_timeout_seconds", "max_attempts", "backoff_seconds",
                                "max_backoff_seconds", "max_retry_after_seconds", "csv_delimiter", "max_file_bytes", "max_pages",
                                "max_response_mb", "run_timeout_seconds", "allow_insecure_http"});
  if (!s.contains("kind")) fail(doc, "/source", "missing 'kind' (scim, workday, successfactors or csv)");
  std::string kind = text(doc, "/source/kind", s["kind"]);
  if (kind == "scim") m.source.kind = SourceKind::Scim;
  else if (kind == "workday") m.source.kind = SourceKind::Workday;
  else if (kind == "successfactors") m.source.kind = SourceKind::SuccessFactors;
  else if (kind == "csv") m.source.kind = SourceKind::Csv;
  else fail(doc, "/source/kind", "unknown source kind '" + kind + "' (use scim, workday, successfactors or csv)");
  m.source.name = s.contains("name") ? text(doc, "/source/name", s["name"]) : kind;
  if (m.source.name.empty() || m.source.name.find_first_of(" \t\n'\"") != std::string::npos)
    fail(doc, "/source/name", "source name must be non-empty without spaces or quotes");
  if (s.contains("url")) m.source.url = text(doc, "/source/url", s["url"]);
  if (s.contains("file")) m.source.file = text(doc, "/source/file", s["file"]);
  if (s.contains("token_env")) m.source.token_env = text(doc, "/source/token_env", s["token_env"]);
  if (s.contains("token_file")) m.source.token_file = text(doc, "/source/token_file", s["token_file"]);
  if (!m.source.token_env.empty() && !m.source.token_file.empty())
    fail(doc, "/source/token_file", "give either token_env or token_file, not both");
  bool is_csv = m.source.kind == SourceKind::Csv, is_scim = m.source.kind == SourceKind::Scim;
  if (is_csv && m.source.file.empty()) fail(doc, "/source", "a csv source needs 'file'");
  if (is_scim && m.source.url.empty()) fail(doc, "/source", "a scim source needs 'url' (the SCIM base URL, /Users is appended)");
  if (!is_csv && !is_scim && m.source.url.empty() == m.source.file.empty())
    fail(doc, "/source", "a " + kind + " source needs exactly one of 'url' or 'file'");
  if (is_csv && !m.source.url.empty()) fail(doc, "/source/url", "a csv source reads 'file', not 'url'");
  if (is_scim && !m.source.file.empty()) fail(doc, "/source/file", "a scim source reads 'url', not 'file'");
  auto num = [&](const char *key, double lo, double hi, double dflt) {
    if (!s.contains(key)) return dflt;
    double v = number(doc, std::string("/source/") + key, s[key]);
    if (v < lo || v > hi) fail(doc, std::string("/source/") + key, std::string(key) + " must be between " +
                                                                    std::to_string(lo) + " and " + std::to_string(hi));
    return v;
  };
  m.source.page_size = static_cast<int>(num("page_size", 1, 10000, 100));
  m.source.retry.timeout_ms = static_cast<long>(num("timeout_seconds", 0.1, 3600, 30) * 1000);
  m.source.retry.connect_timeout_ms = static_cast<long>(num("connect_timeout_seconds", 0.1, 600, 10) * 1000);
  m.source.retry.max_attempts = static_cast<int>(num("max_attempts", 1, 100, 5));
  m.source.retry.base_delay_s = num("backoff_seconds", 0, 600, 0.5);
  m.source.retry.max_delay_s = num("max_backoff_seconds", 0, 3600, 30);
  m.source.retry.max_retry_after_s = num("max_retry_after_seconds", 0, 86400, 300);
  m.source.max_file_bytes = static_cast<uint64_t>(num("max_file_bytes", 1, 1e12, 268435456));
  m.source.max_pages = static_cast<long>(num("max_pages", 1, 10000000, 10000));
  m.source.retry.max_body_bytes = static_cast<size_t>(num("max_response_mb", 1, 65536, 256) * 1024 * 1024);
  m.source.retry.run_timeout_s = num("run_timeout_seconds", 1, 7 * 86400, 3600);
  if (s.contains("allow_insecure_http")) m.source.allow_insecure_http = boolean(doc, "/source/allow_insecure_http", s["allow_insecure_http"]);
  if (!m.source.url.empty()) {
    std::string scheme = m.source.url.substr(0, m.source.url.find("://"));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
    if (url_origin(m.source.url).empty() || (scheme != "https" && scheme != "http"))
      fail(doc, "/source/url", "'" + redact_url(m.source.url) + "' is not an http(s) URL");
    if (scheme == "http" && !is_loopback_url(m.source.url) && !m.source.allow_insecure_http)
      fail(doc, "/source/url", "plain http would send the bearer token and HR data unencrypted: use an https URL "
                               "(http is accepted only for loopback hosts, or with allow_insecure_http: true)");
  }
  if (s.contains("csv_delimiter")) {
    std::string d = text(doc, "/source/csv_delimiter", s["csv_delimiter"]);
    if (d.size() != 1 || d == "\"" || d == "\n") fail(doc, "/source/csv_delimiter", "csv_delimiter must be one character");
    m.source.csv_delimiter = d[0];
  }

  // fields
  std::set<std::string> allowed(hr_mappable_columns().begin(), hr_mappable_columns().end());
  if (root.contains("fields")) {
    const auto &f = root["fields"];
    if (!f.is_object()) fail(doc, "/fields", "expected a mapping of principal_profiles column: HR field");
    for (auto &[col, expr] : f.items()) {
      std::string ptr = "/fields/" + col;
      if (!allowed.count(col))
        fail(doc, ptr, "'" + col + "' is not a column HR sync may write (HR-owned columns: employee_id, email, name, "
                       "first_name, last_name, title, department, manager_id; status follows 'active')");
      if (hr_owned && !hr_owned->count(col))
        fail(doc, ptr, "'" + col + "' is not listed in the registry mapping's hr_owned_columns for principal_profiles");
      std::string e = text(doc, ptr, expr);
      if (e.empty()) fail(doc, ptr, "empty field path");
      FieldRule rule{col, e, std::nullopt};
      if (e.find_first_of("{}") != std::string::npos) {
        try {
          rule.tpl = FieldTemplate::parse(e);
        } catch (const TemplateError &err) {
          fail(doc, ptr, err.what());
        }
      }
      m.fields.push_back(std::move(rule));
    }
  } else if (is_scim) {
    std::string ent = kEnterprise;
    m.fields = {{"employee_id", ent + ".employeeNumber"},
                {"email", "emails.value"},
                {"name", "displayName"},
                {"first_name", "name.givenName"},
                {"last_name", "name.familyName"},
                {"title", "title"},
                {"department", ent + ".department"},
                {"manager_id", ent + ".manager.value"}};
  } else {
    fail(doc, "", "a " + kind + " source needs 'fields' (principal_profiles column: HR field name)");
  }
  if (std::none_of(m.fields.begin(), m.fields.end(), [](const FieldRule &r) { return r.column == "employee_id"; }))
    fail(doc, "/fields", "'employee_id' must be mapped: it is how HR users are matched to profiles");

  // active
  m.active_values = {"true", "1", "t", "yes", "y", "active", "a"};
  if (root.contains("active")) {
    const auto &a = root["active"];
    only_keys(doc, "/active", a, {"field", "values"});
    if (a.contains("field")) m.active_field = text(doc, "/active/field", a["field"]);
    if (a.contains("values")) {
      auto vals = lower_list(doc, "/active/values", a["values"]);
      if (vals.empty()) fail(doc, "/active/values", "list at least one value that means active");
      m.active_values.assign(vals.begin(), vals.end());
    }
  } else if (is_scim) {
    m.active_field = "active";
  }
  if (root.contains("last_modified")) m.last_modified_field = text(doc, "/last_modified", root["last_modified"]);
  else if (is_scim) m.last_modified_field = "meta.lastModified";

  if (root.contains("scope")) {
    const auto &sc = root["scope"];
    only_keys(doc, "/scope", sc, {"departments", "titles"});
    if (sc.contains("departments")) m.scope_departments = lower_list(doc, "/scope/departments", sc["departments"]);
    if (sc.contains("titles")) m.scope_titles = lower_list(doc, "/scope/titles", sc["titles"]);
  }
  if (root.contains("create_id_template")) {
    try {
      m.id_template = FieldTemplate::parse(text(doc, "/create_id_template", root["create_id_template"]));
    } catch (const TemplateError &e) {
      fail(doc, "/create_id_template", std::string("id template: ") + e.what());
    }
    std::set<std::string> mapped;
    for (auto &r : m.fields) mapped.insert(r.column);
    for (const auto &f : m.id_template.fields()) {
      std::string key = f == "employeeNumber" ? "employee_id" : f;
      if (!mapped.count(key)) fail(doc, "/create_id_template", "{" + f + "} is not a mapped column");
    }
    if (!m.id_template.has_fields()) fail(doc, "/create_id_template", "the id template needs a placeholder such as {employee_id}");
  }
  if (root.contains("deactivation_threshold")) {
    m.deactivation_threshold = number(doc, "/deactivation_threshold", root["deactivation_threshold"]);
    if (m.deactivation_threshold < 0 || m.deactivation_threshold > 1)
      fail(doc, "/deactivation_threshold", "a fraction between 0 and 1 (0.1 = 10% of HR-managed profiles)");
  }
  if (root.contains("watermark_overlap_seconds")) {
    m.watermark_overlap_s = number(doc, "/watermark_overlap_seconds", root["watermark_overlap_seconds"]);
    if (m.watermark_overlap_s < 0 || m.watermark_overlap_s > 86400) fail(doc, "/watermark_overlap_seconds", "must be between 0 and 86400");
  }
  if (root.contains("full_reconciliation_hours")) {
    m.full_reconciliation_hours = number(doc, "/full_reconciliation_hours", root["full_reconciliation_hours"]);
    if (m.full_reconciliation_hours < 0) fail(doc, "/full_reconciliation_hours", "must not be negative");
  }
  return m;
}

HrMapping load_hr_mapping(const std::string &path, const std::optional<std::set<std::string>> &hr_owned) {
  return parse_hr_mapping(read_file(path, kMaxConfigFileBytes, "an HR mapping file"), path, hr_owned);
}

std::string read_token(const SourceConfig &src) {
  if (!src.token_env.empty()) {
    const char *v = std::getenv(src.token_env.c_str());
    if (!v || !*v) throw std::runtime_error("HR source '" + src.name + "': environment variable " + src.token_env +
                                            " (token_env) is not set");
    return v;
  }
  if (!src.token_file.empty()) {
    std::string t;
    try {
      t = read_file(src.token_file, 64 << 10, "a token file");
    } catch (const FileReadError &e) {
      throw std::runtime_error("HR source '" + src.name + "': token_file " + e.what());
    }
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (t.empty()) throw std::runtime_error("HR source '" + src.name + "': token_file " + src.token_file + " is empty");
    return t;
  }
  return "";
}

const nlohmann::json *json_path(const nlohmann::json &record, const std::string &path) {
  const nlohmann::json *cur = &record;
  std::string rest = path;
  while (true) {
    if (rest.empty()) return cur;  // the value itself: a list stays a list (a type error for text)
    while (cur->is_array()) {
      if (cur->empty()) return nullptr;
      const nlohmann::json *pick = &(*cur)[0];
      for (const auto &e : *cur)
        if (e.is_object() && e.contains("primary") && e["primary"] == true) { pick = &e; break; }
      cur = pick;
    }
    if (!cur->is_object()) return nullptr;
    // Longest existing key prefix (keys may contain dots, e.g. the enterprise extension URN).
    bool found = false;
    for (size_t end = rest.size();; ) {
      std::string key = rest.substr(0, end);
      auto it = cur->find(key);
      if (it != cur->end()) {
        cur = &*it;
        rest = end < rest.size() ? rest.substr(end + 1) : "";
        found = true;
        break;
      }
      if (end == 0) break;
      auto dot = rest.rfind('.', end - 1);
      if (dot == std::string::npos) break;
      end = dot;
    }
    if (!found) return nullptr;
  }
}

}  // namespace rgsync::hr
