// SCIM 2.0 /Users: full fetches page by index (and are repeated when the users change
// underneath, see fetch_scim), incremental ones filter on meta.lastModified; manager
// references (SCIM ids) are resolved to employee ids.
#include "hr/sources/fetch.hpp"
#include "hr/sources/source_fetch.hpp"

#include <map>
#include <set>
#include <stdexcept>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "hr/sources/http.hpp"

namespace rgsync::hr::sources {

void fetch_scim(SourceFetch &f) {
  const HrMapping &m = f.m;
  const FetchOptions &opt = f.opt;
  FetchResult &res = f.res;
  std::string base = m.source.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  // Incremental: changes at or after the watermark (already moved back by the overlap
  // window); users fetched again are unchanged and cost no write.
  std::string filter = opt.since.empty() ? "" : "&filter=" + url_encode("meta.lastModified ge \"" + opt.since + "\"");
  res.complete = opt.since.empty();
  std::vector<std::string> scim_ids;
  // Paging by index is not a snapshot: a user deleted (or added) between two pages shifts
  // the next ones across a page boundary, unseen (or seen twice), and an unseen user would be
  // deactivated. A fetch whose totalResults changed between pages, or whose distinct users
  // do not add up to totalResults, is done again; after kMaxFetches such fetches the run fails.
  const int kMaxFetches = 3;
  for (int fetch = 1;; ++fetch) {
    scim_ids.clear();
    res.users.clear();
    std::unordered_set<std::string> seen;
    long start = 1, total = -1, first_total = -1;
    bool changed = false, ended_early = false;
    while (true) {
      f.next_page_allowed();
      std::string url = base + "/Users?startIndex=" + std::to_string(start) + "&count=" + std::to_string(m.source.page_size) + filter;
      HttpResponse r = f.client().get(url);
      std::string where = f.src() + ": GET " + redact_url(base) + "/Users page at startIndex=" + std::to_string(start);
      if (long bad = invalid_utf8_line(r.body)) throw std::runtime_error(where + ": response is not valid UTF-8 (line " + std::to_string(bad) + ")");
      nlohmann::json page = parse_json(r.body, where);
      ++res.pages;
      if (!page.is_object() || !page.contains("totalResults") || !page["totalResults"].is_number_integer())
        throw std::runtime_error(where + ": not a SCIM ListResponse (no integer totalResults)");
      total = page["totalResults"].get<long>();
      if (first_total < 0) first_total = total;
      if (total != first_total) changed = true;
      if (page.contains("startIndex") && page["startIndex"].is_number_integer() && page["startIndex"].get<long>() != start)
        throw std::runtime_error(where + ": the server answered with startIndex=" + std::to_string(page["startIndex"].get<long>()) +
                                 "; paging does not advance, stopping instead of looping");
      nlohmann::json empty = nlohmann::json::array();
      const nlohmann::json &resources = page.contains("Resources") ? page["Resources"] : empty;
      if (!resources.is_array()) throw std::runtime_error(where + ": 'Resources' is " + type_name(resources) + ", expected a list");
      if (resources.empty()) {
        if (start <= total) ended_early = true;
        break;
      }
      long fresh = 0;
      for (size_t i = 0; i < resources.size(); ++i) {
        const auto &u = resources[i];
        std::string key = "user #" + std::to_string(start + static_cast<long>(i));
        if (!u.is_object()) throw std::runtime_error(f.src() + ": " + key + " is " + type_name(u) + ", expected an object");
        if (!u.contains("id") || !u["id"].is_string() || u["id"].get<std::string>().empty())
          throw std::runtime_error(f.src() + ": " + key + " has no SCIM 'id' (text); the payload is not a valid SCIM User");
        std::string id = u["id"].get<std::string>();
        if (!seen.insert(id).second) continue;
        ++fresh;
        f.add(u, "SCIM id " + id);
        scim_ids.push_back(id);
      }
      if (fresh == 0)
        throw std::runtime_error(where + ": the page holds only users already received; paging does not advance, stopping instead of looping");
      start += static_cast<long>(resources.size());
      if (start > total) break;
    }
    const long distinct = static_cast<long>(scim_ids.size());
    if (!changed && !ended_early && distinct == total) break;
    std::string why = changed ? "totalResults changed from " + std::to_string(first_total) + " to " + std::to_string(total)
                    : ended_early ? "a page was empty although totalResults=" + std::to_string(total)
                                  : std::to_string(distinct) + " distinct users received, totalResults=" + std::to_string(total);
    if (fetch >= kMaxFetches)
      throw std::runtime_error(f.src() + ": users changed during each of " + std::to_string(kMaxFetches) + " fetches (" + why +
                               "); paging by index is then not a consistent snapshot, so nothing is written; run again");
    spdlog::warn("{}: users changed during the fetch ({}); fetching again so no user is missed (fetch {} of {})", f.src(), why,
                 fetch + 1, kMaxFetches);
  }
  // Manager references are SCIM ids: resolve within this fetch; in an incremental fetch
  // look up the managers that were not part of it.
  std::map<std::string, std::string> extra;
  if (!res.complete) {
    std::set<std::string> known(scim_ids.begin(), scim_ids.end()), wanted;
    for (const auto &u : res.users) {
      auto it = u.columns.find("manager_id");
      if (it != u.columns.end() && it->second && !known.count(*it->second)) wanted.insert(*it->second);
    }
    for (const auto &id : wanted) {
      try {
        HttpResponse r = f.client().get(base + "/Users/" + url_encode(id));
        auto j = nlohmann::json::parse(r.body);
        HrUser mgr = map_record(m, j, "SCIM id " + id);
        extra[id] = *mgr.columns["employee_id"];
      } catch (const HttpError &e) {
        // An unknown manager id keeps its raw value (as in a full fetch); other failures stop the run.
        if (e.status != 404) throw;
      }
    }
  }
  resolve_managers(res.users, scim_ids, extra);
  res.source_ids = std::move(scim_ids);
}

namespace {

// The SCIM filter attribute for a json_path expression: an extension's URN is joined to its
// attribute with ':' ("urn:...:2.0:User.employeeNumber" -> "urn:...:2.0:User:employeeNumber").
std::string scim_attribute(const std::string &path) {
  if (path.rfind("urn:", 0) != 0) return path;
  auto colon = path.rfind(':');
  auto dot = path.find('.', colon == std::string::npos ? 0 : colon);
  if (dot == std::string::npos) return path;
  return path.substr(0, dot) + ":" + path.substr(dot + 1);
}

// A SCIM filter string literal: backslash and double quote escaped (RFC 7644 3.4.2.2, JSON rules).
std::string scim_string(const std::string &v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

const FieldRule *employee_rule(const HrMapping &m) {
  for (const auto &r : m.fields)
    if (r.column == "employee_id") return &r;
  return nullptr;
}

}  // namespace

}  // namespace rgsync::hr::sources

namespace rgsync::hr {

bool can_confirm_absence(const HrMapping &m) {
  const FieldRule *r = sources::employee_rule(m);
  return m.source.kind == SourceKind::Scim && m.source.file.empty() && r && !r->tpl;
}

AbsenceCheck confirm_absent(const HrMapping &m, const std::vector<std::string> &employee_ids, const FetchResult &fetched,
                            const FetchOptions &opt) {
  using namespace sources;
  AbsenceCheck out;
  if (employee_ids.empty() || !can_confirm_absence(m)) return out;
  SourceFetch f(m, opt);
  f.res.pages = fetched.pages;  // the confirmations share the fetch's page cap
  if (fetched.pages + static_cast<long>(employee_ids.size()) > m.source.max_pages)
    throw SourceDataError(f.src() + ": " + std::to_string(employee_ids.size()) +
                          " HR-managed users were not seen in the full fetch; confirming each at the source would take the run past "
                          "max_pages (" + std::to_string(m.source.max_pages) + ", " + std::to_string(fetched.pages) +
                          " pages fetched); nothing written: check the source, or raise max_pages in the mapping");
  std::string base = m.source.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string attr = scim_attribute(employee_rule(m)->expr);
  std::set<std::string> seen(fetched.source_ids.begin(), fetched.source_ids.end());
  std::vector<std::string> found_ids;
  try {
    for (const auto &emp : employee_ids) {
      f.next_page_allowed();
      ++f.res.pages;
      std::string url = base + "/Users?filter=" + url_encode(attr + " eq " + scim_string(emp)) + "&count=10";
      std::string where = f.src() + ": confirming that employee " + emp + " is gone: GET " + redact_url(base) + "/Users?filter=" + attr + " eq ...";
      HttpResponse r = f.client().get(url);
      if (long bad = invalid_utf8_line(r.body)) throw std::runtime_error(where + ": response is not valid UTF-8 (line " + std::to_string(bad) + ")");
      nlohmann::json page = parse_json(r.body, where);
      if (!page.is_object() || !page.contains("totalResults") || !page["totalResults"].is_number_integer())
        throw std::runtime_error(where + ": not a SCIM ListResponse (no integer totalResults)");
      nlohmann::json empty = nlohmann::json::array();
      const nlohmann::json &resources = page.contains("Resources") ? page["Resources"] : empty;
      if (!resources.is_array()) throw std::runtime_error(where + ": 'Resources' is " + type_name(resources) + ", expected a list");
      bool present = false;
      for (const auto &u : resources) {
        if (!u.is_object() || !u.contains("id") || !u["id"].is_string() || u["id"].get<std::string>().empty())
          throw std::runtime_error(where + ": a user without a SCIM 'id' (text); the payload is not a valid SCIM User");
        std::string id = u["id"].get<std::string>();
        HrUser user = map_record(m, u, "SCIM id " + id);
        // Servers may match case-insensitively or loosely: only an exact employee id counts.
        if (user.columns["employee_id"] != emp) continue;
        present = true;
        if (!seen.insert(id).second) continue;
        out.present.push_back(std::move(user));
        found_ids.push_back(id);
      }
      if (!present) ++out.gone;
    }
  } catch (const HttpError &e) {
    throw HttpError(f.src() + ": " + e.what() + "; nothing written", e.transient, e.retry_after_s, e.status);
  } catch (const std::runtime_error &e) {
    if (opt.stop && opt.stop->load()) throw;
    throw SourceDataError(e.what());
  }
  // Manager references (SCIM ids) of the users found: resolved against the full fetch.
  std::map<std::string, std::string> known;
  for (size_t i = 0; i < fetched.users.size() && i < fetched.source_ids.size(); ++i) {
    auto it = fetched.users[i].columns.find("employee_id");
    if (it != fetched.users[i].columns.end() && it->second) known[fetched.source_ids[i]] = *it->second;
  }
  resolve_managers(out.present, found_ids, known);
  f.finish_http();
  out.requests = f.res.requests;
  return out;
}

}  // namespace rgsync::hr

namespace rgsync::hr::sources {

}  // namespace rgsync::hr::sources
