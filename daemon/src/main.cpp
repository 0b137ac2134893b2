// registry-sync entry point: dispatches to the registered subcommands.
#include <iostream>
#include <string>
#include <vector>

#include "command.hpp"
#include "errors.hpp"

static void usage(std::ostream &out) {
  out << "usage: registry-sync <command> [options]\n\ncommands:\n";
  for (const auto &[name, cmd] : rgsync::commands()) out << "  " << name << std::string(12 - std::min<size_t>(name.size(), 11), ' ') << cmd.summary << "\n";
  out << "\nRun 'registry-sync <command> --help' for a command's options and an example.\n";
}

int main(int argc, char **argv) {
  if (argc < 2) { usage(std::cerr); return rgsync::kUsage; }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") { usage(std::cout); return rgsync::kOk; }
  auto it = rgsync::commands().find(name);
  if (it == rgsync::commands().end()) {
    std::cerr << "registry-sync: unknown command '" << name << "'\n\n";
    usage(std::cerr);
    return rgsync::kUsage;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    return it->second.run(args);
  } catch (const std::exception &e) {
    // Messages are redacted: a libpq/libpqxx error may echo connection details.
    std::cerr << "registry-sync " << name << ": error: " << rgsync::describe_error(e) << "\n";
    return rgsync::exit_code_for(e);
  }
}
