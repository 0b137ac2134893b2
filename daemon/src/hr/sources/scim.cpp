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
}

}  // namespace rgsync::hr::sources
