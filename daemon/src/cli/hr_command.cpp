// `registry-sync hr`: one HR sync run (HR source -> principal_profiles) from the command line.
#include <iostream>

#include "cli/options.hpp"
#include "cli/commands.hpp"
#include "db/connection.hpp"
#include "common/errors.hpp"
#include "hr/mapping.hpp"
#include "registry/mapping.hpp"
#include "hr/run.hpp"

namespace rgsync {

int run_hr(const std::vector<std::string> &args) {
  CommandHelp help{
      "hr", "registry-sync hr --mapping FILE [options]",
      "Reads users from the HR source named in the mapping file (SCIM 2.0, Workday RaaS, SuccessFactors\n"
      "OData v2 or CSV) and brings principal_profiles in line in one transaction: creates in-scope\n"
      "users, updates HR-owned columns, marks users who left or are inactive as status 'inactive'\n"
      "(never deletes). Registry-owned columns are never touched. A run that would deactivate more\n"
      "than the mapping's threshold writes nothing and exits 1. Exit codes: 0 ok, 1 refused or\n"
      "failed (nothing written), 2 usage or config error, 3 database unreachable.",
      {{"registry-sync hr --mapping config/hr-scim.yaml --dry-run", "print the plan, write nothing"},
       {"HR_SCIM_TOKEN=... registry-sync hr --mapping config/hr-scim.yaml", "sync (incremental when a watermark exists)"},
       {"registry-sync hr --mapping config/hr-workday.yaml --full --allow-mass-deactivation", "full run past the threshold"}}};
  po::options_description opts("hr options");
  opts.add_options()
      ("mapping", po::value<std::string>()->value_name("FILE"), "HR mapping file (config key hr.mapping)")
      ("dry-run", po::bool_switch(), "print the plan (create / update with changed fields / deactivate / conflict), write nothing")
      ("full", po::bool_switch(), "full reconciliation even when an incremental run is possible")
      ("allow-mass-deactivation", po::bool_switch(), "apply even when more profiles would be deactivated than the threshold allows")
      ("tenant", po::value<std::string>()->value_name("ID"), "tenant (client_id) to write into (env REGISTRY_SYNC_TENANT, config tenant; default 'default')")
      ("registry-mapping", po::value<std::string>()->value_name("FILE"),
       "registry mapping file whose principal_profiles hr_owned_columns limit the HR mapping (config hr.registry_mapping)");
  add_common_options(opts);
  add_connection_options(opts);
  auto vm = parse_command_line(args, opts, help);
  if (!vm) return kOk;
  Settings settings = resolve_settings(*vm);
  auto mapping_file = settings.value("mapping", nullptr, "hr.mapping");
  if (!mapping_file) throw UsageError("hr: --mapping FILE is required (see registry-sync hr --help)");
  auto owned = registry_hr_owned_columns(settings.value("registry-mapping", nullptr, "hr.registry_mapping"));
  hr::HrMapping mapping;
  try {
    mapping = hr::load_hr_mapping(*mapping_file, owned);
  } catch (const std::runtime_error &e) {
    throw UsageError(e.what());
  }
  hr::RunOptions ro;
  ro.tenant = settings.value("tenant", "REGISTRY_SYNC_TENANT", "tenant").value_or("default");
  ro.dry_run = (*vm)["dry-run"].as<bool>();
  ro.force_full = (*vm)["full"].as<bool>();
  ro.allow_mass_deactivation = (*vm)["allow-mass-deactivation"].as<bool>();
  auto conn = connect(settings.connection, "registry-sync hr");
  hr::RunResult r = hr::run_hr_sync(*conn, mapping, ro);
  if (ro.dry_run) std::cout << r.plan.describe();
  else {
    // Conflicts and unlinked profiles need a person: show them on every run.
    for (const auto &c : r.plan.conflicts) {
      std::cout << "conflict " << (c.profile_id.empty() ? "-" : c.profile_id) << ": " << c.reason << " [";
      for (size_t i = 0; i < c.hr_keys.size(); ++i) std::cout << (i ? ", " : "") << c.hr_keys[i];
      std::cout << "] (not applied)\n";
    }
    if (!r.plan.not_in_hr.empty()) {
      std::cout << "not in HR (" << r.plan.not_in_hr.size() << "):";
      for (const auto &id : r.plan.not_in_hr) std::cout << " " << id;
      std::cout << "\n";
    }
  }
  std::cout << r.message << "\n";
  return r.status == hr::RunStatus::Refused ? kFailure : kOk;
}

}  // namespace rgsync
