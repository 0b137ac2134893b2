// Shared options, --help rendering and settings resolution for subcommands (see cli.hpp).
#include "cli/options.hpp"
#include "common/file_reader.hpp"

#include "db/connection.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/errors.hpp"
#include "common/logging.hpp"
#include "common/redact.hpp"

namespace rgsync {

void add_common_options(po::options_description &opts) {
  opts.add_options()
      ("help,h", "show this help with examples")
      ("config", po::value<std::string>()->value_name("FILE"),
       "config file (YAML, or INI when named *.ini/*.conf); env REGISTRY_SYNC_CONFIG")
      ("log-level", po::value<std::string>()->value_name("LEVEL"),
       "trace|debug|info|warn|error|off (default info); env REGISTRY_SYNC_LOG_LEVEL, config log_level");
}

void add_connection_options(po::options_description &opts) {
  opts.add_options()
      ("database-url", po::value<std::string>()->value_name("URL"),
       "postgresql://user@host:port/db or 'host=... dbname=...'; else DATABASE_URL, PG* variables, config database_url")
      ("host", po::value<std::string>()->value_name("HOST"), "server host or socket directory (overrides the URL's)")
      ("port", po::value<std::string>()->value_name("PORT"), "server port")
      ("user", po::value<std::string>()->value_name("USER"), "database role")
      ("dbname", po::value<std::string>()->value_name("NAME"), "database name")
      ("password-file", po::value<std::string>()->value_name("FILE"),
       "read the password from FILE (first line); or use PGPASSWORD / ~/.pgpass");
}

void print_help(std::ostream &out, const CommandHelp &help, const po::options_description &opts) {
  out << "usage: " << help.synopsis << "\n\n" << help.description << "\n\n" << opts << "\n";
  if (!help.examples.empty()) {
    out << "examples:\n";
    for (const auto &[cmd, what] : help.examples) out << "  " << cmd << "\n      " << what << "\n";
  }
}

std::optional<po::variables_map> parse_command_line(const std::vector<std::string> &args,
                                                    const po::options_description &opts,
                                                    const CommandHelp &help,
                                                    const po::positional_options_description *positional) {
  po::variables_map vm;
  try {
    po::command_line_parser parser(args);
    parser.options(opts);
    if (positional) parser.positional(*positional);
    else parser.positional(po::positional_options_description());
    po::store(parser.run(), vm);
    if (vm.count("help")) {
      print_help(std::cout, help, opts);
      return std::nullopt;
    }
    po::notify(vm);
  } catch (const po::error &e) {
    throw UsageError(redact(e.what()) + "\nRun 'registry-sync " + help.name + " --help' for options and an example.");
  }
  return vm;
}

namespace {
bool given(const po::variables_map &vm, const std::string &opt) {
  return vm.count(opt) && !vm[opt].defaulted();
}
std::string as_string(const po::variable_value &v) {
  if (v.empty()) return "";
  const std::type_info &t = v.value().type();
  if (t == typeid(std::string)) return v.as<std::string>();
  if (t == typeid(int)) return std::to_string(v.as<int>());
  if (t == typeid(long)) return std::to_string(v.as<long>());
  if (t == typeid(bool)) return v.as<bool>() ? "true" : "false";
  if (t == typeid(double)) return std::to_string(v.as<double>());
  return "";
}

std::string read_password_file(const std::string &path) {
  std::string text;
  try {
    text = read_file(path, 64 << 10, "a password file holds one line");
  } catch (const FileReadError &e) {
    throw UsageError("--password-file " + std::string(e.what()));
  }
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.empty()) throw UsageError("--password-file " + path + " is empty");
  register_secret(line);
  return line;
}
}  // namespace

