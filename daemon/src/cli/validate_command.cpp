// `registry-sync validate`: offline check of a registry directory against the mapping.
#include <unistd.h>

#include <iostream>

#include "cli/options.hpp"
#include "cli/commands.hpp"
#include "common/errors.hpp"
#include "cli/registry_options.hpp"
#include "registry/checklist.hpp"

namespace rgsync {

int run_validate(const std::vector<std::string> &args) {
  CommandHelp help{"validate", "registry-sync validate --registry DIR [options]",
                   "Reads every YAML file the mapping names, without a database, and reports every problem as\n"
                   "file:line:column: error|warning: message -- wrong types, missing required fields, duplicate\n"
                   "ids, dangling references, unknown top-level keys (errors) and unknown entry fields\n"
                   "(warnings). Exit status 0 when there are no errors, 1 otherwise.\n"
                   "\n"
                   "With --checklist data-product FILE it runs the data product onboarding checklist on one contract\n"
                   "file against the registry: required fields, owner and domain, related business processes exist,\n"
                   "KPIs name the product (by id), the tables and columns the KPIs use are in the contract, no id or\n"
                   "name collision, no override unless the contract says staging: true. One line per check (marks\n"
                   "\u2713/\u2717 in a UTF-8 locale, ok/FAIL otherwise or with --ascii), failures with file:line:column\n"
                   "and what to do. Exit status 0 when every check passes, 1 when one fails (an unreadable contract\n"
                   "included), 2 for a usage error (no such FILE, unknown checklist, bad mapping).",
                   {{"registry-sync validate --registry registry/", "check the registry in registry/"},
                    {"registry-sync validate --registry registry/ --on-dangling=drop", "check as apply --on-dangling=drop would load it"},
                    {"registry-sync validate --registry registry/ --checklist data-product registry/data_products/dp_fi_ap.yaml",
                     "onboarding checklist of one data product contract"}}};
  po::options_description opts("validate options");
  add_registry_options(opts, true, true);
  opts.add_options()
      ("checklist", po::value<std::string>()->value_name("NAME"), "run a checklist on FILE instead (data-product)")
      ("contract", po::value<std::string>()->value_name("FILE"), "the file the checklist checks (also positional)")
      ("ascii", po::bool_switch(), "checklist marks ok/FAIL even in a UTF-8 locale");
  add_common_options(opts);
  po::positional_options_description pos;
  pos.add("contract", 1);
  auto vm = parse_command_line(args, opts, help, &pos);
  if (!vm) return kOk;
  resolve_settings(*vm);
  if (!vm->count("registry")) throw UsageError("validate needs --registry DIR");
  if (vm->count("contract") && !vm->count("checklist"))
    throw UsageError("validate: a FILE argument needs --checklist (e.g. --checklist data-product FILE)");
  if (vm->count("checklist")) {
    std::string name = (*vm)["checklist"].as<std::string>();
    if (name != "data-product") throw UsageError("validate --checklist " + name + ": unknown checklist (known: data-product)");
    if (!vm->count("contract")) throw UsageError("validate --checklist data-product needs the contract FILE to check");
    std::string file = (*vm)["contract"].as<std::string>();
    if (access(file.c_str(), F_OK) != 0) throw UsageError("validate --checklist data-product: " + file + ": no such file");
  }
  RegistryOptions o = registry_options(*vm);
  Mapping m = load_registry_mapping(o);
  if (vm->count("checklist")) {
    // The registry as it is without this contract (when the contract is one of its files).
    std::string file = (*vm)["contract"].as<std::string>();
    std::string rel = path_inside(file, o.registry_dir);
    LoadOptions lo;
    lo.max_file_bytes = o.max_file_bytes;
    if (!rel.empty()) lo.skip.push_back(rel);
    Findings rf;
    Registry reg = load_registry(m, o.registry_dir, lo, rf);
    Checklist c = check_data_product(file, m, reg, rf, o.registry_dir, rel, o.max_file_bytes);
    print_checklist(c, std::cout, locale_is_utf8() && !(*vm)["ascii"].as<bool>());
    return c.failed() == 0 ? kOk : kFailure;
  }
  Registry reg;
  Findings f;
  return read_registry(o, m, reg, f, std::cout, &std::cerr) ? kOk : kFailure;
}

}  // namespace rgsync
