// Reading HR users from SCIM, Workday RaaS, SuccessFactors OData v2 and CSV (see hr_sources.hpp).
#include "hr/sources/fetch.hpp"
#include "common/file_reader.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unordered_set>

#include "hr/sources/http.hpp"

#include <spdlog/spdlog.h>

namespace rgsync::hr {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

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

const char *type_name(const nlohmann::json &v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "a list";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_null()) return "null";
  return "text";
}

// Scalar -> text; nullopt for null / absent / empty. Throws for objects, lists, booleans.
Value scalar_text(const nlohmann::json *v, const std::string &field, const std::string &key, const std::string &src) {
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_string()) {
    const auto &s = v->get_ref<const std::string &>();
    if (s.empty()) return std::nullopt;
    return s;
  }
  if (v->is_number_integer()) return std::to_string(v->get<long long>());
  if (v->is_number_unsigned()) return std::to_string(v->get<unsigned long long>());
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
    return v->dump();
  }
  throw std::runtime_error("HR source '" + src + "': " + key + ": field '" + field + "' is " + type_name(*v) +
                           ", expected text or a number");
}

}  // namespace

long invalid_utf8_line(const std::string &s) {
  long line = 1;
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') ++line;
    if (c < 0x80) { ++i; continue; }
    int len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > n) return line;
    for (int k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return line;
    unsigned cp = len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return line;
    i += len;
  }
  return 0;
}

std::vector<nlohmann::json> parse_csv(const std::string &text, char delim, const std::string &name) {
  if (long bad = invalid_utf8_line(text))
    throw std::runtime_error(name + ":" + std::to_string(bad) + ": not valid UTF-8 (export the file as UTF-8)");
  std::vector<std::vector<std::string>> rows;
  std::vector<long> row_lines;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, field_started = false;
  long line = 1, row_line = 1;
  size_t i = 0, n = text.size();
  if (n >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;  // UTF-8 byte order mark
  auto end_row = [&] {
    row.push_back(std::move(field));
    field.clear();
    if (!(row.size() == 1 && row[0].empty())) { rows.push_back(std::move(row)); row_lines.push_back(row_line); }
    row.clear();
    field_started = false;
  };
  for (; i < n; ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < n && text[i + 1] == '"') { field += '"'; ++i; }
        else quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) { quoted = true; field_started = true; continue; }
    if (c == '"') throw std::runtime_error(name + ":" + std::to_string(line) + ": stray quote inside an unquoted field");
    if (c == delim) { row.push_back(std::move(field)); field.clear(); field_started = false; continue; }
    if (c == '\r' && i + 1 < n && text[i + 1] == '\n') continue;
    if (c == '\n') { end_row(); ++line; row_line = line; continue; }
    field += c;
    field_started = true;
  }
  if (quoted) throw std::runtime_error(name + ":" + std::to_string(row_line) + ": quoted field not closed before end of file");
  if (field_started || !field.empty() || !row.empty()) end_row();
  if (rows.empty()) throw std::runtime_error(name + ": empty CSV file (expected a header row)");
  const auto &header = rows[0];
  std::set<std::string> seen;
  for (const auto &h : header) {
    if (h.empty()) throw std::runtime_error(name + ":" + std::to_string(row_lines[0]) + ": empty column name in the header row");
    if (!seen.insert(h).second) throw std::runtime_error(name + ":" + std::to_string(row_lines[0]) + ": column '" + h + "' appears twice in the header row");
  }
  std::vector<nlohmann::json> out;
  out.reserve(rows.size() - 1);
  for (size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() != header.size())
      throw std::runtime_error(name + ":" + std::to_string(row_lines[r]) + ": " + std::to_string(rows[r].size()) +
                               " fields, but the header has " + std::to_string(header.size()));
    nlohmann::json obj = nlohmann::json::object();
    for (size_t k = 0; k < header.size(); ++k) obj[header[k]] = std::move(rows[r][k]);
    obj["__line"] = row_lines[r];
    out.push_back(std::move(obj));
  }
  return out;
}

