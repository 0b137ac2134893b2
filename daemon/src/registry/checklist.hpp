// `registry-sync validate --checklist data-product FILE`: the data product onboarding
// checklist as code. One contract file (one product: fields at the top or under `metadata:`,
// id defaulting to the file name, `staging`, `tables` / `views` / `kpis` lists) is checked
// against a registry read through the mapping; every check is one line, passed or failed,
// and every failure names file:line:column and what to do.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "common/findings.hpp"
#include "registry/mapping.hpp"
#include "registry/registry.hpp"

namespace rgsync {

struct CheckProblem {
  std::string file;
  Mark mark;
  std::string message;  // what is wrong and what to do
};

struct Check {
  std::string title;
  std::string note;  // shown after the title when the check passed (what was found)
  std::vector<CheckProblem> problems;
  bool passed() const { return problems.empty(); }
};

struct Checklist {
  std::string file;        // the contract as given
  std::string product_id;  // "" when the contract could not be read
  std::vector<Check> checks;
  size_t failed() const;
};

// Runs every check of the data product checklist. `reg` and `registry_findings` are the
// registry as load_registry read it without the contract itself (references not resolved;
// its errors are one check); `contract_rel` is the contract's path inside the registry
// directory ("" when outside). When the mapping has an `entry:` files rule for data_products,
// the contract is read through it (the rule matching `contract_rel`, else its file name):
// the mapping's column sources, types and required columns; else fields are read from
// `metadata:` first, then the top level, and the id defaults to the file name.
// Never throws for a bad contract: an unreadable or mis-shaped file is a failed check.
Checklist check_data_product(const std::string &contract_path, const Mapping &m, const Registry &reg,
                             const Findings &registry_findings, const std::string &registry_dir, const std::string &contract_rel,
                             uint64_t max_file_bytes);

// The path of `file` relative to `dir` when it lies inside it, else "".
std::string path_inside(const std::string &file, const std::string &dir);

// One line per check (problems after the first indented below it), then a summary line.
// `utf8`: ✓ / ✗ marks, else "ok" / "FAIL".
void print_checklist(const Checklist &c, std::ostream &out, bool utf8);

// True when the environment's locale (LC_ALL, else LC_CTYPE, else LANG) names UTF-8.
bool locale_is_utf8();

}  // namespace rgsync
