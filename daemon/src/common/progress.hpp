#pragma once
// Progress on long runs, for a person watching a terminal: a single line on stderr, rewritten at
// most every 200 ms ("\r<what>: <n> <unit>"), ended with the total and a newline when the work
// is done (so a terminal shows one total line per table or source even for quick runs). Only
// when stderr is a terminal (and TERM is not "dumb" and REGISTRY_SYNC_NO_PROGRESS is unset), so
// logs, pipes, CI output and tests that read stderr see nothing of it.
#include <chrono>
#include <cstddef>
#include <string>

namespace rgsync {

class Progress {
 public:
  Progress(std::string what, std::string unit);
  ~Progress();  // the total line, when enabled
  Progress(const Progress &) = delete;
  Progress &operator=(const Progress &) = delete;
  void add(size_t n);
  static bool enabled();  // stderr is a terminal and progress is not switched off

 private:
  void show(bool final);
  std::string what_, unit_;
  size_t count_ = 0;
  bool on_ = false, shown_ = false;
  std::chrono::steady_clock::time_point next_;
};

}  // namespace rgsync
