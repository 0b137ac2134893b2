// Collects and prints validation findings in the compiler-style form editors understand.
#include "common/findings.hpp"

#include <algorithm>

namespace rgsync {

std::string Finding::format() const {
  return file + ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column) + ": " +
         (severity == Error ? "error: " : "warning: ") + message;
}

void Findings::add(Finding::Severity s, const std::string &file, Mark m, std::string msg) {
  items_.push_back(Finding{s, file, m, std::move(msg)});
  if (s == Finding::Error) ++errors_;
}

void Findings::print(std::ostream &out) const {
  std::vector<const Finding *> sorted;
  for (const auto &f : items_) sorted.push_back(&f);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Finding *a, const Finding *b) {
    if (a->severity != b->severity) return a->severity == Finding::Error;
    if (a->file != b->file) return a->file < b->file;
    if (a->mark.line != b->mark.line) return a->mark.line < b->mark.line;
    return a->mark.column < b->mark.column;
  });
  for (const auto *f : sorted) out << f->format() << "\n";
}

}  // namespace rgsync
