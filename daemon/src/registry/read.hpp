// Reading a registry directory: what to read (directory, mapping file, size limit, dangling-
// reference policy) and the read-and-check step validate, apply and export all start with.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "common/findings.hpp"
#include "registry/mapping.hpp"
#include "registry/registry.hpp"

namespace rgsync {

struct RegistryOptions {
  std::string registry_dir;
  std::string mapping_path;
  uint64_t max_file_bytes = 256ull * 1024 * 1024;
  OnDangling on_dangling = OnDangling::Fail;
};

// "fail" | "drop" | "keep"; nullopt for anything else.
std::optional<OnDangling> parse_on_dangling(const std::string &policy);

// Loads the mapping file named by `o` (a UsageError naming file:line when it is bad). A run
// reads it once and passes it on, so every step sees the same version.
Mapping load_registry_mapping(const RegistryOptions &o);

// Loads the registry through `mapping`, resolves references and prints every finding to `out`
// followed by a summary line. Returns true when there are no errors.
// `preread`: bytes the caller already read (see LoadOptions::preread).
bool read_registry(const RegistryOptions &o, const Mapping &mapping, Registry &reg, Findings &findings, std::ostream &out,
                   std::ostream *progress, std::unordered_map<std::string, PreRead> *preread = nullptr);

// The end of read_registry: prints every finding to `out` and the summary line. Returns true
// when there are no errors.
bool report_registry(const RegistryOptions &o, const Registry &reg, const Findings &findings, std::ostream &out);

}  // namespace rgsync
