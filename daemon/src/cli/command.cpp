// The dispatcher over the command table (see command.hpp).
#include "cli/command.hpp"

#include <algorithm>

namespace rgsync {

void print_usage(const std::vector<Command> &table, std::ostream &out) {
  out << "usage: registry-sync <command> [options]\n\ncommands:\n";
  for (const auto &cmd : table)
    out << "  " << cmd.name << std::string(12 - std::min<size_t>(cmd.name.size(), 11), ' ') << cmd.summary << "\n";
  out << "\nRun 'registry-sync <command> --help' for a command's options and an example.\n";
}

int dispatch(const std::vector<Command> &table, const std::vector<std::string> &args, std::ostream &out,
             std::ostream &err) {
  if (args.empty()) { print_usage(table, err); return kUsage; }
  const std::string &name = args[0];
  if (name == "--help" || name == "-h" || name == "help") { print_usage(table, out); return kOk; }
  auto it = std::find_if(table.begin(), table.end(), [&](const Command &c) { return c.name == name; });
  if (it == table.end()) {
    err << "registry-sync: unknown command '" << name << "'\n\n";
    print_usage(table, err);
    return kUsage;
  }
  try {
    return it->run(std::vector<std::string>(args.begin() + 1, args.end()));
  } catch (const std::exception &e) {
    // Messages are redacted: a libpq/libpqxx error may echo connection details.
    err << "registry-sync " << name << ": error: " << describe_error(e) << "\n";
    return exit_code_for(e);
  }
}

}  // namespace rgsync