HrUser map_record(const HrMapping &m, const nlohmann::json &rec, const std::string &key) {
  const std::string &src = m.source.name;
  if (!rec.is_object())
    throw std::runtime_error("HR source '" + src + "': " + key + " is " + type_name(rec) + ", expected an object");
  HrUser u;
  u.key = key;
  for (const auto &rule : m.fields) {
    Value v;
    if (!rule.tpl) {
      v = scalar_text(json_path(rec, rule.expr), rule.expr, key, src);
    } else {
      std::string out = *rule.tpl->expand([&](const std::string &path) -> std::optional<std::string> {
        return scalar_text(json_path(rec, path), path, key, src).value_or("");
      });
      auto b = out.find_first_not_of(' ');
      auto e = out.find_last_not_of(' ');
      if (b != std::string::npos) v = out.substr(b, e - b + 1);
    }
    u.columns[rule.column] = v;
  }
  auto emp = u.columns.find("employee_id");
  if (emp == u.columns.end() || !emp->second) {
    std::string path;
    for (const auto &r : m.fields) if (r.column == "employee_id") path = r.expr;
    throw std::runtime_error("HR source '" + src + "': " + key + ": no employee id (mapped from '" + path +
                             "'); every HR user needs one to be matched to a profile");
  }
  if (!m.active_field.empty()) {
    const nlohmann::json *a = json_path(rec, m.active_field);
    if (a && !a->is_null()) {
      if (a->is_boolean()) u.active = a->get<bool>();
      else if (a->is_string() || a->is_number()) {
        std::string t = a->is_string() ? lower(a->get<std::string>()) : a->dump();
        u.active = std::find(m.active_values.begin(), m.active_values.end(), t) != m.active_values.end();
      } else {
        throw std::runtime_error("HR source '" + src + "': " + key + ": field '" + m.active_field + "' is " +
                                 type_name(*a) + ", expected a boolean or text");
      }
    }
  }
  if (!m.last_modified_field.empty()) {
    auto lm = scalar_text(json_path(rec, m.last_modified_field), m.last_modified_field, key, src);
    if (lm) u.last_modified = *lm;
  }
  return u;
}

namespace {

struct Fetcher {
  const HrMapping &m;
  const FetchOptions &opt;
  FetchResult res;
  std::unique_ptr<HttpClient> http;

  Fetcher(const HrMapping &mm, const FetchOptions &o) : m(mm), opt(o) {}

  HttpClient &client() {
    if (!http) {
      http = std::make_unique<HttpClient>(m.source.retry, read_token(m.source));
      http->stop_flag = opt.stop;
      if (opt.sleeper) http->sleeper = opt.sleeper;
    }
    return *http;
  }

  std::string src() const { return "HR source '" + m.source.name + "'"; }

  // Called before each page: a source that pages without end stops with a clear error.
  void next_page_allowed() {
    if (opt.stop && opt.stop->load()) throw std::runtime_error(src() + ": stopped");
    if (res.pages >= m.source.max_pages)
      throw std::runtime_error(src() + ": more than " + std::to_string(m.source.max_pages) +
                               " pages (max_pages); stopping: the source pages without end, or raise max_pages in the mapping");
  }

  void add(const nlohmann::json &rec, const std::string &key) {
    HrUser u = map_record(m, rec, key);
    res.users.push_back(std::move(u));
  }

  void finish_http() {
    if (http) { res.requests = http->requests_made(); res.retries = http->retries_made(); }
  }

