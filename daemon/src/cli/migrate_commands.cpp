// The `migrate`, `status` and `repair` subcommands (logic in migrator.cpp).
#include <pqxx/transaction>

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli/options.hpp"
#include "cli/commands.hpp"
#include "db/connection.hpp"
#include "common/errors.hpp"
#include "migrate/migrator.hpp"
#include "migrate/safety.hpp"

namespace rgsync {

namespace {
void add_dir_option(po::options_description &opts) {
  opts.add_options()("dir", po::value<std::string>()->value_name("DIR"),
                     "migrations directory (default: ./migrations, else the installed <prefix>/share/registry-sync/migrations); env REGISTRY_SYNC_MIGRATIONS, config migrations_dir");
}

// Unset: ./migrations when it exists (a checkout of a registry repository), else the
// migrations `make install` put beside the binary (<prefix>/share/registry-sync/migrations).
std::string migrations_dir(const Settings &s) {
  if (auto v = s.value("dir", "REGISTRY_SYNC_MIGRATIONS", "migrations_dir")) return *v;
  std::error_code ec;
  if (std::filesystem::is_directory("migrations", ec)) return "migrations";
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    std::string exe(buf, static_cast<size_t>(n));
    std::string installed = exe.substr(0, exe.rfind('/')) + "/../share/registry-sync/migrations";
    if (std::filesystem::is_directory(installed, ec)) return std::filesystem::canonical(installed, ec).string();
  }
  return "migrations";
}

// `migrate --check`: the safety findings of the pending files and the edited applied ones.
int run_check(pqxx::connection &conn, const std::vector<MigrationFile> &files, const SafetyOptions &so) {
  pqxx::read_transaction tx(conn);
  MigrationStatus st = inspect_migrations(tx, files);
  std::vector<SafetyFinding> findings;
  std::vector<const MigrationFile *> pending;
  for (const auto &e : st.entries) {
    if (e.state == MigrationState::kPending) pending.push_back(e.file);
    if (e.state == MigrationState::kEdited)
      findings.push_back({e.file->path, 1, "edited",
                          e.file->filename + " was applied to this database and has changed since (" + e.detail +
                              "); restore the released file and put the change into a new migration (or, for a "
                              "comment-only edit, accept it with 'registry-sync repair " + e.file->version + "')"});
  }
  TableLookup lookup = [&tx](const std::string &schema, const std::string &table) -> std::optional<TableSize> {
    auto r = tx.exec_params(
        "select greatest(c.reltuples, 0)::float8, pg_total_relation_size(c.oid) from pg_catalog.pg_class c "
        "join pg_catalog.pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p', 'm')",
        schema, table);
    if (r.empty()) return std::nullopt;
    return TableSize{r[0][0].as<double>(), r[0][1].as<int64_t>()};
  };
  auto safety = check_migration_safety(pending, lookup, so);
  findings.insert(findings.end(), safety.begin(), safety.end());
  for (const auto &f : findings) std::cout << f.format() << "\n";
  std::cout << "checked " << pending.size() << " pending migration(s) of " << files.size() << ": "
            << findings.size() << " finding(s)\n";
  return findings.empty() ? kOk : kFailure;
}

}  // namespace

