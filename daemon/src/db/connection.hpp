// Opening database connections with errors a user can act on.
//
//   auto conn = rgsync::connect(settings.connection, "registry-sync apply");
//
// On failure it throws DatabaseError (exit kDatabase) saying which of these it is, where the
// setting came from and what to do: server unreachable, authentication failed, database or
// role missing, no CONNECT privilege. The message never contains the password.
#pragma once

#include <pqxx/connection>
#include <pqxx/transaction_base>
#include <memory>
#include <string>

#include "common/connection_settings.hpp"

namespace rgsync {

// Server-side limits every registry-sync session gets (config file section `database:`), so
// a stuck statement, lock or transaction ends with an error instead of stalling a run (and
// serve's scheduler) forever. 0 disables one.
struct SessionTimeouts {
  double statement_s = 1800;            // database.statement_timeout_seconds
  double lock_s = 60;                   // database.lock_timeout_seconds (row and table locks)
  double idle_in_transaction_s = 600;   // database.idle_in_transaction_timeout_seconds
  double advisory_lock_wait_s = 120;    // database.advisory_lock_wait_seconds (registry-sync's own run locks)
  int keepalives_idle_s = 30;           // TCP keepalives (libpq keepalives_*), unless configured
  int keepalives_interval_s = 10;
  int keepalives_count = 3;
};
void set_session_timeouts(const SessionTimeouts &t);
const SessionTimeouts &session_timeouts();

// The settings with TCP keepalive parameters added where the user configured none.
ConnectionSettings with_keepalives(const ConnectionSettings &settings, const SessionTimeouts &t);

// Connects with `settings`; sets application_name (unless configured) to `application_name`
// so the session is recognisable in pg_stat_activity and in the audit trail's actor data.
// The session gets the SessionTimeouts (statement, lock, idle in transaction) and keepalives.
std::unique_ptr<pqxx::connection> connect(const ConnectionSettings &settings, const std::string &application_name);

// The DatabaseError message connect() would give for a libpq connection failure `libpq_message`
// (exposed for unit tests).
std::string explain_connection_failure(const ConnectionSettings &settings, const std::string &libpq_message);

// Selects the tenant whose rows this transaction reads and writes (app.client_id, which the
// tenant policies honour for trusted roles): registry-sync's own role has no BYPASSRLS, so
// without it every tenant-isolated table looks empty and every write is refused.
void select_tenant(pqxx::transaction_base &tx, const std::string &tenant);

}  // namespace rgsync
