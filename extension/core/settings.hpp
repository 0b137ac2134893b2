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

// Settings read by the RLS claim helpers (extension/rls/rls_claims.cpp). The request.* and app.*
// names belong to PostgREST / Supabase and the application; we define them as our own GUCs so
// that every change runs an assign hook, which bumps claim_settings_generation: the helpers
// re-read and re-parse only when it moved, and a per-row call costs two comparisons.
// Each accessor returns the raw value, or nullptr when unset or empty.
extern uint64_t claim_settings_generation;
const char *jwt_claims_setting();       // request.jwt.claims (JSON object)
const char *jwt_claim_sub_setting();    // request.jwt.claim.sub (legacy PostgREST)
const char *jwt_claim_role_setting();   // request.jwt.claim.role (legacy PostgREST)
const char *jwt_claim_email_setting();  // request.jwt.claim.email (legacy PostgREST)
const char *app_client_id_setting();    // app.client_id (honoured for trusted roles only)
// registry_guard.api_roles: roles whose tenant comes only from the signed JWT (superuser-set).
const char *api_roles_setting();
// registry_guard.default_client_id: tenant used when none is given (superuser-set, opt-in).
const char *default_client_id_setting();

}  // namespace rg
