// The ownership rule shared with `apply`: the registry mapping's principal_profiles
// hr_owned_columns bound which columns an HR mapping may write.
#pragma once

#include <optional>
#include <set>
#include <string>

namespace rgsync::hr {

// Reads hr_owned_columns of principal_profiles from the registry mapping at `path` (when given:
// it must load), else from the default registry mapping when one exists; nullopt when none is
// found or it declares no HR-owned columns.
std::optional<std::set<std::string>> registry_hr_owned_columns(const std::optional<std::string> &path);

}  // namespace rgsync::hr
