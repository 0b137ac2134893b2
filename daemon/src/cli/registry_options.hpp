// The command-line options of validate, apply and export that say which registry to read:
// --registry, --mapping, --max-file-size, --on-dangling.
#pragma once

#include <boost/program_options.hpp>

#include "registry/read.hpp"

namespace rgsync {

// --registry DIR (required when `need_registry`), --mapping FILE, --max-file-size BYTES,
// --on-dangling fail|drop|keep.
void add_registry_options(boost::program_options::options_description &opts, bool need_registry, bool dangling);

// Reads the options (throws UsageError for bad values).
RegistryOptions registry_options(const boost::program_options::variables_map &vm);

}  // namespace rgsync
