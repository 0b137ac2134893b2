// The HTTP side of `registry-sync serve` (/healthz, /readyz, /metrics) on cpp-httplib: a pool
// of worker threads (a slow or stuck client holds one worker, not the listener), read and
// write timeouts on every socket, a small payload limit (requests carry no body), keep-alive
// bounded, and a deadline for a whole request: cpp-httplib 0.11 times out each read only, so a
// client sending one header byte just inside the read timeout would hold a worker until 8 KB
// of header; a watchdog shuts down any connection whose request (head and body) is not
// complete request_timeout_s after a worker took it up (or after its previous response). Handlers answer from memory (metrics, state the scheduler keeps), never from the
// database, so probes stay fast whatever the database does.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace rgsync::serve {

class RequestDeadlines;

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpReply(const std::string &method, const std::string &path)>;

struct HttpLimits {
  int workers = 8;                 // concurrent connections served
  double read_timeout_s = 5;       // per read of a request
  double write_timeout_s = 5;      // per write of a reply
  size_t max_payload_bytes = 4096; // request bodies above this get 413
  int keep_alive_max = 20;         // requests per connection
  double keep_alive_timeout_s = 5;
  double request_timeout_s = 5;    // whole request head + body, from when a worker takes it up
};

class HttpServer {
 public:
  // Binds host:port (port 0 = any free port); throws with the reason when it cannot.
  HttpServer(const std::string &host, int port, HttpHandler handler, HttpLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer &) = delete;
  HttpServer &operator=(const HttpServer &) = delete;
  int port() const { return port_; }
  void start();  // serves on background threads until stop()
  void stop();

 private:
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  HttpHandler handler_;
  HttpLimits limits_;
  std::shared_ptr<RequestDeadlines> deadlines_;
  std::thread thread_, watchdog_;
  std::atomic<bool> stopping_{false};
};

// "host:port" -> (host, port); throws on malformed input.
std::pair<std::string, int> parse_listen(const std::string &listen);

}  // namespace rgsync::serve
