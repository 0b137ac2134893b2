// Storage for the subcommand registry.
#include "command.hpp"

namespace rgsync {

std::map<std::string, Command> &commands() {
  static std::map<std::string, Command> registry;
  return registry;
}

RegisterCommand::RegisterCommand(const std::string &name, std::string summary, CommandFn run) {
  commands()[name] = Command{std::move(summary), std::move(run)};
}

}  // namespace rgsync
