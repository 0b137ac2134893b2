// SuccessFactors OData v2 (d.results, paged by d.__next) from a URL or a file; next-links
// are followed only to the configured origin (the bearer token goes nowhere else).
#include "hr/sources/fetch.hpp"
#include "hr/sources/source_fetch.hpp"

#include <set>
#include <stdexcept>
#include <unordered_set>

#include "hr/sources/http.hpp"

namespace rgsync::hr::sources {

void fetch_successfactors(SourceFetch &f) {
  const HrMapping &m = f.m;
  FetchResult &res = f.res;
  bool is_file = !m.source.file.empty();
  std::string loc = is_file ? m.source.file : m.source.url;
  const std::string origin = is_file ? "" : url_origin(loc);
  std::set<std::string> fetched;
  std::unordered_set<std::string> employees;
  long n = 0;
  while (true) {
    f.next_page_allowed();
    fetched.insert(loc);
    nlohmann::json doc = f.load(loc, is_file);
    if (!doc.is_object() || !doc.contains("d") || !doc["d"].is_object() || !doc["d"].contains("results") || !doc["d"]["results"].is_array())
      throw std::runtime_error(f.src() + ": " + redact_url(loc) + ": not a SuccessFactors OData v2 response (expected {\"d\": {\"results\": [...]}})");
    const auto &d = doc["d"];
    size_t fresh = 0;
    for (const auto &row : d["results"]) {
      f.add(row, "d.results[" + std::to_string(n++) + "]");
      if (employees.insert(*res.users.back().columns["employee_id"]).second) ++fresh;
    }
    if (is_file || !d.contains("__next") || d["__next"].is_null()) break;
    if (!d["__next"].is_string()) throw std::runtime_error(f.src() + ": '__next' is " + std::string(type_name(d["__next"])) + ", expected a URL");
    if (fresh == 0)
      throw std::runtime_error(f.src() + ": page " + std::to_string(res.pages) + " (" + redact_url(loc) +
                               ") holds only users already received; paging does not advance, stopping instead of looping");
    std::string next = d["__next"].get<std::string>();
    // The bearer token goes only to the configured origin: a next-link elsewhere (another
    // host, port or scheme, e.g. a downgrade to http) is refused, not followed.
    if (url_origin(next) != origin)
      throw std::runtime_error(f.src() + ": __next points at another origin (" + (url_origin(next).empty() ? "not an absolute URL" : url_origin(next)) +
                               ") than the configured url (" + origin + "); not followed, so the token is not sent there; nothing written");
    if (fetched.count(next)) throw std::runtime_error(f.src() + ": __next points at a page already fetched; paging does not advance, stopping instead of looping");
    loc = next;
  }
}

}  // namespace rgsync::hr::sources
