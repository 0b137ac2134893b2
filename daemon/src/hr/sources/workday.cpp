// Workday RaaS JSON (a report with a Report_Entry list) from a URL or a file.
#include "hr/sources/fetch.hpp"
#include "hr/sources/source_fetch.hpp"

#include <stdexcept>

#include "hr/sources/http.hpp"

namespace rgsync::hr::sources {

void fetch_workday(SourceFetch &f) {
  const HrMapping &m = f.m;
  FetchResult &res = f.res;
  bool is_file = !m.source.file.empty();
  std::string loc = is_file ? m.source.file : m.source.url;
  nlohmann::json doc = f.load(loc, is_file);
  if (!doc.is_object() || !doc.contains("Report_Entry") || !doc["Report_Entry"].is_array())
    throw std::runtime_error(f.src() + ": " + redact_url(loc) + ": not a Workday RaaS JSON report (expected an object with a 'Report_Entry' list)");
  const auto &rows = doc["Report_Entry"];
  res.users.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) f.add(rows[i], "Report_Entry[" + std::to_string(i) + "]");
}

}  // namespace rgsync::hr::sources
