// fetch_hr_users: dispatches to the source's reader (scim.cpp, workday.cpp,
// successfactors.cpp, csv.cpp) and holds what they share: the HTTP client, the page cap,
// JSON and file loading (see source_fetch.hpp).
#include "hr/sources/fetch.hpp"
#include "hr/sources/source_fetch.hpp"
#include "common/file_reader.hpp"

#include <stdexcept>

#include "hr/sources/http.hpp"

namespace rgsync::hr {

namespace sources {

std::string read_source_file(const std::string &path, uint64_t max_bytes, const std::string &what) {
  try {
    return read_file(path, max_bytes, "raise the source's max_file_bytes to accept it");
  } catch (const FileReadError &e) {
    throw std::runtime_error(what + ": " + e.what());
  }
}

nlohmann::json parse_json(const std::string &body, const std::string &where) {
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error &e) {
    std::string msg = e.what();
    auto pos = msg.find("] ");
    if (pos != std::string::npos) msg = msg.substr(pos + 2);
    throw std::runtime_error(where + ": not valid JSON (" + msg + "; " + std::to_string(body.size()) +
                             " bytes received" + (e.byte >= body.size() ? ", the document is truncated" : "") + ")");
  }
}

HttpClient &SourceFetch::client() {
  if (!http) {
    http = std::make_unique<HttpClient>(m.source.retry, read_token(m.source));
    http->stop_flag = opt.stop;
    if (opt.sleeper) http->sleeper = opt.sleeper;
  }
  return *http;
}

std::string SourceFetch::src() const { return "HR source '" + m.source.name + "'"; }

void SourceFetch::next_page_allowed() {
  if (opt.stop && opt.stop->load()) throw std::runtime_error(src() + ": stopped");
  if (res.pages >= m.source.max_pages)
    throw std::runtime_error(src() + ": more than " + std::to_string(m.source.max_pages) +
                             " pages (max_pages); stopping: the source pages without end, or raise max_pages in the mapping");
}

void SourceFetch::add(const nlohmann::json &rec, const std::string &key) {
  HrUser u = map_record(m, rec, key);
  res.users.push_back(std::move(u));
  progress.add(1);
}

void SourceFetch::finish_http() {
  if (http) { res.requests = http->requests_made(); res.retries = http->retries_made(); }
}

nlohmann::json SourceFetch::load(const std::string &where_url_or_file, bool is_file) {
  std::string body, where;
  if (is_file) {
    where = src() + ": " + where_url_or_file;
    body = read_source_file(where_url_or_file, m.source.max_file_bytes, src());
  } else {
    where = src() + ": GET " + redact_url(where_url_or_file);
    body = client().get(where_url_or_file).body;
  }
  ++res.pages;
  if (long bad = invalid_utf8_line(body)) throw std::runtime_error(where + ": not valid UTF-8 (line " + std::to_string(bad) + ")");
  return parse_json(body, where);
}

}  // namespace sources

FetchResult fetch_hr_users(const HrMapping &m, const FetchOptions &opt) {
  sources::SourceFetch f(m, opt);
  try {
    switch (m.source.kind) {
      case SourceKind::Scim: sources::fetch_scim(f); break;
      case SourceKind::Workday: sources::fetch_workday(f); break;
      case SourceKind::SuccessFactors: sources::fetch_successfactors(f); break;
      case SourceKind::Csv: sources::fetch_csv(f); break;
    }
  } catch (const HttpError &e) {
    throw HttpError(f.src() + ": " + e.what() + "; nothing written", e.transient, e.retry_after_s, e.status);
  } catch (const std::runtime_error &e) {
    if (opt.stop && opt.stop->load()) throw;
    throw SourceDataError(e.what());
  }
  f.finish_http();
  return std::move(f.res);
}

}  // namespace rgsync::hr
