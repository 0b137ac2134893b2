// Options naming the registry to read (see registry_options.hpp).
#include "cli/registry_options.hpp"

#include <sys/stat.h>

#include <cstdlib>

#include "common/errors.hpp"

namespace rgsync {

namespace po = boost::program_options;

void add_registry_options(po::options_description &opts, bool need_registry, bool dangling) {
  if (need_registry)
    opts.add_options()("registry", po::value<std::string>()->value_name("DIR"), "registry directory holding the YAML files (required)");
  opts.add_options()
      ("mapping", po::value<std::string>()->value_name("FILE"),
       "YAML -> row mapping (default: $RGSYNC_MAPPING, else the installed config/registry-mapping.yaml)")
      ("max-file-size", po::value<std::string>()->value_name("BYTES")->default_value("268435456"),
       "refuse YAML files larger than this (suffixes K, M, G allowed)");
  if (dangling)
    opts.add_options()("on-dangling", po::value<std::string>()->value_name("POLICY")->default_value("fail"),
                       "references to entries that do not exist: fail (report all, change nothing) | drop (remove them, "
                       "with a warning each) | keep (only where no foreign key is enforced)");
}

RegistryOptions registry_options(const po::variables_map &vm) {
  RegistryOptions o;
  if (vm.count("registry")) {
    o.registry_dir = vm["registry"].as<std::string>();
    struct stat st {};
    if (stat(o.registry_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      throw UsageError("--registry " + o.registry_dir + " is not a directory");
  }
  o.mapping_path = vm.count("mapping") ? vm["mapping"].as<std::string>() : default_mapping_path();
  if (vm.count("max-file-size")) {
    std::string s = vm["max-file-size"].as<std::string>();
    char *end = nullptr;
    unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    std::string suffix = end ? end : "";
    if (end == s.c_str()) throw UsageError("--max-file-size " + s + " is not a number of bytes");
    if (suffix == "K" || suffix == "k") v <<= 10;
    else if (suffix == "M") v <<= 20;
    else if (suffix == "G") v <<= 30;
    else if (!suffix.empty()) throw UsageError("--max-file-size " + s + ": unknown suffix (use K, M or G)");
    o.max_file_bytes = v;
  }
  if (vm.count("on-dangling")) {
    auto p = parse_on_dangling(vm["on-dangling"].as<std::string>());
    if (!p) throw UsageError("--on-dangling must be fail, drop or keep (got '" + vm["on-dangling"].as<std::string>() + "')");
    o.on_dangling = *p;
  }
  return o;
}

}  // namespace rgsync
