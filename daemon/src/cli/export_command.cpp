// `registry-sync export`: the database's registries as canonical YAML in the registry layout.
#include <iostream>

#include "cli/options.hpp"
#include "cli/commands.hpp"
#include "db/connection.hpp"
#include "common/errors.hpp"
#include "registry/export.hpp"
#include "cli/registry_options.hpp"

namespace rgsync {

int run_export(const std::vector<std::string> &args) {
  CommandHelp help{"export", "registry-sync export --out DIR [options]",
                   "Writes every registry table back as YAML, one file per mapped file, in the same layout\n"
                   "`apply` reads (ids instead of display names, no comments, registry documents included).\n"
                   "It is the fallback snapshot for when the database is unreachable: applying it to the\n"
                   "database it came from writes 0 rows. Read-only for the database.",
                   {{"registry-sync export --out snapshot/", "write snapshot/*.yaml from the database in PG*/DATABASE_URL"},
                    {"registry-sync validate --registry snapshot/", "check a snapshot offline"}}};
  po::options_description opts("export options");
  opts.add_options()("out", po::value<std::string>()->value_name("DIR"), "directory to write the YAML files into (created if missing)")
      ("tenant", po::value<std::string>()->value_name("ID"), "tenant to export, for tables with a client_id; default 'default'");
  add_registry_options(opts, false, false);
  add_common_options(opts);
  add_connection_options(opts);
  auto vm = parse_command_line(args, opts, help);
  if (!vm) return kOk;
  Settings settings = resolve_settings(*vm);
  if (!vm->count("out")) throw UsageError("export needs --out DIR");
  RegistryOptions o = registry_options(*vm);
  Mapping m = load_registry_mapping(o);
  std::string tenant = settings.value("tenant", "REGISTRY_SYNC_TENANT", "tenant").value_or("default");
  auto conn = connect(settings.connection, "registry-sync export");
  ExportResult r = export_registry(*conn, m, (*vm)["out"].as<std::string>(), tenant, std::cerr);
  std::cout << "exported " << r.rows << " entries and " << r.documents << " documents into " << r.files << " files\n";
  return kOk;
}

}  // namespace rgsync
