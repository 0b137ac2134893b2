// One registry apply run, shared by `registry-sync apply` and serve (see apply_run.hpp).
#include "registry/apply.hpp"

#include <fstream>
#include <sstream>

#include "db/advisory_lock.hpp"
#include "common/errors.hpp"
#include "common/sha256.hpp"

namespace rgsync {

Mapping load_apply_mapping(const RegistryOptions &o, ApplyOptions &ao) {
  Mapping m = load_registry_mapping(o);
  ao.mapping_sha256 = m.sha256;
  return m;
}

std::optional<ApplyResult> run_registry_apply(pqxx::connection &conn, const Mapping &m, const RegistryOptions &o,
                                              const ApplyOptions &ao, std::ostream &findings) {
  check_schema(conn, m);
  SessionAdvisoryLock lock(conn, "registry-sync apply");
  if (!ao.force_full_diff) {
    // Unchanged files on an unchanged database: no need to parse them at all.
    if (auto id = try_unchanged_shortcut(conn, m, hash_registry_files(m, o.registry_dir, o.max_file_bytes), ao)) {
      ApplyResult r;
      r.sync_run_id = *id;
      r.shortcut = true;
      return r;
    }
  }
  // Everything is validated before the first write.
  Registry reg;
  Findings f;
  if (!read_registry(o, m, reg, f, findings, ao.progress)) return std::nullopt;
  return apply_registry(conn, m, reg, ao);
}

}  // namespace rgsync
