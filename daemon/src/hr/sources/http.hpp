// HTTP GET for HR sources (libcurl): a timeout on every request, retries with full-jitter
// exponential backoff on 429 / 5xx / transport errors honouring Retry-After, and error
// messages from which the bearer token is scrubbed.
#pragma once

#include <atomic>
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
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

class HttpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
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
  // fail at once (a wrong token or URL does not get better by retrying).
  HttpResponse get(const std::string &url);

  // Replaces the token (and any of its fragments) in text with "***".
  std::string scrub(std::string text) const;

  // Tests replace the sleep; stop() (e.g. SIGTERM in serve) cuts a backoff short.
  std::function<void(double seconds)> sleeper;
  const std::atomic<bool> *stop_flag = nullptr;

  int requests_made() const { return requests_; }
  int retries_made() const { return retries_; }

 private:
  HttpResponse once(const std::string &url, std::string &transport_error);
  RetryPolicy policy_;
  std::string token_;
  void *curl_ = nullptr;
  int requests_ = 0;
  int retries_ = 0;
};

// Percent-encodes a query component.
std::string url_encode(const std::string &s);
// The URL without userinfo (user:password@), for messages.
std::string redact_url(const std::string &url);

}  // namespace rgsync::hr
