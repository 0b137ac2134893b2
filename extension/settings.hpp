// Declares the extension's GUCs (all in one place, as pg_cron does) and accessors for them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace rg {

void define_settings();

// registry_guard.actor: free-text name of the program acting (e.g. "registry-sync apply").
std::optional<std::string> actor_setting();
// registry_guard.sync_run_id: id of the sync_runs row registry-sync is writing under.
std::optional<int64_t> sync_run_id_setting();

}  // namespace rg
