// The small HTTP/1.1 listener of `registry-sync serve` for /healthz, /readyz and /metrics:
// GET only, one request per connection, a read timeout, no keep-alive. Enough for probes
// and a Prometheus scraper; not a general web server.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace rgsync::serve {

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpReply(const std::string &method, const std::string &path)>;

class HttpServer {
 public:
  // Binds host:port (port 0 = any free port); throws with the reason when it cannot.
  HttpServer(const std::string &host, int port, HttpHandler handler);
  ~HttpServer();
  int port() const { return port_; }
  void start();  // serves on a background thread until stop()
  void stop();

 private:
  void loop();
  void handle(int fd);
  int fd_ = -1;
  int port_ = 0;
  HttpHandler handler_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// "host:port" -> (host, port); throws on malformed input.
std::pair<std::string, int> parse_listen(const std::string &listen);

}  // namespace rgsync::serve
