// The extension's GUCs: registry_guard.actor and registry_guard.sync_run_id (set with SET LOCAL).
#include "settings.hpp"

#include <cerrno>
#include <cstdlib>

#include "pg_guard.hpp"

namespace {
char *actor_value = nullptr;
char *sync_run_id_value = nullptr;

bool check_sync_run_id(char **newval, void **, GucSource) {
  if (*newval == nullptr || **newval == '\0') return true;
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(*newval, &end, 10);
  if (errno != 0 || *end != '\0' || v <= 0) {
    GUC_check_errdetail("registry_guard.sync_run_id must be a positive bigint (the sync_runs id), got \"%s\".", *newval);
    return false;
  }
  return true;
}
}  // namespace

namespace rg {

void define_settings() {
  DefineCustomStringVariable("registry_guard.actor",
                             "Name of the program or person making the current changes, stored in audit rows.",
                             "Set with SET LOCAL by registry-sync (e.g. 'registry-sync apply').", &actor_value, "",
                             PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("registry_guard.sync_run_id",
                             "Id of the sync run (sync_runs row) the current changes belong to, stored in audit rows.",
                             "Set with SET LOCAL by registry-sync; empty when changes are not made by a sync run.",
                             &sync_run_id_value, "", PGC_USERSET, 0, check_sync_run_id, nullptr, nullptr);
  MarkGUCPrefixReserved("registry_guard");
}

std::optional<std::string> actor_setting() {
  if (actor_value == nullptr || *actor_value == '\0') return std::nullopt;
  return std::string(actor_value);
}

std::optional<int64_t> sync_run_id_setting() {
  if (sync_run_id_value == nullptr || *sync_run_id_value == '\0') return std::nullopt;
  return std::strtoll(sync_run_id_value, nullptr, 10);
}

}  // namespace rg
