// Error types every command shares, and their mapping to exit codes and printable messages.
//
// Commands throw; main() catches, prints describe_error(e) (always redacted) and exits with
// exit_code_for(e). So a command never has to format database or usage failures itself.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace pqxx {
class sql_error;
}

namespace rgsync {

// Exit codes scripts can rely on.
enum ExitCode : int {
  kOk = 0,
  kFailure = 1,        // the operation ran and found a problem (validation errors, refused run)
  kUsage = 2,          // bad command line or config
  kDatabase = 3,       // database unreachable, authentication or privilege failure
};

// Bad command line, bad config file or bad option value (exit kUsage).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Database unreachable, authentication failure, missing privileges (exit kDatabase).
class DatabaseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The operation ran and refused or found a problem (exit kFailure), e.g. an edited migration.
class OperationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Exit code for an exception escaping a command: UsageError -> kUsage; DatabaseError,
// pqxx::broken_connection and privilege errors (SQLSTATE 42501, 28xxx) -> kDatabase;
// anything else -> kFailure.
int exit_code_for(const std::exception &e);

// The SQLSTATE of a libpqxx error. libpqxx 6.4 leaves sqlstate() empty for some of its
// typed exceptions (e.g. insufficient_privilege); this recovers the code from the type.
std::string sqlstate_of(const pqxx::sql_error &e);

// One-line (or few-line) message for an exception, with every secret redacted. For SQL
// errors it adds the SQLSTATE and, for privilege errors, what to do.
std::string describe_error(const std::exception &e);

}  // namespace rgsync
