// Maps exceptions to exit codes and redacted, actionable messages.
#include "errors.hpp"

#include <pqxx/except>

#include "command.hpp"
#include "redact.hpp"

namespace rgsync {

namespace {
bool is_database_sqlstate(const std::string &state) {
  // 42501 insufficient_privilege, class 28 invalid authorization, class 08 connection exception,
  // 57P01..03 admin shutdown / crash shutdown / cannot connect now.
  return state == "42501" || state.rfind("28", 0) == 0 || state.rfind("08", 0) == 0 ||
         state.rfind("57P", 0) == 0;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace

int exit_code_for(const std::exception &e) {
  if (dynamic_cast<const UsageError *>(&e)) return kUsage;
  if (dynamic_cast<const DatabaseError *>(&e)) return kDatabase;
  if (dynamic_cast<const pqxx::broken_connection *>(&e)) return kDatabase;
  if (auto *sql = dynamic_cast<const pqxx::sql_error *>(&e)) {
    if (is_database_sqlstate(sql->sqlstate())) return kDatabase;
  }
  return kFailure;
}

std::string describe_error(const std::exception &e) {
  std::string msg = trim(e.what());
  if (auto *sql = dynamic_cast<const pqxx::sql_error *>(&e)) {
    const std::string &state = sql->sqlstate();
    if (!state.empty()) msg += " (SQLSTATE " + state + ")";
    if (state == "42501")
      msg += "; the connecting role lacks a privilege: connect as the schema owner or grant it";
  } else if (dynamic_cast<const pqxx::broken_connection *>(&e)) {
    msg = "lost the database connection: " + msg;
  }
  return redact(msg);
}

}  // namespace rgsync
