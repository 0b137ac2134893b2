// Validation findings, each printed as `file:line:column: severity: message`.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "yaml/tree.hpp"

namespace rgsync {

struct Finding {
  enum Severity { Error, Warning } severity = Error;
  std::string file;
  Mark mark;
  std::string message;
  std::string format() const;
};

class Findings {
 public:
  void error(const std::string &file, Mark m, std::string msg) { add(Finding::Error, file, m, std::move(msg)); }
  void warning(const std::string &file, Mark m, std::string msg) { add(Finding::Warning, file, m, std::move(msg)); }
  void add(Finding::Severity s, const std::string &file, Mark m, std::string msg);
  // Adds every finding of `other` after these.
  void append(const Findings &other) {
    items_.insert(items_.end(), other.items_.begin(), other.items_.end());
    errors_ += other.errors_;
  }
  size_t errors() const { return errors_; }
  size_t warnings() const { return items_.size() - errors_; }
  const std::vector<Finding> &items() const { return items_; }
  // Errors first in file order, then warnings; one line each.
  void print(std::ostream &out) const;

 private:
  std::vector<Finding> items_;
  size_t errors_ = 0;
};

}  // namespace rgsync
