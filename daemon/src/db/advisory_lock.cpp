// String-named advisory locks (see advisory_lock.hpp).
#include "db/advisory_lock.hpp"

#include <pqxx/nontransaction>
#include <pqxx/subtransaction>
#include <pqxx/except>
#include <spdlog/spdlog.h>

#include <cstring>

#include "db/connection.hpp"

#include "common/sha256.hpp"

namespace rgsync {

int64_t advisory_lock_key(const std::string &name) {
  std::string hex = sha256_hex(name).substr(0, 16);
  uint64_t u = std::stoull(hex, nullptr, 16);
  int64_t key;
  std::memcpy(&key, &u, sizeof key);
  return key;
}

namespace {

std::string ms(double seconds) { return std::to_string(static_cast<long long>(seconds * 1000)); }

bool is_lock_timeout(const pqxx::sql_error &e) { return e.sqlstate() == "55P03"; }

[[noreturn]] void throw_timeout(const std::string &name, const std::string &holder) {
  throw AdvisoryLockTimeout("another session holds the '" + name + "' lock: " + holder + "; waited " +
                            std::to_string(static_cast<long>(session_timeouts().advisory_lock_wait_s)) +
                            "s (database.advisory_lock_wait_seconds); run again when it has finished, or end that session");
}

}  // namespace

SessionAdvisoryLock::SessionAdvisoryLock(pqxx::connection_base &conn, const std::string &name, Mode mode)
    : conn_(conn), name_(name), key_(advisory_lock_key(name)) {
  {
    pqxx::nontransaction tx(conn_);
    held_ = tx.exec1("SELECT pg_try_advisory_lock(" + std::to_string(key_) + ")")[0].as<bool>();
  }
  if (held_ || mode == Mode::kTry) return;
  {
    pqxx::nontransaction tx(conn_);
    spdlog::info("waiting for the '{}' lock, held by {}", name_, advisory_lock_holder(tx, name_));
  }
  // A real wait (queued in pg_locks, first come first served), bounded by lock_timeout set to
  // the advisory wait for this one statement.
  const double wait_s = session_timeouts().advisory_lock_wait_s;
  pqxx::nontransaction tx(conn_);
  std::string before = tx.exec1("SELECT current_setting('lock_timeout')")[0].c_str();
  try {
    tx.exec("SELECT set_config('lock_timeout', " + tx.quote(ms(wait_s)) + ", false), pg_advisory_lock(" + std::to_string(key_) + ")");
  } catch (const pqxx::sql_error &e) {
    if (!is_lock_timeout(e)) throw;
    tx.exec("SELECT set_config('lock_timeout', " + tx.quote(before) + ", false)");
    throw_timeout(name_, advisory_lock_holder(tx, name_));
  }
  tx.exec("SELECT set_config('lock_timeout', " + tx.quote(before) + ", false)");
  held_ = true;
}

SessionAdvisoryLock::~SessionAdvisoryLock() {
  try {
    release();
  } catch (const std::exception &e) {
    // A broken connection has dropped the lock already; nothing else can fail here.
    spdlog::debug("releasing the '{}' lock: {}", name_, e.what());
  }
}

void SessionAdvisoryLock::release() {
  if (!held_) return;
  held_ = false;
  if (!conn_.is_open()) return;
  pqxx::nontransaction tx(conn_);
  tx.exec("SELECT pg_advisory_unlock(" + std::to_string(key_) + ")");
}

std::string advisory_lock_holder(pqxx::transaction_base &tx, const std::string &name) {
  const int64_t key = advisory_lock_key(name);
  const uint64_t u = static_cast<uint64_t>(key);
  // A bigint advisory key shows in pg_locks as classid (high 32 bits), objid (low), objsubid 1.
  auto r = tx.exec_params(
      "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''), coalesce(host(a.client_addr), 'local'), "
      "       to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
      "       coalesce(to_char(a.xact_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), "
      "       coalesce(a.state, ''), floor(extract(epoch FROM now() - coalesce(a.xact_start, a.backend_start)))::bigint "
      "FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
      "WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) "
      "  AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 1 AND l.pid <> pg_backend_pid() LIMIT 1",
      static_cast<long long>(u >> 32), static_cast<long long>(u & 0xffffffffu));
  if (r.empty()) return "no session holds it now";
  const auto &row = r[0];
  std::string s = "pid " + std::string(row[0].c_str()) + ", application_name '" + row[1].c_str() + "', user " + row[2].c_str() +
                  " from " + row[3].c_str() + ", connected since " + row[4].c_str();
  if (row[5].c_str()[0]) s += ", in a transaction since " + std::string(row[5].c_str());
  s += " (" + std::string(row[6].c_str()) + ", " + row[7].c_str() + "s)";
  return s;
}

void advisory_xact_lock(pqxx::transaction_base &tx, const std::string &name) {
  const std::string key = std::to_string(advisory_lock_key(name));
  if (tx.exec1("SELECT pg_try_advisory_xact_lock(" + key + ")")[0].as<bool>()) return;
  spdlog::info("waiting for the '{}' lock, held by {}", name, advisory_lock_holder(tx, name));
  // Wait in a subtransaction with lock_timeout = the advisory wait: a timeout rolls back only
  // the subtransaction, so the caller's transaction can still ask who holds the lock.
  const double wait_s = session_timeouts().advisory_lock_wait_s;
  std::string before = tx.exec1("SELECT current_setting('lock_timeout')")[0].c_str();
  bool timed_out = false;
  try {
    pqxx::subtransaction sub(dynamic_cast<pqxx::dbtransaction &>(tx), "advisory_lock_wait");
    sub.exec("SELECT set_config('lock_timeout', " + sub.quote(ms(wait_s)) + ", true), pg_advisory_xact_lock(" + key + ")");
    sub.commit();
  } catch (const pqxx::sql_error &e) {
    if (!is_lock_timeout(e)) throw;
    timed_out = true;
  }
  tx.exec("SELECT set_config('lock_timeout', " + tx.quote(before) + ", true)");
  if (timed_out) throw_timeout(name, advisory_lock_holder(tx, name));
}

bool try_advisory_xact_lock(pqxx::transaction_base &tx, const std::string &name) {
  return tx.exec1("SELECT pg_try_advisory_xact_lock(" + std::to_string(advisory_lock_key(name)) + ")")[0].as<bool>();
}

}  // namespace rgsync
