// The read-and-check step shared by validate, apply and export (see read.hpp).
#include "registry/read.hpp"

#include "common/errors.hpp"

namespace rgsync {

std::optional<OnDangling> parse_on_dangling(const std::string &p) {
  if (p == "fail") return OnDangling::Fail;
  if (p == "drop") return OnDangling::Drop;
  if (p == "keep") return OnDangling::Keep;
  return std::nullopt;
}

Mapping load_registry_mapping(const RegistryOptions &o) {
  try {
    return load_mapping(o.mapping_path);
  } catch (const YamlError &e) {
    throw UsageError(std::string("mapping file: ") + e.what());
  }
}

bool read_registry(const RegistryOptions &o, const Mapping &mapping, Registry &reg, Findings &findings, std::ostream &out,
                   std::ostream *progress, std::unordered_map<std::string, PreRead> *preread) {
  LoadOptions lo;
  lo.preread = preread;
  lo.max_file_bytes = o.max_file_bytes;
  lo.progress = progress;
  reg = load_registry(mapping, o.registry_dir, lo, findings);
  // References are only meaningful once every file read cleanly.
  if (findings.errors() == 0) resolve_references(mapping, reg, o.on_dangling, findings);
  return report_registry(o, reg, findings, out);
}

bool report_registry(const RegistryOptions &o, const Registry &reg, const Findings &findings, std::ostream &out) {
  findings.print(out);
  size_t rows = 0;
  for (const auto &t : reg.tables) rows += t.live();
  out << o.registry_dir << ": " << findings.errors() << " error(s), " << findings.warnings() << " warning(s); "
      << reg.files.size() << " file(s), " << rows << " row(s), " << reg.documents.size() << " document(s)\n";
  return findings.errors() == 0;
}

}  // namespace rgsync
