// serve's probes and metrics on cpp-httplib (see serve/http.hpp).
#include "serve/http.hpp"

#include <httplib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace rgsync::serve {

std::pair<std::string, int> parse_listen(const std::string &listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("listen address '" + listen + "' must be host:port");
  std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int p = -1;
  try { p = std::stoi(port); } catch (...) {}
  if (p < 0 || p > 65535 || port.find_first_not_of("0123456789") != std::string::npos)
    throw std::runtime_error("listen address '" + listen + "': bad port");
  return {host.empty() ? "0.0.0.0" : host, p};
}

HttpServer::HttpServer(const std::string &host, int port, HttpHandler handler, HttpLimits limits)
    : server_(std::make_unique<httplib::Server>()), handler_(std::move(handler)) {
  auto &srv = *server_;
  const int workers = std::max(1, limits.workers);
  srv.new_task_queue = [workers] { return new httplib::ThreadPool(static_cast<size_t>(workers)); };
  auto secs = [](double s) { return std::chrono::microseconds(static_cast<long long>(s * 1e6)); };
  srv.set_read_timeout(secs(limits.read_timeout_s));
  srv.set_write_timeout(secs(limits.write_timeout_s));
  srv.set_keep_alive_timeout(static_cast<time_t>(std::max(1.0, limits.keep_alive_timeout_s)));
  srv.set_keep_alive_max_count(static_cast<size_t>(std::max(1, limits.keep_alive_max)));
  srv.set_payload_max_length(limits.max_payload_bytes);
  auto route = [this](const httplib::Request &req, httplib::Response &res) {
    HttpReply r;
    try {
      r = handler_(req.method, req.path);
    } catch (const std::exception &e) {
      r = {500, "text/plain; charset=utf-8", "internal error\n"};
    }
    res.status = r.status;
    res.set_content(r.body, r.content_type.c_str());
  };
  const char *any = ".*";
  srv.Get(any, route);
  srv.Post(any, route);
  srv.Put(any, route);
  srv.Patch(any, route);
  srv.Delete(any, route);
  srv.Options(any, route);
  srv.set_error_handler([](const httplib::Request &, httplib::Response &res) {
    if (res.body.empty()) {
      std::string why = res.status == 413 ? "request body too large\n" : res.status == 400 ? "bad request\n" : "error\n";
      res.set_content(why, "text/plain; charset=utf-8");
    }
  });
  if (port == 0) {
    port_ = srv.bind_to_any_port(host);
    if (port_ <= 0) throw std::runtime_error("cannot listen on " + host + ":0: " + std::strerror(errno));
  } else {
    if (!srv.bind_to_port(host, port))
      throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " + std::strerror(errno));
    port_ = port;
  }
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() { thread_ = std::thread([this] { server_->listen_after_bind(); }); }

void HttpServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace rgsync::serve
