// Maps exceptions to exit codes and redacted, actionable messages.
#include "common/errors.hpp"

#include <pqxx/except>

#include "common/redact.hpp"

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

std::string sqlstate_of(const pqxx::sql_error &e) {
  if (!e.sqlstate().empty()) return e.sqlstate();
  if (dynamic_cast<const pqxx::insufficient_privilege *>(&e)) return "42501";
  if (dynamic_cast<const pqxx::undefined_table *>(&e)) return "42P01";
  if (dynamic_cast<const pqxx::undefined_column *>(&e)) return "42703";
  if (dynamic_cast<const pqxx::undefined_function *>(&e)) return "42883";
  if (dynamic_cast<const pqxx::unique_violation *>(&e)) return "23505";
  if (dynamic_cast<const pqxx::foreign_key_violation *>(&e)) return "23503";
  if (dynamic_cast<const pqxx::not_null_violation *>(&e)) return "23502";
  if (dynamic_cast<const pqxx::check_violation *>(&e)) return "23514";
  return "";
}

int exit_code_for(const std::exception &e) {
  if (dynamic_cast<const UsageError *>(&e)) return kUsage;
  if (dynamic_cast<const DatabaseError *>(&e)) return kDatabase;
  if (dynamic_cast<const pqxx::broken_connection *>(&e)) return kDatabase;
  if (auto *sql = dynamic_cast<const pqxx::sql_error *>(&e)) {
    if (is_database_sqlstate(sqlstate_of(*sql))) return kDatabase;
  }
  return kFailure;
}

std::string describe_error(const std::exception &e) {
  std::string msg = trim(e.what());
  if (auto *sql = dynamic_cast<const pqxx::sql_error *>(&e)) {
    const std::string state = sqlstate_of(*sql);
    if (!state.empty()) msg += " (SQLSTATE " + state + ")";
    if (state == "42501")
      msg += "; the connecting role lacks a privilege: connect as the schema owner or grant it";
  } else if (dynamic_cast<const pqxx::broken_connection *>(&e)) {
    msg = "lost the database connection: " + msg;
  }
  return redact(msg);
}

}  // namespace rgsync
