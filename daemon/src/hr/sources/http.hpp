// HTTP GET for HR sources (libcurl): a timeout on every request and a deadline for the whole
// run, retries with full-jitter exponential backoff on 429 / 5xx / transport errors honouring
// Retry-After, a cap on the (decoded) body size, JSON content types only, no redirects, and
// error messages without the bearer token, query-string secrets or the peer's error body
// (an HR system's error page may hold personal data).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace rgsync::hr {

struct RetryPolicy {
  int max_attempts = 5;          // total tries per request
  double base_delay_s = 0.5;     // backoff: sleep uniform(0, min(max_delay, base * 2^attempt))
  double max_delay_s = 30.0;
  double max_retry_after_s = 300.0;  // a longer Retry-After fails the request instead of waiting
  long timeout_ms = 30000;       // whole request
  long connect_timeout_ms = 10000;
  size_t max_body_bytes = 256u << 20;  // after decompression; a larger body fails the request
  double run_timeout_s = 3600;   // deadline for all requests of one client (one run)
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

// transient: a later try may succeed (transport error, 5xx, 429, deadline); otherwise the
// request itself is wrong (4xx, redirect, content type, size) and retrying does not help.
// retry_after_s: the server asked not to be called again for that long.
class HttpError : public std::runtime_error {
 public:
  explicit HttpError(const std::string &what, bool transient = true, std::optional<double> retry_after_s = std::nullopt,
                     long status = 0)
      : std::runtime_error(what), transient(transient), retry_after_s(retry_after_s), status(status) {}
  bool transient;
  std::optional<double> retry_after_s;
  long status;
};

// Seconds to wait from a Retry-After value (delta-seconds or an HTTP-date); nullopt if unparsable.
std::optional<double> parse_retry_after(const std::string &value, long long now_epoch_s);

// Full jitter: uniform in [0, min(max_delay, base * 2^attempt)] (attempt counts from 0).
double full_jitter_delay(const RetryPolicy &p, int attempt, double unit_random);

class HttpClient {
 public:
  HttpClient(RetryPolicy policy, std::string bearer_token);
  ~HttpClient();
  HttpClient(const HttpClient &) = delete;
  HttpClient &operator=(const HttpClient &) = delete;

  // GET with retries; returns the final 2xx response or throws HttpError. 4xx other than 429
  // fail at once (a wrong token or URL does not get better by retrying), as do redirects
  // (never followed: the token goes only where the mapping says), a body larger than
  // max_body_bytes and a content type other than JSON. The token is registered with
  // rgsync::register_secret, so redact() removes it from any message.
  HttpResponse get(const std::string &url);

  // Replaces the token (and any of its fragments) in text with "***".
  std::string scrub(std::string text) const;

  // Tests replace the sleep; stop() (e.g. SIGTERM in serve) cuts a backoff short.
  std::function<void(double seconds)> sleeper;
  const std::atomic<bool> *stop_flag = nullptr;

  int requests_made() const { return requests_; }
  int retries_made() const { return retries_; }

 private:
  HttpResponse once(const std::string &url, std::string &transport_error, long timeout_ms);
  double remaining_s() const;
  RetryPolicy policy_;
  std::chrono::steady_clock::time_point deadline_;
  std::string token_;
  void *curl_ = nullptr;
  int requests_ = 0;
  int retries_ = 0;
};

// Percent-encodes a query component.
std::string url_encode(const std::string &s);
// The URL without userinfo (user:password@) and with the values of secret-looking query
// parameters (token, access_token, api_key, sig, ...) replaced by ***, for messages.
std::string redact_url(const std::string &url);
// "scheme://host:port" in lower case with the scheme's default port filled in; "" if not a URL.
std::string url_origin(const std::string &url);
// Whether host (of a URL) is a loopback name or address: localhost, 127.0.0.0/8, ::1.
bool is_loopback_url(const std::string &url);

}  // namespace rgsync::hr
