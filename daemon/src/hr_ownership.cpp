// Reading the HR-owned columns from the registry mapping (see hr_ownership.hpp).
#include "hr_ownership.hpp"

#include <fstream>

#include "errors.hpp"
#include "mapping.hpp"

namespace rgsync::hr {

std::optional<std::set<std::string>> registry_hr_owned_columns(const std::optional<std::string> &path) {
  std::string p = path ? *path : default_mapping_path();
  if (!path && !std::ifstream(p)) return std::nullopt;
  Mapping m;
  try {
    m = load_mapping(p);
  } catch (const std::exception &e) {
    throw UsageError(std::string("registry mapping (for HR-owned columns): ") + e.what());
  }
  const TableDef *t = m.table("principal_profiles");
  if (!t || t->hr_owned_columns.empty()) return std::nullopt;
  return std::set<std::string>(t->hr_owned_columns.begin(), t->hr_owned_columns.end());
}

}  // namespace rgsync::hr
