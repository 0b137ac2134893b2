// Command-line plumbing shared by every subcommand: common options, parsing, --help with
// examples, and resolution of settings (flags > environment > config file).
//
// A typical command:
//
//   static int run(const std::vector<std::string> &args) {
//     namespace po = boost::program_options;
//     rgsync::CommandHelp help{"migrate", "registry-sync migrate [options]",
//         "Applies pending migrations in order.",
//         {{"registry-sync migrate --dir migrations --database-url postgresql://u@h/db", "apply all"}}};
//     po::options_description opts("migrate options");
//     opts.add_options()("dir", po::value<std::string>()->default_value("migrations"), "migrations folder");
//     rgsync::add_common_options(opts);      // --help --config --log-level
//     rgsync::add_connection_options(opts);  // --database-url --host --port --user --dbname --password-file
//     auto vm = rgsync::parse_command_line(args, opts, help);
//     if (!vm) return rgsync::kOk;           // --help was printed
//     rgsync::Settings settings = rgsync::resolve_settings(*vm);   // also sets up logging
//     auto conn = rgsync::connect(settings.connection, "registry-sync migrate");
//     ...
//   }
//
// Errors are thrown (UsageError, DatabaseError, ...) and turned into exit codes by main().
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "common/config_file.hpp"
#include "db/connection.hpp"
#include "common/connection_settings.hpp"

namespace rgsync {

namespace po = boost::program_options;

struct CommandHelp {
  std::string name;         // "migrate"
  std::string synopsis;     // "registry-sync migrate [options]"
  std::string description;  // a few sentences: what it does, what it changes
  std::vector<std::pair<std::string, std::string>> examples;  // (command line, what it does)
};

// --help, --config FILE (env REGISTRY_SYNC_CONFIG), --log-level LEVEL (env REGISTRY_SYNC_LOG_LEVEL,
// config log_level; trace|debug|info|warn|error|off, default info).
void add_common_options(po::options_description &opts);

// --database-url, --host, --port, --user, --dbname, --password-file (no --password: a
// password on the command line is visible to every local user through ps).
void add_connection_options(po::options_description &opts);

void print_help(std::ostream &out, const CommandHelp &help, const po::options_description &opts);

// Parses the arguments. Returns nullopt after printing help for --help; throws UsageError
// (naming the command and pointing to --help) on unknown or malformed options.
std::optional<po::variables_map> parse_command_line(const std::vector<std::string> &args,
                                                    const po::options_description &opts,
                                                    const CommandHelp &help,
                                                    const po::positional_options_description *positional = nullptr);

// Everything a command needs after parsing: the config file (if any), the merged connection
// and a lookup for its own settings with the same precedence.
struct Settings {
  po::variables_map vm;
  std::optional<ConfigFile> config;
  ConnectionSettings connection;
  std::function<const char *(const char *)> getenv_fn;

  // flag `option` (if given on the command line) > environment `env_var` (if non-null and
  // set) > config file `config_key` (if non-empty) > the flag's default value (if any).
  std::optional<std::string> value(const std::string &option, const char *env_var,
                                   const std::string &config_key) const;
};

// The config file's `database:` section (statement, lock, idle-in-transaction timeouts and
// the advisory lock wait, in seconds); unknown keys there are errors naming file:line.
SessionTimeouts resolve_session_timeouts(const ConfigFile *config);

// Reads --config / REGISTRY_SYNC_CONFIG, merges the connection, sets up logging
// (setup_logging with the resolved level). `getenv_fn` is injectable for tests.
Settings resolve_settings(const po::variables_map &vm,
                          std::function<const char *(const char *)> getenv_fn = nullptr);

// Only the connection part of resolve_settings (no logging); for tests and tools.
ConnectionSettings resolve_connection_settings(const po::variables_map &vm, const ConfigFile *config,
                                               const std::function<const char *(const char *)> &getenv_fn);

}  // namespace rgsync
