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

// Connects with `settings`; sets application_name (unless configured) to `application_name`
// so the session is recognisable in pg_stat_activity and in the audit trail's actor data.
std::unique_ptr<pqxx::connection> connect(const ConnectionSettings &settings, const std::string &application_name);

// The DatabaseError message connect() would give for a libpq connection failure `libpq_message`
// (exposed for unit tests).
std::string explain_connection_failure(const ConnectionSettings &settings, const std::string &libpq_message);

// Selects the tenant whose rows this transaction reads and writes (app.client_id, which the
// tenant policies honour for trusted roles): registry-sync's own role has no BYPASSRLS, so
// without it every tenant-isolated table looks empty and every write is refused.
void select_tenant(pqxx::transaction_base &tx, const std::string &tenant);

}  // namespace rgsync
