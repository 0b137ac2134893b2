// The read-and-check step shared by validate, apply and export, and its options.
#include "sync_options.hpp"

#include <sys/stat.h>

#include "errors.hpp"

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

std::optional<OnDangling> parse_on_dangling(const std::string &p) {
  if (p == "fail") return OnDangling::Fail;
  if (p == "drop") return OnDangling::Drop;
  if (p == "keep") return OnDangling::Keep;
  return std::nullopt;
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

bool read_registry(const RegistryOptions &o, Mapping &mapping, Registry &reg, Findings &findings, std::ostream &out,
                   std::ostream *progress) {
  try {
    mapping = load_mapping(o.mapping_path);
  } catch (const YamlError &e) {
    throw UsageError(std::string("mapping file: ") + e.what());
  }
  LoadOptions lo;
  lo.max_file_bytes = o.max_file_bytes;
  lo.progress = progress;
  reg = load_registry(mapping, o.registry_dir, lo, findings);
  // References are only meaningful once every file read cleanly.
  if (findings.errors() == 0) resolve_references(mapping, reg, o.on_dangling, findings);
  findings.print(out);
  size_t rows = 0;
  for (const auto &t : reg.tables) rows += t.live();
  out << o.registry_dir << ": " << findings.errors() << " error(s), " << findings.warnings() << " warning(s); "
      << reg.files.size() << " file(s), " << rows << " row(s), " << reg.documents.size() << " document(s)\n";
  return findings.errors() == 0;
}

}  // namespace rgsync
