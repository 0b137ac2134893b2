// Logging for registry-sync: spdlog to stderr (stdout stays for command output), every
// message passed through redact() so a password can never reach a log line.
//
//   rgsync::setup_logging("info");           // resolve_settings() does this for commands
//   spdlog::info("applied {} migrations", n);
#pragma once

#include <string>

namespace rgsync {

// Installs the default logger (stderr, "2026-01-31 12:00:00.123 [info] message"). Throws
// UsageError on an unknown level. Safe to call more than once (the last call wins).
void setup_logging(const std::string &level);

}  // namespace rgsync
