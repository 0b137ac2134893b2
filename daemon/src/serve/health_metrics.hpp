// serve's view of the database for /metrics, kept by the readiness checker (the HTTP threads
// only read it): reachable or not, migrations pending or edited, when it was last checked.
#pragma once

#include <mutex>
#include <string>

namespace rgsync::serve {

class HealthMetrics {
 public:
  void reachable(double now, long pending, long edited);
  void unreachable(double now);
  std::string render() const;

 private:
  mutable std::mutex mu_;
  bool checked_ = false, up_ = false;
  long pending_ = 0, edited_ = 0;
  double checked_at_ = 0;
};

}  // namespace rgsync::serve
