// Where registry-sync connects to: libpq parameters merged from three sources.
//
// Precedence, highest first (each source may give a URL and/or single parameters; within a
// source the single parameters override its URL):
//   1. flags        --database-url URL, --host, --port, --user, --dbname, --password-file
//   2. environment  DATABASE_URL, then the standard libpq variables (PGHOST, PGPORT, PGUSER,
//                   PGDATABASE, PGPASSWORD, PGSSLMODE, PGAPPNAME, ... every variable libpq knows)
//   3. config file  database_url, and any libpq keyword as a top-level key
//                   (host, port, user, dbname, password, sslmode, ...)
// The merge is per parameter: a PGHOST in the environment overrides only the host of a
// config file's database_url. Passwords are registered with redact.hpp as soon as they are
// read, so no later message can leak them.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace rgsync {

class ConfigFile;

// One source of connection parameters.
struct ConnectionLayer {
  std::string name;                          // "flags", "environment", "config file x.yaml"
  std::optional<std::string> url;            // a URI or key=value conninfo string
  std::string url_origin;                    // e.g. "--database-url", "DATABASE_URL"
  std::map<std::string, std::string> params; // libpq keyword -> value
  std::map<std::string, std::string> param_origin;  // keyword -> e.g. "PGHOST", "--host"
};

class ConnectionSettings {
 public:
  // Merged libpq keyword -> value.
  const std::map<std::string, std::string> &params() const { return params_; }
  std::optional<std::string> get(const std::string &keyword) const;
  // Where a parameter came from ("flag --host", "environment PGHOST", "config file f:3").
  std::string origin(const std::string &keyword) const;
  // The conninfo string handed to libpq (contains the password: never print it).
  std::string conninfo() const;
  // "host=... port=... dbname=... user=..." without the password, for messages and logs.
  std::string describe() const;

  void set(const std::string &keyword, const std::string &value, const std::string &origin);

 private:
  std::map<std::string, std::string> params_;
  std::map<std::string, std::string> origins_;
};

// Parses a URI or key=value conninfo with libpq (PQconninfoParse) into its explicitly given
// keywords. Throws UsageError (redacted) naming `origin` when it is malformed.
std::map<std::string, std::string> parse_conninfo(const std::string &dsn, const std::string &origin);

// Merges layers given highest precedence first.
ConnectionSettings resolve_connection(const std::vector<ConnectionLayer> &layers_high_to_low);

// The environment layer: DATABASE_URL and every PG* variable libpq defines.
// `getenv` is injectable for tests.
ConnectionLayer environment_layer(const std::function<const char *(const char *)> &getenv_fn);

// The config-file layer: database_url plus top-level libpq keywords.
ConnectionLayer config_file_layer(const ConfigFile &file);

}  // namespace rgsync
