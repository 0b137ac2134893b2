// Minimal HTTP listener for serve's probes and metrics (see serve_http.hpp).
#include "serve/http.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
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

HttpServer::HttpServer(const std::string &host, int port, HttpHandler handler) : handler_(std::move(handler)) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) throw std::runtime_error("listen " + host + ":" + std::to_string(port) + ": " + gai_strerror(rc));
  std::string err = "no address";
  for (addrinfo *a = res; a; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) { err = std::strerror(errno); continue; }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 16) == 0) { fd_ = fd; break; }
    err = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(res);
  if (fd_ < 0) throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " + err);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd_, reinterpret_cast<sockaddr *>(&ss), &len);
  port_ = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port)
                                   : ntohs(reinterpret_cast<sockaddr_in *>(&ss)->sin_port);
}

HttpServer::~HttpServer() {
  stop();
  if (fd_ >= 0) close(fd_);
}

void HttpServer::start() { thread_ = std::thread([this] { loop(); }); }

void HttpServer::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void HttpServer::loop() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    handle(c);
    close(c);
  }
}

void HttpServer::handle(int fd) {
  std::string req;
  char buf[2048];
  // Read the request head with a 2 s budget; bodies are not expected.
  for (int waited = 0; req.find("\r\n\r\n") == std::string::npos && req.size() < 8192 && waited < 2000;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) { waited += 100; continue; }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    req.append(buf, static_cast<size_t>(n));
  }
  HttpReply r;
  auto sp1 = req.find(' ');
  auto sp2 = sp1 == std::string::npos ? sp1 : req.find(' ', sp1 + 1);
  if (sp2 == std::string::npos) {
    r = {400, "text/plain; charset=utf-8", "bad request\n"};
  } else {
    std::string method = req.substr(0, sp1), path = req.substr(sp1 + 1, sp2 - sp1 - 1);
    auto q = path.find('?');
    if (q != std::string::npos) path = path.substr(0, q);
    try {
      r = handler_(method, path);
    } catch (const std::exception &e) {
      r = {500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n"};
    }
  }
  const char *reason = r.status == 200 ? "OK" : r.status == 404 ? "Not Found" : r.status == 405 ? "Method Not Allowed"
                     : r.status == 503 ? "Service Unavailable" : r.status == 400 ? "Bad Request" : "Error";
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason + "\r\nContent-Type: " + r.content_type +
                    "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n" + r.body;
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

}  // namespace rgsync::serve
