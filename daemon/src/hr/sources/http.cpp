// libcurl GET with timeouts, full-jitter retries and token scrubbing (see hr_http.hpp).
#include "hr/sources/http.hpp"
#include "common/backoff.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>

#include "common/redact.hpp"

namespace rgsync::hr {

namespace {

std::once_flag curl_init_once;

struct BodySink {
  std::string *body;
  size_t cap;
  bool over = false;
};

// Receives the body after decoding (curl inflates gzip/deflate/br before this callback), so
// the cap holds for decompression bombs too. Returning less than given aborts the transfer.
size_t on_body(char *data, size_t size, size_t n, void *user) {
  auto *sink = static_cast<BodySink *>(user);
  if (sink->body->size() + size * n > sink->cap) {
    sink->over = true;
    return 0;
  }
  sink->body->append(data, size * n);
  return size * n;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string mb(size_t bytes) {
  size_t m = bytes >> 20;
  return m << 20 == bytes ? std::to_string(m) + " MB" : std::to_string(bytes) + " bytes";
}

// JSON media types: application/json, application/scim+json, anything +json; no type at all
// is let through (the JSON parser then decides).
bool json_content_type(const std::string &value) {
  std::string t = lower(value.substr(0, value.find(';')));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
  if (t.empty()) return true;
  return t == "application/json" || t == "text/json" ||
         (t.compare(0, 12, "application/") == 0 && t.size() > 5 && t.compare(t.size() - 5, 5, "+json") == 0);
}

size_t on_header(char *data, size_t size, size_t n, void *user) {
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    auto b = value.find_first_not_of(" \t");
    auto e = value.find_last_not_of(" \t\r\n");
    value = b == std::string::npos ? "" : value.substr(b, e - b + 1);
    (*static_cast<std::map<std::string, std::string> *>(user))[name] = value;
  }
  return size * n;
}

}  // namespace

std::optional<double> parse_retry_after(const std::string &value, long long now_epoch_s) {
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
    try { return std::stod(value); } catch (...) { return std::nullopt; }
  }
  // HTTP-date, e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
  std::tm tm{};
  const char *end = strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end) return std::nullopt;
  long long at = static_cast<long long>(timegm(&tm));
  return static_cast<double>(std::max(0LL, at - now_epoch_s));
}

double full_jitter_delay(const RetryPolicy &p, int attempt, double r) {
  return full_jitter_backoff(p.base_delay_s, p.max_delay_s, attempt, r);
}

std::string url_encode(const std::string &s) {
  static const char *hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else { out += '%'; out += hex[c >> 4]; out += hex[c & 15]; }
  }
  return out;
}

std::string redact_url(const std::string &url) {
  std::string out = url;
  auto scheme = url.find("://");
  if (scheme != std::string::npos) {
    auto host_start = scheme + 3;
    auto path = url.find_first_of("/?#", host_start);
    auto at = url.rfind('@', path == std::string::npos ? url.size() : path);
    if (at != std::string::npos && at >= host_start) out = url.substr(0, host_start) + "***@" + url.substr(at + 1);
  }
  return rgsync::redact_dsn(out);
}

namespace {
struct UrlParts {
  std::string scheme, host, port;
  bool ok = false;
};
UrlParts split_url(const std::string &url) {
  UrlParts p;
  auto sep = url.find("://");
  if (sep == std::string::npos || sep == 0) return p;
  p.scheme = lower(url.substr(0, sep));
  auto start = sep + 3;
  auto end = url.find_first_of("/?#", start);
  std::string auth = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  auto at = auth.rfind('@');
  if (at != std::string::npos) auth = auth.substr(at + 1);
  if (!auth.empty() && auth[0] == '[') {  // [v6]:port
    auto close = auth.find(']');
    if (close == std::string::npos) return p;
    p.host = auth.substr(1, close - 1);
    if (close + 1 < auth.size() && auth[close + 1] == ':') p.port = auth.substr(close + 2);
  } else {
    auto colon = auth.rfind(':');
    p.host = auth.substr(0, colon);
    if (colon != std::string::npos) p.port = auth.substr(colon + 1);
  }
  p.host = lower(p.host);
  if (p.port.empty()) p.port = p.scheme == "https" ? "443" : p.scheme == "http" ? "80" : "";
  p.ok = !p.host.empty();
  return p;
}
}  // namespace

std::string url_origin(const std::string &url) {
  UrlParts p = split_url(url);
  if (!p.ok) return "";
  return p.scheme + "://" + (p.host.find(':') != std::string::npos ? "[" + p.host + "]" : p.host) + ":" + p.port;
}

