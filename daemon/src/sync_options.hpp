// Options shared by validate, apply and export: registry directory, mapping file, size limit,
// dangling-reference policy; and the read-and-check step they all start with.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "findings.hpp"
#include "mapping.hpp"
#include "registry.hpp"

namespace rgsync {

// --registry DIR (required when `need_registry`), --mapping FILE, --max-file-size BYTES,
// --on-dangling fail|drop|keep.
void add_registry_options(boost::program_options::options_description &opts, bool need_registry, bool dangling);

struct RegistryOptions {
  std::string registry_dir;
  std::string mapping_path;
  uint64_t max_file_bytes = 256ull * 1024 * 1024;
  OnDangling on_dangling = OnDangling::Fail;
};

// "fail" | "drop" | "keep"; nullopt for anything else.
std::optional<OnDangling> parse_on_dangling(const std::string &policy);

// Reads the options (throws UsageError for bad values).
RegistryOptions registry_options(const boost::program_options::variables_map &vm);

// Loads the mapping and the registry, resolves references and prints every finding to `out`
// followed by a summary line. Returns true when there are no errors.
bool read_registry(const RegistryOptions &o, Mapping &mapping, Registry &reg, Findings &findings, std::ostream &out,
                   std::ostream *progress);

}  // namespace rgsync