std::optional<std::string> Settings::value(const std::string &option, const char *env_var,
                                           const std::string &config_key) const {
  if (!option.empty() && given(vm, option)) return as_string(vm[option]);
  if (env_var && getenv_fn) {
    const char *v = getenv_fn(env_var);
    if (v && *v) return std::string(v);
  }
  if (config && !config_key.empty()) {
    if (auto v = config->get(config_key)) return v;
  }
  if (!option.empty() && vm.count(option)) return as_string(vm[option]);
  return std::nullopt;
}

ConnectionSettings resolve_connection_settings(const po::variables_map &vm, const ConfigFile *config,
                                               const std::function<const char *(const char *)> &getenv_fn) {
  ConnectionLayer flags;
  flags.name = "flag";
  if (given(vm, "database-url")) {
    flags.url = vm["database-url"].as<std::string>();
    flags.url_origin = "--database-url";
  }
  const std::pair<const char *, const char *> single[] = {
      {"host", "host"}, {"port", "port"}, {"user", "user"}, {"dbname", "dbname"}};
  for (const auto &[opt, kw] : single) {
    if (given(vm, opt)) {
      flags.params[kw] = vm[opt].as<std::string>();
      flags.param_origin[kw] = std::string("--") + opt;
    }
  }
  if (given(vm, "password-file")) {
    flags.params["password"] = read_password_file(vm["password-file"].as<std::string>());
    flags.param_origin["password"] = "--password-file";
  }
  std::vector<ConnectionLayer> layers{flags, environment_layer(getenv_fn)};
  if (config) layers.push_back(config_file_layer(*config));
  return resolve_connection(layers);
}

SessionTimeouts resolve_session_timeouts(const ConfigFile *config) {
  SessionTimeouts t;
  if (!config) return t;
  const std::pair<const char *, double SessionTimeouts::*> keys[] = {
      {"statement_timeout_seconds", &SessionTimeouts::statement_s},
      {"lock_timeout_seconds", &SessionTimeouts::lock_s},
      {"idle_in_transaction_timeout_seconds", &SessionTimeouts::idle_in_transaction_s},
      {"advisory_lock_wait_seconds", &SessionTimeouts::advisory_lock_wait_s}};
  for (const auto &[key, value] : config->values()) {
    if (key.rfind("database.", 0) != 0) continue;
    std::string k = key.substr(9);
    bool known = false;
    for (const auto &[name, field] : keys) {
      if (k != name) continue;
      known = true;
      double d = -1;
      try {
        size_t used = 0;
        d = std::stod(value, &used);
        if (used != value.size()) d = -1;
      } catch (...) {
      }
      if (d < 0 || d > 7 * 86400)
        throw UsageError(config->where(key) + ": " + key + " must be a number of seconds between 0 (no limit) and 604800 (got '" + value + "')");
      t.*field = d;
    }
    if (!known)
      throw UsageError(config->where(key) + ": unknown key '" + key +
                       "' (database knows statement_timeout_seconds, lock_timeout_seconds, idle_in_transaction_timeout_seconds, "
                       "advisory_lock_wait_seconds)");
  }
  return t;
}

Settings resolve_settings(const po::variables_map &vm, std::function<const char *(const char *)> getenv_fn) {
  Settings s;
  s.vm = vm;
  s.getenv_fn = getenv_fn ? std::move(getenv_fn) : [](const char *n) -> const char * { return std::getenv(n); };
  std::optional<std::string> config_path;
  if (given(vm, "config")) config_path = vm["config"].as<std::string>();
  else if (const char *env = s.getenv_fn("REGISTRY_SYNC_CONFIG"); env && *env) config_path = env;
  if (config_path) s.config = ConfigFile::load(*config_path);

  std::string level = s.value("log-level", "REGISTRY_SYNC_LOG_LEVEL", "log_level").value_or("info");
  setup_logging(level);

  s.connection = resolve_connection_settings(vm, s.config ? &*s.config : nullptr, s.getenv_fn);
  set_session_timeouts(resolve_session_timeouts(s.config ? &*s.config : nullptr));
  return s;
}

}  // namespace rgsync
