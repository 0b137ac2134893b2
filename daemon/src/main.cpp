// registry-sync entry point: the command table (every command and its one-line help, in one
// place) and the dispatch to it.
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"

namespace {

const std::vector<rgsync::Command> &command_table() {
  static const std::vector<rgsync::Command> table = {
      {"apply", "validate a YAML registry and write only what changed", rgsync::run_apply},
      {"export", "write the registries back as canonical YAML (fallback snapshot)", rgsync::run_export},
      {"hr", "sync principal profiles from an HR source (SCIM, Workday, SuccessFactors, CSV)", rgsync::run_hr},
      {"manifest", "record row counts, checksums, seal head and migrations of the database after a backup", rgsync::run_manifest},
      {"migrate", "apply pending schema migrations (Supabase CLI compatible history)", rgsync::run_migrate},
      {"repair", "accept edited applied migrations without running them", rgsync::run_repair},
      {"serve", "run scheduled jobs (HR sync, registry apply, audit sealing) with /healthz /readyz /metrics", rgsync::run_serve},
      {"status", "show applied / pending / edited / unavailable migrations", rgsync::run_status},
      {"validate", "check a YAML registry offline (file:line:column findings)", rgsync::run_validate},
      {"verify-restore", "compare a restored database with a manifest; name every difference", rgsync::run_verify_restore},
  };
  return table;
}

}  // namespace

int main(int argc, char **argv) {
  return rgsync::dispatch(command_table(), std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
}
