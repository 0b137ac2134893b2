// `registry-sync verify-restore`: compares a restored database with the manifest taken at
// backup time and names every difference (exit 1), or confirms the restore (exit 0).
#include <iostream>

#include "backup/manifest.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "common/errors.hpp"
#include "db/connection.hpp"

namespace rgsync {

int run_verify_restore(const std::vector<std::string> &args) {
  CommandHelp help{"verify-restore", "registry-sync verify-restore --manifest FILE [connection options]",
                   "Takes the same readings as `registry-sync manifest` from the database (the schemas the\n"
                   "manifest covers) and compares them: tables missing or extra, row counts, row checksums,\n"
                   "the audit seal head, applied migrations, the registry_guard version, and whether\n"
                   "audit.verify() passes. Prints every difference and exits 1, or exits 0 when the restored\n"
                   "database equals the manifest. Read-only for the database.",
                   {{"registry-sync verify-restore --manifest registry-20261130T140000Z.json --port 5433",
                     "check a cluster restored beside the live one"}}};
  po::options_description opts("verify-restore options");
  opts.add_options()("manifest", po::value<std::string>()->value_name("FILE"), "manifest written by registry-sync manifest");
  add_common_options(opts);
  add_connection_options(opts);
  auto vm = parse_command_line(args, opts, help);
  if (!vm) return kOk;
  Settings settings = resolve_settings(*vm);
  if (!vm->count("manifest")) throw UsageError("verify-restore needs --manifest FILE (see registry-sync verify-restore --help)");
  std::string path = (*vm)["manifest"].as<std::string>();
  Manifest expected = read_manifest_file(path);
  auto conn = connect(settings.connection, "registry-sync verify-restore");
  Manifest actual = take_manifest(*conn, expected.schemas);
  std::vector<std::string> diffs = compare_manifests(expected, actual);
  if (diffs.empty()) {
    std::cout << "restore verified: " << actual.database << " equals the manifest " << path << " taken at "
              << expected.taken_at << " (" << expected.tables.size() << " tables, " << expected.migrations.size()
              << " migrations" << (expected.seal_head ? ", audit seal head and chain" : "") << ")\n";
    return kOk;
  }
  for (const auto &d : diffs) std::cout << d << "\n";
  std::cout << "restore differs from the manifest " << path << " taken at " << expected.taken_at << ": "
            << diffs.size() << " difference(s)\n";
  return kFailure;
}

}  // namespace rgsync
