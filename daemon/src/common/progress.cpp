#include "common/progress.hpp"
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace rgsync {

bool Progress::enabled() {
  if (std::getenv("REGISTRY_SYNC_NO_PROGRESS")) return false;
  const char *term = std::getenv("TERM");
  if (term && std::strcmp(term, "dumb") == 0) return false;
  return isatty(STDERR_FILENO) == 1;
}

Progress::Progress(std::string what, std::string unit)
    : what_(std::move(what)), unit_(std::move(unit)), on_(enabled()),
      next_(std::chrono::steady_clock::now() + std::chrono::milliseconds(200)) {}

Progress::~Progress() {
  if (on_) show(true);  // the total, also for work done before the first update was due
}

void Progress::add(size_t n) {
  count_ += n;
  if (!on_) return;
  auto now = std::chrono::steady_clock::now();
  if (now < next_) return;
  next_ = now + std::chrono::milliseconds(200);
  show(false);
}

void Progress::show(bool final) {
  // \033[K clears what a longer earlier line left; one fprintf so the line is written whole.
  std::fprintf(stderr, "\r%s: %zu %s\033[K%s", what_.c_str(), count_, unit_.c_str(), final ? "\n" : "");
  std::fflush(stderr);
  shown_ = true;
}

}  // namespace rgsync