int run_migrate(const std::vector<std::string> &args) {
  CommandHelp help{
      "migrate", "registry-sync migrate [--dir DIR] [--dry-run] [connection options]",
      "Applies the pending migrations in DIR in version order, each in its own transaction, under an\n"
      "advisory lock (a concurrent run waits, then finds nothing to do). Records version, name and\n"
      "statements in supabase_migrations.schema_migrations (shared with the Supabase CLI) and the\n"
      "file's sha256 in supabase_migrations.registry_sync_checksums. Refuses to run when an applied\n"
      "file was edited (see 'repair'). Files marked '-- registry-sync: requires-extension NAME' are\n"
      "skipped with a notice where the extension cannot be installed (managed Supabase). A database\n"
      "built by the January 2026 migrations 0001-0005 is adopted in place, rows untouched.\n"
      "A file marked '-- registry-sync: no-transaction' runs statement by statement in autocommit\n"
      "(for CREATE INDEX CONCURRENTLY).\n"
      "--check changes nothing: it reads the target database and reports, as file:line: rule: message,\n"
      "what the pending migrations would do to existing tables: ACCESS EXCLUSIVE locks on large tables\n"
      "(rule lock), CREATE INDEX without CONCURRENTLY (index), ADD COLUMN NOT NULL without DEFAULT\n"
      "(not-null), DROP TABLE/SCHEMA/COLUMN/TYPE/..., DROP ... CASCADE, TRUNCATE and ALTER COLUMN TYPE\n"
      "(destructive), and applied files edited since (edited). Accept a finding deliberately with a\n"
      "comment in the statement: '-- registry-sync: allow-destructive REASON' or\n"
      "'-- registry-sync: allow-lock REASON'. Applied migrations are history and are not checked.\n"
      "Exit codes: 0 done (--check: no findings), 1 refused, a migration failed or (--check) findings,\n"
      "2 usage, 3 database unreachable/privileges.",
      {{"registry-sync migrate --database-url postgresql://postgres@db.internal/registry",
        "apply everything pending in ./migrations"},
       {"registry-sync migrate --dir /usr/share/registry-sync/migrations --dry-run", "list what would run"},
       {"registry-sync migrate --check --database-url postgresql://postgres@db.internal/registry",
        "CI gate: are the pending migrations safe for this database?"}}};
  po::options_description opts("migrate options");
  opts.add_options()("dry-run", po::bool_switch(), "list what would be applied; change nothing")(
      "check", po::bool_switch(), "report unsafe statements of the pending migrations; change nothing")(
      "large-table-rows", po::value<double>()->value_name("N"),
      "--check: a table with at least N rows (planner estimate) is large (default 100000)")(
      "large-table-mb", po::value<double>()->value_name("N"),
      "--check: a table of at least N MB (with indexes and TOAST) is large (default 64)");
  add_dir_option(opts);
  add_common_options(opts);
  add_connection_options(opts);
  auto vm = parse_command_line(args, opts, help);
  if (!vm) return kOk;
  Settings settings = resolve_settings(*vm);
  auto files = load_migrations(migrations_dir(settings));
  bool check = (*vm)["check"].as<bool>();
  if (check && (*vm)["dry-run"].as<bool>()) throw UsageError("--check and --dry-run exclude each other (--check changes nothing either)");
  if (!check && (vm->count("large-table-rows") || vm->count("large-table-mb")))
    throw UsageError("--large-table-rows and --large-table-mb only apply to --check");
  SafetyOptions so;
  if (vm->count("large-table-rows")) so.large_rows = (*vm)["large-table-rows"].as<double>();
  if (vm->count("large-table-mb")) so.large_bytes = static_cast<int64_t>((*vm)["large-table-mb"].as<double>() * 1024 * 1024);
  if (so.large_rows < 0 || so.large_bytes < 0) throw UsageError("--large-table-rows and --large-table-mb must not be negative");
  auto conn = connect(settings.connection, "registry-sync migrate");
  if (check) return run_check(*conn, files, so);
  MigrateOptions mo;
  mo.dry_run = (*vm)["dry-run"].as<bool>();
  run_migrate(*conn, files, mo, std::cout);
  return kOk;
}

int run_status(const std::vector<std::string> &args) {
  CommandHelp help{
      "status", "registry-sync status [--dir DIR] [--fail-on-pending] [connection options]",
      "Shows each migration as applied, pending, edited (changed after it was applied) or\n"
      "unavailable (needs an extension the server cannot install), versions recorded without a\n"
      "file, and which features are unavailable on this server. Changes nothing.\n"
      "Exit codes: 0, or 1 when a file was edited (or, with --fail-on-pending, anything is pending).",
      {{"registry-sync status --database-url postgresql://postgres@db.internal/registry", "show migration state"},
       {"registry-sync status --fail-on-pending", "CI check: fail unless the database is current"}}};
  po::options_description opts("status options");
  opts.add_options()("fail-on-pending", po::bool_switch(), "exit 1 when any migration is pending");
  add_dir_option(opts);
  add_common_options(opts);
  add_connection_options(opts);
  auto vm = parse_command_line(args, opts, help);
  if (!vm) return kOk;
  Settings settings = resolve_settings(*vm);
  std::string dir = migrations_dir(settings);
  auto files = load_migrations(dir);
  auto conn = connect(settings.connection, "registry-sync status");
  pqxx::read_transaction tx(*conn);
  MigrationStatus st = inspect_migrations(tx, files);
  std::cout << "database: " << settings.connection.describe() << "\n";
  print_status(st, dir, std::cout);
  if (st.count(MigrationState::kEdited)) return kFailure;
  if ((*vm)["fail-on-pending"].as<bool>() && st.count(MigrationState::kPending)) return kFailure;
  return kOk;
}

int run_repair(const std::vector<std::string> &args) {
  CommandHelp help{
      "repair", "registry-sync repair VERSION... [--dir DIR] [connection options]",
      "Accepts edited migration files: records each file's current statements and sha256 as the\n"
      "applied version, without running it. Use it after deliberately editing an applied migration\n"
      "(e.g. a comment or a formatting change) when the database already matches the file.",
      {{"registry-sync repair 20261125100100", "accept the edited file with that version"}}};
  po::options_description opts("repair options");
  opts.add_options()("version", po::value<std::vector<std::string>>()->value_name("VERSION"),
                     "version (or file name) to accept; repeatable, also positional");
  add_dir_option(opts);
  add_common_options(opts);
  add_connection_options(opts);
  po::positional_options_description pos;
  pos.add("version", -1);
  auto vm = parse_command_line(args, opts, help, &pos);
  if (!vm) return kOk;
  if (!vm->count("version")) throw UsageError("repair needs at least one VERSION\nRun 'registry-sync repair --help'.");
  Settings settings = resolve_settings(*vm);
  auto files = load_migrations(migrations_dir(settings));
  auto conn = connect(settings.connection, "registry-sync repair");
  run_repair(*conn, files, (*vm)["version"].as<std::vector<std::string>>(), std::cout);
  return kOk;
}

}  // namespace rgsync
