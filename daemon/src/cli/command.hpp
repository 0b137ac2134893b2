// What a subcommand is (name, one-line summary, runner) and the dispatcher main() uses over
// its command table.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "common/errors.hpp"

namespace rgsync {

// A runner gets the arguments after the subcommand name and returns the process exit code.
using CommandFn = std::function<int(const std::vector<std::string> &args)>;

struct Command {
  std::string name;
  std::string summary;
  CommandFn run;
};

// The release, as `registry-sync --version` prints it.
const char *version();

// The usage text listing every command of `table` with its summary.
void print_usage(const std::vector<Command> &table, std::ostream &out);

// A bash completion script for `table` (`registry-sync completion bash`): command names, and
// each command's options as its --help lists them.
void print_bash_completion(const std::vector<Command> &table, std::ostream &out);

// Runs the command named by args[0] with the rest of `args`: usage (kUsage) when the name is
// missing or unknown, the list on --help, the release on --version / -V, a completion script on
// `completion bash`; an exception escaping the command is printed
// (redacted) to `err` and mapped to its exit code.
int dispatch(const std::vector<Command> &table, const std::vector<std::string> &args, std::ostream &out,
             std::ostream &err);

}  // namespace rgsync