bool is_loopback_url(const std::string &url) {
  UrlParts p = split_url(url);
  if (!p.ok) return false;
  if (p.host == "localhost" || p.host == "::1" || p.host == "0:0:0:0:0:0:0:1") return true;
  // 127.0.0.0/8 written as a dotted quad
  if (p.host.compare(0, 4, "127.") != 0) return false;
  int dots = 0;
  for (char c : p.host) {
    if (c == '.') ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return dots == 3;
}

HttpClient::HttpClient(RetryPolicy policy, std::string bearer_token)
    : policy_(policy),
      deadline_(std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                       std::chrono::duration<double>(policy.run_timeout_s))),
      token_(std::move(bearer_token)) {
  rgsync::register_secret(token_);
  std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
  if (!curl_) throw HttpError("cannot initialise libcurl");
  sleeper = [this](double s) {
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(s);
    while (std::chrono::steady_clock::now() < until) {
      if (stop_flag && stop_flag->load()) throw HttpError("stopped while waiting to retry");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL *>(curl_)); }

std::string HttpClient::scrub(std::string text) const {
  if (token_.size() >= 4) {
    for (size_t pos; (pos = text.find(token_)) != std::string::npos;) text.replace(pos, token_.size(), "***");
  }
  return text;
}

double HttpClient::remaining_s() const {
  return std::chrono::duration<double>(deadline_ - std::chrono::steady_clock::now()).count();
}

HttpResponse HttpClient::once(const std::string &url, std::string &transport_error, long timeout_ms) {
  CURL *c = static_cast<CURL *>(curl_);
  HttpResponse r;
  BodySink sink{&r.body, policy_.max_body_bytes};
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(policy_.connect_timeout_ms, timeout_ms));
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(policy_.max_body_bytes));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
  struct curl_slist *hdrs = nullptr;
  hdrs = curl_slist_append(hdrs, "Accept: application/scim+json, application/json");
  std::string auth;
  if (!token_.empty()) {
    auth = "Authorization: Bearer " + token_;
    hdrs = curl_slist_append(hdrs, auth.c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  ++requests_;
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(hdrs);
  std::fill(auth.begin(), auth.end(), '\0');
  if (sink.over || rc == CURLE_FILESIZE_EXCEEDED) {
    throw HttpError("response larger than " + mb(policy_.max_body_bytes) +
                        " (after decompression; raise max_response_mb in the mapping if the HR source is really this large)",
                    false);
  }
  if (rc != CURLE_OK) {
    transport_error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    return r;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

HttpResponse HttpClient::get(const std::string &url) {
  const std::string shown = scrub(redact_url(url));
  auto fail = [&](const std::string &why, bool transient, std::optional<double> retry_after = std::nullopt, long status = 0) {
    return HttpError(scrub(rgsync::redact("GET " + shown + ": " + why)), transient, retry_after, status);
  };
  const std::string deadline_msg = "the run took longer than run_timeout_seconds (" +
                                   std::to_string(static_cast<long>(policy_.run_timeout_s)) + "s); stopped";
  std::string last;
  for (int attempt = 0;; ++attempt) {
    double left = remaining_s();
    if (left <= 0) throw fail(deadline_msg, true);
    long timeout_ms = std::max(1L, std::min(policy_.timeout_ms, static_cast<long>(left * 1000)));
    const bool deadline_bound = static_cast<long>(left * 1000) < policy_.timeout_ms;
    std::string transport_error;
    HttpResponse r;
    try {
      r = once(url, transport_error, timeout_ms);
    } catch (const HttpError &e) {
      throw fail(e.what(), e.transient);
    }
    bool retryable;
    long status = r.status;
    if (!transport_error.empty()) {
      if (remaining_s() <= 0 || (deadline_bound && remaining_s() < 0.2)) throw fail(deadline_msg + " (" + transport_error + ")", true);
      last = transport_error;
      retryable = true;
    } else if (r.status >= 200 && r.status < 300) {
      auto ct = r.headers.find("content-type");
      if (ct != r.headers.end() && !json_content_type(ct->second))
        throw fail("content type '" + ct->second.substr(0, 80) + "', expected JSON (application/json); not read", false);
      return r;
    } else if (r.status >= 300 && r.status < 400) {
      auto loc = r.headers.find("location");
      std::string to = loc == r.headers.end() ? "(no Location)" : redact_url(loc->second);
      throw fail("HTTP " + std::to_string(r.status) + ": redirect to " + to +
                     " not followed (the token is sent only to the configured URL; configure the final URL instead)",
                 false, std::nullopt, r.status);
    } else {
      // The body is not shown: an HR system's error page may hold personal data or secrets.
      last = "HTTP " + std::to_string(r.status) + (r.body.empty() ? "" : " (error body of " + std::to_string(r.body.size()) + " bytes not shown)");
      retryable = r.status == 429 || r.status >= 500;
    }
    if (!retryable) throw fail(last, false, std::nullopt, status);
    std::optional<double> retry_after;
    auto ra = r.headers.find("retry-after");
    if (ra != r.headers.end()) retry_after = parse_retry_after(ra->second, static_cast<long long>(std::time(nullptr)));
    if (attempt + 1 >= policy_.max_attempts)
      throw fail(last + " (gave up after " + std::to_string(attempt + 1) + " attempts)", true, retry_after, status);
    double delay = full_jitter_delay(policy_, attempt, rgsync::unit_random());
    if (retry_after) {
      if (*retry_after > policy_.max_retry_after_s || *retry_after > remaining_s()) {
        // Not waited for here: the caller (serve) schedules the next run after it instead.
        throw fail(last + " with Retry-After " + ra->second + " (" + std::to_string(static_cast<long>(*retry_after)) +
                       "s), longer than max_retry_after_seconds (" + std::to_string(static_cast<long>(policy_.max_retry_after_s)) +
                       "s) or the run's remaining time; not retried before then",
                   true, retry_after, status);
      }
      delay = std::max(delay, *retry_after);
    }
    if (delay > remaining_s()) throw fail(deadline_msg + " (last error: " + last + ")", true, retry_after, status);
    ++retries_;
    sleeper(delay);
  }
}

}  // namespace rgsync::hr