  void scim() {
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
        next_page_allowed();
        std::string url = base + "/Users?startIndex=" + std::to_string(start) + "&count=" + std::to_string(m.source.page_size) + filter;
        HttpResponse r = client().get(url);
        std::string where = src() + ": GET " + redact_url(base) + "/Users page at startIndex=" + std::to_string(start);
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
          if (!u.is_object()) throw std::runtime_error(src() + ": " + key + " is " + type_name(u) + ", expected an object");
          if (!u.contains("id") || !u["id"].is_string() || u["id"].get<std::string>().empty())
            throw std::runtime_error(src() + ": " + key + " has no SCIM 'id' (text); the payload is not a valid SCIM User");
          std::string id = u["id"].get<std::string>();
          if (!seen.insert(id).second) continue;
          ++fresh;
          add(u, "SCIM id " + id);
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
        throw std::runtime_error(src() + ": users changed during each of " + std::to_string(kMaxFetches) + " fetches (" + why +
                                 "); paging by index is then not a consistent snapshot, so nothing is written; run again");
      spdlog::warn("{}: users changed during the fetch ({}); fetching again so no user is missed (fetch {} of {})", src(), why,
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
          HttpResponse r = client().get(base + "/Users/" + url_encode(id));
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

  nlohmann::json load(const std::string &where_url_or_file, bool is_file) {
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

  void workday() {
    bool is_file = !m.source.file.empty();
    std::string loc = is_file ? m.source.file : m.source.url;
    nlohmann::json doc = load(loc, is_file);
    if (!doc.is_object() || !doc.contains("Report_Entry") || !doc["Report_Entry"].is_array())
      throw std::runtime_error(src() + ": " + redact_url(loc) + ": not a Workday RaaS JSON report (expected an object with a 'Report_Entry' list)");
    const auto &rows = doc["Report_Entry"];
    res.users.reserve(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) add(rows[i], "Report_Entry[" + std::to_string(i) + "]");
  }

  void successfactors() {
    bool is_file = !m.source.file.empty();
    std::string loc = is_file ? m.source.file : m.source.url;
    const std::string origin = is_file ? "" : url_origin(loc);
    std::set<std::string> fetched;
    std::unordered_set<std::string> employees;
    long n = 0;
    while (true) {
      next_page_allowed();
      fetched.insert(loc);
      nlohmann::json doc = load(loc, is_file);
      if (!doc.is_object() || !doc.contains("d") || !doc["d"].is_object() || !doc["d"].contains("results") || !doc["d"]["results"].is_array())
        throw std::runtime_error(src() + ": " + redact_url(loc) + ": not a SuccessFactors OData v2 response (expected {\"d\": {\"results\": [...]}})");
      const auto &d = doc["d"];
      size_t fresh = 0;
      for (const auto &row : d["results"]) {
        add(row, "d.results[" + std::to_string(n++) + "]");
        if (employees.insert(*res.users.back().columns["employee_id"]).second) ++fresh;
      }
      if (is_file || !d.contains("__next") || d["__next"].is_null()) break;
      if (!d["__next"].is_string()) throw std::runtime_error(src() + ": '__next' is " + std::string(type_name(d["__next"])) + ", expected a URL");
      if (fresh == 0)
        throw std::runtime_error(src() + ": page " + std::to_string(res.pages) + " (" + redact_url(loc) +
                                 ") holds only users already received; paging does not advance, stopping instead of looping");
      std::string next = d["__next"].get<std::string>();
      // The bearer token goes only to the configured origin: a next-link elsewhere (another
      // host, port or scheme, e.g. a downgrade to http) is refused, not followed.
      if (url_origin(next) != origin)
        throw std::runtime_error(src() + ": __next points at another origin (" + (url_origin(next).empty() ? "not an absolute URL" : url_origin(next)) +
                                 ") than the configured url (" + origin + "); not followed, so the token is not sent there; nothing written");
      if (fetched.count(next)) throw std::runtime_error(src() + ": __next points at a page already fetched; paging does not advance, stopping instead of looping");
      loc = next;
    }
  }

  void csv() {
    std::string text = read_source_file(m.source.file, m.source.max_file_bytes, src());
    ++res.pages;
    auto rows = parse_csv(text, m.source.csv_delimiter, m.source.file);
    res.users.reserve(rows.size());
    for (auto &row : rows) {
      std::string key = m.source.file + ":" + std::to_string(row["__line"].get<long>());
      row.erase("__line");
      add(row, key);
    }
  }
};

}  // namespace

FetchResult fetch_hr_users(const HrMapping &m, const FetchOptions &opt) {
  Fetcher f(m, opt);
  try {
    switch (m.source.kind) {
      case SourceKind::Scim: f.scim(); break;
      case SourceKind::Workday: f.workday(); break;
      case SourceKind::SuccessFactors: f.successfactors(); break;
      case SourceKind::Csv: f.csv(); break;
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
