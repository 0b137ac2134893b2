// PostgreSQL advisory locks named by strings, so concurrent registry-sync runs serialise.
//
// Session lock (spans several transactions, e.g. migrate's one-transaction-per-file):
//   rgsync::SessionAdvisoryLock lock(*conn, "registry-sync migrate");   // waits, logs once
//   ... transactions ...                                               // unlocked on scope exit
// Transaction lock (released at commit/rollback, e.g. apply's single transaction):
//   pqxx::work tx(*conn);
//   rgsync::advisory_xact_lock(tx, "registry-sync apply");
//
// The key is the first 8 bytes of SHA-256(name), the same from every process and version.
#pragma once

#include <pqxx/connection_base>
#include <pqxx/transaction_base>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace rgsync {

int64_t advisory_lock_key(const std::string &name);

class SessionAdvisoryLock {
 public:
  enum class Mode { kWait, kTry };
  // kWait: blocks until held (logs at info level when another session holds it), at most
  // database.advisory_lock_wait_seconds, then throws AdvisoryLockTimeout.
  // kTry: returns at once; held() says whether it was obtained.
  // Needs no open transaction on `conn` (it runs its own statements).
  SessionAdvisoryLock(pqxx::connection_base &conn, const std::string &name, Mode mode = Mode::kWait);
  ~SessionAdvisoryLock();
  SessionAdvisoryLock(const SessionAdvisoryLock &) = delete;
  SessionAdvisoryLock &operator=(const SessionAdvisoryLock &) = delete;

  bool held() const { return held_; }
  // Unlocks now (instead of at destruction).
  void release();

 private:
  pqxx::connection_base &conn_;
  std::string name_;
  int64_t key_;
  bool held_ = false;
};

// Who holds the advisory lock `name`: "pid N, application_name '...', user ..., connected
// since ..., in a transaction since ..." from pg_locks and pg_stat_activity, or "no session"
// when it is free (or not visible to this role).
std::string advisory_lock_holder(pqxx::transaction_base &tx, const std::string &name);

// Thrown when registry-sync's own run lock stays taken longer than
// database.advisory_lock_wait_seconds; the message names the holding session.
class AdvisoryLockTimeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// pg_advisory_xact_lock: waits at most database.advisory_lock_wait_seconds (then throws
// AdvisoryLockTimeout naming the holder; `tx` stays usable); released when `tx` ends. `tx`
// must be a pqxx::dbtransaction (work, read_transaction, ...): the wait runs in a savepoint.
void advisory_xact_lock(pqxx::transaction_base &tx, const std::string &name);
// pg_try_advisory_xact_lock: true when obtained.
bool try_advisory_xact_lock(pqxx::transaction_base &tx, const std::string &name);

}  // namespace rgsync
