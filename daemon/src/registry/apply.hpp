// One registry apply run (load the mapping, check the schema, lock, shortcut or validate, write),
// shared by the `registry-sync apply` command and the `apply` jobs of `registry-sync serve`.
#pragma once

#include <optional>
#include <ostream>
#include <pqxx/connection>

#include "registry/write_changes.hpp"
#include "registry/mapping.hpp"
#include "registry/read.hpp"

namespace rgsync {

// Loads the registry mapping named by `o` (UsageError naming the file when it is bad) and records
// its hash in `ao.mapping_sha256`, so the unchanged-input shortcut notices an edited mapping.
// Done before connecting: a bad mapping is a usage error whether or not the database is up.
Mapping load_apply_mapping(const RegistryOptions &o, ApplyOptions &ao);

// Checks the schema, takes the apply advisory lock, then either records an unchanged-input run
// (result.shortcut) or validates every file and writes what changed. Findings go to `findings`;
// nullopt = validation failed and the database was not changed.
std::optional<ApplyResult> run_registry_apply(pqxx::connection &conn, const Mapping &m, const RegistryOptions &o,
                                              const ApplyOptions &ao, std::ostream &findings);

}  // namespace rgsync
