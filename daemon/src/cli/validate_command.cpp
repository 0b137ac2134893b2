// `registry-sync validate`: offline check of a registry directory against the mapping.
#include <iostream>

#include "cli/options.hpp"
#include "cli/commands.hpp"
#include "common/errors.hpp"
#include "cli/registry_options.hpp"

namespace rgsync {

int run_validate(const std::vector<std::string> &args) {
  CommandHelp help{"validate", "registry-sync validate --registry DIR [options]",
                   "Reads every YAML file the mapping names, without a database, and reports every problem as\n"
                   "file:line:column: error|warning: message -- wrong types, missing required fields, duplicate\n"
                   "ids, dangling references, unknown top-level keys (errors) and unknown entry fields\n"
                   "(warnings). Exit status 0 when there are no errors, 1 otherwise.",
                   {{"registry-sync validate --registry registry/", "check the registry in registry/"},
                    {"registry-sync validate --registry registry/ --on-dangling=drop", "check as apply --on-dangling=drop would load it"}}};
  po::options_description opts("validate options");
  add_registry_options(opts, true, true);
  add_common_options(opts);
  auto vm = parse_command_line(args, opts, help);
  if (!vm) return kOk;
  resolve_settings(*vm);
  if (!vm->count("registry")) throw UsageError("validate needs --registry DIR");
  RegistryOptions o = registry_options(*vm);
  Mapping m = load_registry_mapping(o);
  Registry reg;
  Findings f;
  return read_registry(o, m, reg, f, std::cout, &std::cerr) ? kOk : kFailure;
}

}  // namespace rgsync
