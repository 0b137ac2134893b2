// What the per-source readers (scim.cpp, workday.cpp, successfactors.cpp, csv.cpp) share: one
// fetch in progress (the HTTP client with the source's retry policy and token, the page cap,
// the result being built) and the JSON / file helpers. Internal to hr/sources; callers use
// fetch.hpp.
#pragma once

#include <memory>
#include "common/progress.hpp"
#include <string>

#include <nlohmann/json.hpp>

#include "hr/sources/fetch.hpp"
#include "hr/sources/http.hpp"

namespace rgsync::hr::sources {

// "an object", "a list", ...: for errors that say what a value is instead of what was expected.
const char *type_name(const nlohmann::json &v);

// Parses a response or file body; the error names where (URL or file), the parser's reason,
// the bytes received and whether the document is truncated.
nlohmann::json parse_json(const std::string &body, const std::string &where);

// A source file, read whole up to max_bytes; the error starts with what (the source).
std::string read_source_file(const std::string &path, uint64_t max_bytes, const std::string &what);

// One fetch of one source: the shared HTTP client and paging rules.
struct SourceFetch {
  const HrMapping &m;
  const FetchOptions &opt;
  FetchResult res;
  std::unique_ptr<HttpClient> http;
  Progress progress{"hr: " + m.source.name, "users read"};

  SourceFetch(const HrMapping &mm, const FetchOptions &o) : m(mm), opt(o) {}

  // The HTTP client, created on first use (file sources never read the token).
  HttpClient &client();
  // "HR source 'NAME'", the start of every error.
  std::string src() const;
  // Called before each page: a stop request or a source that pages without end (more than
  // max_pages) stops with a clear error.
  void next_page_allowed();
  // Maps one record and appends it to the result.
  void add(const nlohmann::json &rec, const std::string &key);
  // One JSON document from a URL (GET) or a file; counts as a page; checks UTF-8.
  nlohmann::json load(const std::string &where_url_or_file, bool is_file);
  // Copies the client's request / retry counts into the result.
  void finish_http();
};

void fetch_scim(SourceFetch &f);
void fetch_workday(SourceFetch &f);
void fetch_successfactors(SourceFetch &f);
void fetch_csv(SourceFetch &f);

}  // namespace rgsync::hr::sources
