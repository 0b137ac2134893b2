// String-named advisory locks (see advisory_lock.hpp).
#include "db/advisory_lock.hpp"

#include <pqxx/nontransaction>
#include <spdlog/spdlog.h>

#include <cstring>

#include "common/sha256.hpp"

namespace rgsync {

int64_t advisory_lock_key(const std::string &name) {
  std::string hex = sha256_hex(name).substr(0, 16);
  uint64_t u = std::stoull(hex, nullptr, 16);
  int64_t key;
  std::memcpy(&key, &u, sizeof key);
  return key;
}

SessionAdvisoryLock::SessionAdvisoryLock(pqxx::connection_base &conn, const std::string &name, Mode mode)
    : conn_(conn), name_(name), key_(advisory_lock_key(name)) {
  {
    pqxx::nontransaction tx(conn_);
    held_ = tx.exec1("SELECT pg_try_advisory_lock(" + std::to_string(key_) + ")")[0].as<bool>();
  }
  if (held_ || mode == Mode::kTry) return;
  spdlog::info("waiting for another session holding the '{}' lock", name_);
  pqxx::nontransaction tx(conn_);
  tx.exec("SELECT pg_advisory_lock(" + std::to_string(key_) + ")");
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

void advisory_xact_lock(pqxx::transaction_base &tx, const std::string &name) {
  tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(advisory_lock_key(name)) + ")");
}

bool try_advisory_xact_lock(pqxx::transaction_base &tx, const std::string &name) {
  return tx.exec1("SELECT pg_try_advisory_xact_lock(" + std::to_string(advisory_lock_key(name)) + ")")[0].as<bool>();
}

}  // namespace rgsync
