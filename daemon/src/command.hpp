// Subcommand registry: each command file registers a name, a one-line summary and a runner.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace rgsync {

// A runner gets the arguments after the subcommand name and returns the process exit code.
using CommandFn = std::function<int(const std::vector<std::string> &args)>;

struct Command {
  std::string summary;
  CommandFn run;
};

std::map<std::string, Command> &commands();

struct RegisterCommand {
  RegisterCommand(const std::string &name, std::string summary, CommandFn run);
};

// Exit codes scripts can rely on.
enum ExitCode : int {
  kOk = 0,
  kFailure = 1,        // the operation ran and found a problem (validation errors, refused run)
  kUsage = 2,          // bad command line or config
  kDatabase = 3,       // database unreachable, authentication or privilege failure
};

}  // namespace rgsync
