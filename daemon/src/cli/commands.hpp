// The runners of every registry-sync subcommand, one file each in cli/; main.cpp lists them
// in its command table. Each parses its options, calls the part that does the work and maps
// errors to exit codes (ExitCode).
#pragma once

#include <string>
#include <vector>

#include "cli/command.hpp"

namespace rgsync {

int run_migrate(const std::vector<std::string> &args);   // cli/migrate_commands.cpp
int run_status(const std::vector<std::string> &args);    // cli/migrate_commands.cpp
int run_repair(const std::vector<std::string> &args);    // cli/migrate_commands.cpp
int run_validate(const std::vector<std::string> &args);  // cli/validate_command.cpp
int run_apply(const std::vector<std::string> &args);     // cli/apply_command.cpp
int run_export(const std::vector<std::string> &args);    // cli/export_command.cpp
int run_hr(const std::vector<std::string> &args);        // cli/hr_command.cpp
int run_serve(const std::vector<std::string> &args);     // cli/serve_command.cpp
int run_manifest(const std::vector<std::string> &args);  // cli/manifest_command.cpp
int run_verify_restore(const std::vector<std::string> &args);  // cli/verify_restore_command.cpp

}  // namespace rgsync
