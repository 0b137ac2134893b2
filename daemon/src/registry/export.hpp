// Database -> canonical YAML in the registry's own layout (the fallback snapshot).
#pragma once

#include <ostream>
#include <pqxx/connection>
#include <string>

#include "registry/mapping.hpp"

namespace rgsync {

struct ExportResult {
  size_t files = 0, rows = 0, documents = 0;
};

// Writes one file per mapped file under `out_dir` (ids, not display names; derived columns
// such as slugs and sorted keys are left to be derived again). Throws OperationError when the
// mapping cannot express a row (e.g. an id that is not the slug of its name).
ExportResult export_registry(pqxx::connection &conn, const Mapping &m, const std::string &out_dir, const std::string &tenant,
                             std::ostream &log);

}  // namespace rgsync
