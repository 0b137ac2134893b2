// `registry-sync manifest`: records what a backup must restore (row counts and checksums per
// table, audit seal head, applied migrations) into a JSON file kept next to the backup.
#include <iostream>

#include "backup/manifest.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "common/errors.hpp"
#include "db/connection.hpp"

namespace rgsync {

int run_manifest(const std::vector<std::string> &args) {
  CommandHelp help{"manifest", "registry-sync manifest --out FILE [--schema NAME ...] [connection options]",
                   "Reads, in one consistent snapshot, every table of the registry's schemas (row count and a\n"
                   "checksum of the rows), audit.seal_head() and audit.verify(), the applied migration versions\n"
                   "and the registry_guard version, and writes them as JSON to FILE (replaced atomically).\n"
                   "Take it right after each backup; `registry-sync verify-restore --manifest FILE` checks a\n"
                   "restored database against it. Read-only for the database; the file holds no secrets.",
                   {{"registry-sync manifest --out /var/lib/pgbackrest/manifests/registry-$(date -u +%Y%m%dT%H%M%SZ).json",
                     "after `pgbackrest --stanza=registry backup`"},
                    {"registry-sync manifest --out registry.dump.manifest.json --database-url postgresql://postgres@db.example.supabase.co/postgres",
                     "next to a logical dump of managed Supabase"}}};
  po::options_description opts("manifest options");
  opts.add_options()("out", po::value<std::string>()->value_name("FILE"), "file to write the manifest to")
      ("schema", po::value<std::vector<std::string>>()->value_name("NAME"),
       "schema to cover (repeatable); default public, audit, guard, registry_sync, registry_private, supabase_migrations");
  add_common_options(opts);
  add_connection_options(opts);
  auto vm = parse_command_line(args, opts, help);
  if (!vm) return kOk;
  Settings settings = resolve_settings(*vm);
  if (!vm->count("out")) throw UsageError("manifest needs --out FILE (see registry-sync manifest --help)");
  std::vector<std::string> schemas =
      vm->count("schema") ? (*vm)["schema"].as<std::vector<std::string>>() : default_manifest_schemas();
  auto conn = connect(settings.connection, "registry-sync manifest");
  Manifest m = take_manifest(*conn, schemas);
  std::string out = (*vm)["out"].as<std::string>();
  write_manifest_file(m, out);
  long long rows = 0;
  for (const auto &[name, t] : m.tables) rows += t.rows;
  std::cout << "manifest of " << m.database << " at " << m.taken_at << ": " << m.tables.size() << " tables, " << rows
            << " rows, " << m.migrations.size() << " migrations";
  if (m.seal_head) std::cout << ", audit seal head " << (m.seal_head->id ? std::to_string(m.seal_head->id) : "none");
  std::cout << " -> " << out << "\n";
  if (m.seal_head && !m.audit_ok)
    std::cerr << "registry-sync manifest: note: this role may not execute audit.verify(); the manifest records the seal "
                 "head without a chain check\n";
  if (m.audit_ok && !*m.audit_ok)
    std::cerr << "registry-sync manifest: warning: audit.verify() fails on this database (" << m.audit_problem
              << "); the manifest records it, see docs/runbooks/audit-verify-failed.md\n";
  return kOk;
}

}  // namespace rgsync
