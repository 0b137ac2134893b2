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

namespace rgsync::hr {

namespace {

std::once_flag curl_init_once;

size_t on_body(char *data, size_t size, size_t n, void *user) {
  static_cast<std::string *>(user)->append(data, size * n);
  return size * n;
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
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto host_start = scheme + 3;
  auto path = url.find_first_of("/?#", host_start);
  auto at = url.rfind('@', path == std::string::npos ? url.size() : path);
  if (at == std::string::npos || at < host_start) return url;
  return url.substr(0, host_start) + "***@" + url.substr(at + 1);
}

HttpClient::HttpClient(RetryPolicy policy, std::string bearer_token)
    : policy_(policy), token_(std::move(bearer_token)) {
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

HttpResponse HttpClient::once(const std::string &url, std::string &transport_error) {
  CURL *c = static_cast<CURL *>(curl_);
  HttpResponse r;
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, policy_.timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, policy_.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
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
  if (rc != CURLE_OK) {
    transport_error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    return r;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

HttpResponse HttpClient::get(const std::string &url) {
  const std::string shown = scrub(redact_url(url));
  std::string last;
  for (int attempt = 0;; ++attempt) {
    std::string transport_error;
    HttpResponse r = once(url, transport_error);
    bool retryable;
    if (!transport_error.empty()) {
      last = transport_error;
      retryable = true;
    } else if (r.status >= 200 && r.status < 300) {
      return r;
    } else {
      std::string body = r.body.substr(0, 300);
      std::replace(body.begin(), body.end(), '\n', ' ');
      last = "HTTP " + std::to_string(r.status) + (body.empty() ? "" : ": " + body);
      retryable = r.status == 429 || r.status >= 500;
    }
    if (!retryable) throw HttpError(scrub("GET " + shown + ": " + last));
    if (attempt + 1 >= policy_.max_attempts) {
      throw HttpError(scrub("GET " + shown + ": " + last + " (gave up after " + std::to_string(attempt + 1) + " attempts)"));
    }
    double delay = full_jitter_delay(policy_, attempt, rgsync::unit_random());
    auto ra = r.headers.find("retry-after");
    if (ra != r.headers.end()) {
      auto secs = parse_retry_after(ra->second, static_cast<long long>(std::time(nullptr)));
      if (secs) {
        if (*secs > policy_.max_retry_after_s) {
          throw HttpError(scrub("GET " + shown + ": " + last + " with Retry-After " + ra->second +
                                "s, longer than the allowed " + std::to_string(static_cast<int>(policy_.max_retry_after_s)) + "s"));
        }
        delay = std::max(delay, *secs);
      }
    }
    ++retries_;
    sleeper(delay);
  }
}

}  // namespace rgsync::hr
