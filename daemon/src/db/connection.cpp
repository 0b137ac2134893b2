// Connection opening and failure classification (see database.hpp).
#include "db/connection.hpp"

#include <pqxx/except>
#include <pqxx/nontransaction>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/redact.hpp"

namespace rgsync {

namespace {
bool contains(const std::string &haystack, const char *needle) { return haystack.find(needle) != std::string::npos; }

std::string first_lines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (auto &c : s)
    if (c == '\n') c = ' ';
  return s;
}
}  // namespace

std::string explain_connection_failure(const ConnectionSettings &settings, const std::string &libpq_message) {
  const std::string msg = first_lines(libpq_message);
  const std::string target = settings.describe();
  std::string what, todo;
  if (contains(msg, "password authentication failed") || contains(msg, "SASL authentication") ||
      contains(msg, "no password supplied") || contains(msg, "fe_sendauth") ||
      contains(msg, "authentication failed")) {
    what = "authentication failed";
    todo = "check the password (password " + settings.origin("password") +
           "; set it with --password-file, PGPASSWORD, ~/.pgpass or the config file's database_url)";
  } else if (contains(msg, "database \"") && contains(msg, "does not exist")) {
    what = "the database does not exist";
    todo = "create it or fix dbname (" + settings.origin("dbname") + ")";
  } else if (contains(msg, "role \"") && contains(msg, "does not exist")) {
    what = "the role does not exist";
    todo = "create it or fix user (" + settings.origin("user") + ")";
  } else if (contains(msg, "permission denied for database") || contains(msg, "CONNECT privilege")) {
    what = "the role may not connect to this database";
    todo = "GRANT CONNECT ON DATABASE to the role, or connect as another user";
  } else if (contains(msg, "no pg_hba.conf entry")) {
    what = "the server does not accept this client";
    todo = "add a pg_hba.conf entry for this host/user/database, or connect differently";
  } else if (contains(msg, "Connection refused") || contains(msg, "No such file or directory") ||
             contains(msg, "could not connect") || contains(msg, "timeout expired") ||
             contains(msg, "could not translate host name") || contains(msg, "Network is unreachable") ||
             contains(msg, "the database system is") || contains(msg, "server closed the connection")) {
    what = "the database server is not reachable";
    todo = "is it running? check host (" + settings.origin("host") + ") and port (" + settings.origin("port") + ")";
  } else {
    what = "cannot connect";
    todo = "check the connection settings (--database-url, DATABASE_URL / PG* variables, config file)";
  }
  return redact("database " + target + ": " + what + ": " + msg + "; " + todo);
}

namespace {
SessionTimeouts g_timeouts;
std::string ms(double seconds) { return std::to_string(static_cast<long long>(seconds * 1000)); }
}  // namespace

void set_session_timeouts(const SessionTimeouts &t) { g_timeouts = t; }
const SessionTimeouts &session_timeouts() { return g_timeouts; }

ConnectionSettings with_keepalives(const ConnectionSettings &settings, const SessionTimeouts &t) {
  ConnectionSettings s = settings;
  const char *origin = "registry-sync default";
  if (!s.get("keepalives")) s.set("keepalives", "1", origin);
  if (!s.get("keepalives_idle")) s.set("keepalives_idle", std::to_string(t.keepalives_idle_s), origin);
  if (!s.get("keepalives_interval")) s.set("keepalives_interval", std::to_string(t.keepalives_interval_s), origin);
  if (!s.get("keepalives_count")) s.set("keepalives_count", std::to_string(t.keepalives_count), origin);
  return s;
}

std::unique_ptr<pqxx::connection> connect(const ConnectionSettings &settings, const std::string &application_name) {
  ConnectionSettings s = with_keepalives(settings, g_timeouts);
  if (!s.get("application_name")) s.set("application_name", application_name, "registry-sync");
  spdlog::debug("connecting to {}", s.describe());
  try {
    auto conn = std::make_unique<pqxx::connection>(s.conninfo());
    pqxx::nontransaction tx(*conn);
    tx.exec_params("SELECT set_config('statement_timeout', $1, false), set_config('lock_timeout', $2, false), "
                   "set_config('idle_in_transaction_session_timeout', $3, false)",
                   ms(g_timeouts.statement_s), ms(g_timeouts.lock_s), ms(g_timeouts.idle_in_transaction_s));
    tx.commit();
    return conn;
  } catch (const pqxx::broken_connection &e) {
    throw DatabaseError(explain_connection_failure(s, e.what()));
  } catch (const pqxx::failure &e) {
    // Anything else libpqxx throws while connecting (e.g. malformed options) is also a
    // connection problem, reported the same way.
    throw DatabaseError(explain_connection_failure(s, e.what()));
  }
}

void select_tenant(pqxx::transaction_base &tx, const std::string &tenant) {
  tx.exec_params("SELECT pg_catalog.set_config('app.client_id', $1, true)", tenant);
}

}  // namespace rgsync
