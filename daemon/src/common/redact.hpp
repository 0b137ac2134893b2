// Keeps passwords out of logs, errors and output.
//
// Two layers: pattern redaction of anything that looks like a DSN password (URI user:pass@,
// key=value password=..., PGPASSWORD=..., "password": ...), and replacement of every secret
// registered at runtime (the resolved connection password), which also catches a password
// echoed inside a libpq/libpqxx message in some other shape.
#pragma once

#include <string>
#include <string_view>

namespace rgsync {

// Text that replaces a secret.
inline constexpr const char *kRedacted = "***";

// The DSN with its password replaced by ***; works on URIs (postgresql://u:p@h/db,
// ?password=p, and secret query parameters of any URL: ?access_token=, &sig=, ...) and key=value strings (password=p, password='p q').
std::string redact_dsn(std::string_view dsn);

// Remembers a secret so that redact() removes it from any text. Thread-safe; empty is ignored.
void register_secret(const std::string &secret);

// Forgets every registered secret (unit tests).
void clear_secrets();

// redact_dsn() plus removal of every registered secret. Use on any message that may contain
// user input, SQL text or a library's error text before printing or logging it.
std::string redact(std::string_view text);

}  // namespace rgsync
