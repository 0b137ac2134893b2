// `registry-sync apply`: validate a registry directory, then write only what changed.
#include <iostream>

#include "registry/apply.hpp"
#include "cli/options.hpp"
#include "cli/commands.hpp"
#include "db/connection.hpp"
#include "registry/write_changes.hpp"
#include "common/errors.hpp"
#include "cli/registry_options.hpp"

namespace rgsync {

int run_apply(const std::vector<std::string> &args) {
  CommandHelp help{"apply", "registry-sync apply --registry DIR [options]",
                   "Validates every YAML file (as `validate` does; any error stops the run and leaves the\n"
                   "database unchanged; files of 1 MB or more stream into the transaction while they are read),\n"
                   "then compares the rows with the database and writes only inserted\n"
                   "and changed rows, in one transaction, under an advisory lock. Rows missing from the YAML\n"
                   "are reported, and deleted only with --prune (never profiles created by HR sync). Each run\n"
                   "is recorded in registry_sync.sync_runs; audit rows carry actor 'registry-sync apply' and\n"
                   "the run id. Exit status: 0 applied, 1 validation or apply error, 2 usage, 3 database\n"
                   "unreachable / authentication / privileges.",
                   {{"registry-sync apply --registry registry/ --dry-run", "show the per-table diff, change nothing"},
                    {"registry-sync apply --registry registry/ --on-dangling=drop", "load, dropping references to missing processes (each reported)"},
                    {"registry-sync apply --registry registry/ --prune --database-url postgresql://sync@db/registry", "also delete rows no longer in the YAML"}}};
  po::options_description opts("apply options");
  add_registry_options(opts, true, true);
  opts.add_options()
      ("dry-run", "print the diff per table (added, removed, changed fields) and change nothing")
      ("prune", "delete rows that are no longer in the YAML (HR-created profiles are never deleted)")
      ("full-diff", "always compare every row, even when files and database are unchanged since the last apply")
      ("tenant", po::value<std::string>()->value_name("ID"), "tenant (client_id) to write into, for tables that have one; env REGISTRY_SYNC_TENANT, config tenant; default 'default'");
  add_common_options(opts);
  add_connection_options(opts);
  auto vm = parse_command_line(args, opts, help);
  if (!vm) return kOk;
  Settings settings = resolve_settings(*vm);
  if (!vm->count("registry")) throw UsageError("apply needs --registry DIR");
  RegistryOptions o = registry_options(*vm);

  ApplyOptions ao;
  ao.dry_run = vm->count("dry-run") > 0;
  ao.prune = vm->count("prune") > 0;
  ao.force_full_diff = vm->count("full-diff") > 0;
  ao.tenant = settings.value("tenant", "REGISTRY_SYNC_TENANT", "tenant").value_or("default");
  ao.on_dangling = (*vm)["on-dangling"].as<std::string>();
  ao.out = &std::cout;
  ao.progress = &std::cerr;

  Mapping m = load_apply_mapping(o, ao);

  auto conn = connect(settings.connection, "registry-sync apply");
  auto r = run_registry_apply(*conn, m, o, ao, std::cerr);
  if (!r) {
    std::cerr << "registry-sync apply: validation failed; the database was not changed\n";
    return kFailure;
  }
  std::cout << (ao.dry_run ? "dry run: nothing written" : "applied: " + std::to_string(r->rows_written) + " row(s) written")
            << " (sync run " << r->sync_run_id << ")\n";
  return kOk;
}

}  // namespace rgsync
