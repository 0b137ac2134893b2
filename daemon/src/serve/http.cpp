// serve's probes and metrics on cpp-httplib (see serve/http.hpp).
#include "serve/http.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <set>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rgsync::serve {

// The whole-request deadline. cpp-httplib 0.11 hands an accepted socket to a worker without
// telling anyone which socket it is; the task queue below learns it right after the accept
// (the listener thread accepts, then enqueues): the one connected socket on the listening
// port that is not yet known. It keeps a duplicate of that descriptor, so shutting the
// connection down through it always reaches that connection (never a later socket that reused
// the number), and forgets it when the worker is done.
class RequestDeadlines {
 public:
  using Clock = std::chrono::steady_clock;
  struct Conn {
    int fd = -1;  // our duplicate of the accepted socket
    ino_t inode = 0;
    std::string peer;
    Clock::time_point deadline = Clock::time_point::max();
    bool closed = false;
  };

  RequestDeadlines(double timeout_s, double keep_alive_s) : timeout_s(timeout_s), keep_alive_s(keep_alive_s) {}
  const double timeout_s, keep_alive_s;
  int port = 0;

  // Listener thread, right after an accept: the accepted socket (nullptr when it cannot be told).
  std::shared_ptr<Conn> adopt_newest() {
    std::lock_guard<std::mutex> l(mu_);
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
      if (!warned_) spdlog::warn("serve: /proc/self/fd is not readable: no whole-request deadline for HTTP connections");
      warned_ = true;
      return nullptr;
    }
    std::shared_ptr<Conn> found;
    int candidates = 0;
    std::set<ino_t> sockets, unknown;
    const int own = dirfd(d);
    while (dirent *e = readdir(d)) {
      char *end = nullptr;
      long fd = std::strtol(e->d_name, &end, 10);
      if (end == e->d_name || *end != '\0' || fd == own) continue;
      struct stat st {};
      if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
      sockets.insert(st.st_ino);
      if (live_.count(st.st_ino) || ignored_.count(st.st_ino)) continue;
      int listening = 0;
      socklen_t len = sizeof listening;
      if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening) continue;
      sockaddr_storage local {}, peer {};
      socklen_t ll = sizeof local, pl = sizeof peer;
      if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr *>(&local), &ll) != 0) continue;
      if (port_of(local) != port) continue;
      if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr *>(&peer), &pl) != 0) continue;
      ++candidates;
      unknown.insert(st.st_ino);
      int dup = fcntl(static_cast<int>(fd), F_DUPFD_CLOEXEC, 0);
      if (dup < 0) continue;
      struct stat dst {};
      if (fstat(dup, &dst) != 0 || dst.st_ino != st.st_ino) { close(dup); continue; }  // the number was reused meanwhile
      if (found) close(found->fd);
      found = std::make_shared<Conn>();
      found->fd = dup;
      found->inode = st.st_ino;
      found->peer = describe(peer);
    }
    closedir(d);
    // Sockets that could not be told apart are ignored until they close, so they do not make
    // the next accept ambiguous too.
    for (auto it = ignored_.begin(); it != ignored_.end();) it = sockets.count(*it) ? std::next(it) : ignored_.erase(it);
    if (candidates != 1) {  // not sure which one is new: no deadline rather than a wrong one
      if (found) close(found->fd);
      found.reset();
      ignored_.insert(unknown.begin(), unknown.end());
      if (candidates > 1) spdlog::debug("serve: {} new HTTP connections at once; no request deadline for them", candidates);
    }
    if (found) live_[found->inode] = found;
    return found;
  }

  void arm(Conn &c, double seconds) {
    std::lock_guard<std::mutex> l(mu_);
    c.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }
  void disarm(Conn &c) {
    std::lock_guard<std::mutex> l(mu_);
    c.deadline = Clock::time_point::max();
  }
  // The worker is done with the connection (httplib closed its descriptor).
  void release(const std::shared_ptr<Conn> &c) {
    std::lock_guard<std::mutex> l(mu_);
    live_.erase(c->inode);
    close(c->fd);
    c->fd = -1;
  }
  // Watchdog: shuts down connections whose request is overdue; the worker's read then fails
  // and the worker is free again.
  void sweep() {
    std::lock_guard<std::mutex> l(mu_);
    auto now = Clock::now();
    for (auto &[ino, c] : live_) {
      if (c->closed || c->fd < 0 || c->deadline > now) continue;
      ::shutdown(c->fd, SHUT_RDWR);
      c->closed = true;
      ++closed_total_;
      spdlog::warn("serve: closed the HTTP connection from {}: its request was not complete within {:g}s "
                   "(serve.request_timeout_seconds)", c->peer, timeout_s);
    }
  }

 private:
  static int port_of(const sockaddr_storage &a) {
    if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in &>(a).sin_port);
    if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6 &>(a).sin6_port);
    return -1;
  }
  static std::string describe(const sockaddr_storage &a) {
    char buf[INET6_ADDRSTRLEN] = "?";
    if (a.ss_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in &>(a).sin_addr, buf, sizeof buf);
    if (a.ss_family == AF_INET6) inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6 &>(a).sin6_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port_of(a));
  }
  std::mutex mu_;
  std::map<ino_t, std::shared_ptr<Conn>> live_;
  std::set<ino_t> ignored_;
  bool warned_ = false;
  long closed_total_ = 0;
};

namespace {

thread_local RequestDeadlines::Conn *t_conn = nullptr;  // the connection this worker serves

// cpp-httplib's thread pool, with each connection's deadline armed when a worker takes it up.
class DeadlineQueue : public httplib::TaskQueue {
 public:
  DeadlineQueue(size_t workers, std::shared_ptr<RequestDeadlines> d) : pool_(workers), d_(std::move(d)) {}
  void enqueue(std::function<void()> fn) override {
    auto conn = d_->adopt_newest();
    pool_.enqueue([d = d_, conn, fn = std::move(fn)] {
      if (conn) d->arm(*conn, d->timeout_s);
      t_conn = conn.get();
      fn();
      t_conn = nullptr;
      if (conn) d->release(conn);
    });
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
  std::shared_ptr<RequestDeadlines> d_;
};

}  // namespace

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
    : server_(std::make_unique<httplib::Server>()), handler_(std::move(handler)), limits_(limits),
      deadlines_(std::make_shared<RequestDeadlines>(limits.request_timeout_s, std::max(1.0, limits.keep_alive_timeout_s))) {
  auto &srv = *server_;
  const int workers = std::max(1, limits.workers);
  auto deadlines = deadlines_;
  srv.new_task_queue = [workers, deadlines] { return new DeadlineQueue(static_cast<size_t>(workers), deadlines); };
  // The request is complete once routed: the reply is bounded by the write timeout instead.
  // After the reply the next request on the connection gets the keep-alive wait plus the deadline.
  srv.set_pre_routing_handler([deadlines](const httplib::Request &, httplib::Response &) {
    if (t_conn) deadlines->disarm(*t_conn);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  srv.set_logger([deadlines](const httplib::Request &, const httplib::Response &) {
    if (t_conn) deadlines->arm(*t_conn, deadlines->keep_alive_s + deadlines->timeout_s);
  });
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
  srv.set_error_handler([deadlines](const httplib::Request &, httplib::Response &res) {
    if (t_conn) deadlines->disarm(*t_conn);
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
  deadlines_->port = port_;
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  watchdog_ = std::thread([this] {
    while (!stopping_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      deadlines_->sweep();
    }
  });
}

void HttpServer::stop() {
  stopping_ = true;
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  if (watchdog_.joinable()) watchdog_.join();
}

}  // namespace rgsync::serve
