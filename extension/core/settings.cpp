// The extension's GUCs: registry_guard.actor and registry_guard.sync_run_id (set with SET LOCAL),
// and the request/tenant settings read by the RLS claim helpers.
#include "core/settings.hpp"

#include <cerrno>
#include <cstdlib>

#include "core/pg_guard.hpp"

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

// Claim sources. Defined (not merely read as placeholders) so that assign hooks see every change.
char *jwt_claims_value = nullptr;
char *jwt_claim_sub_value = nullptr;
char *jwt_claim_role_value = nullptr;
char *jwt_claim_email_value = nullptr;
char *app_client_id_value = nullptr;
char *api_roles_value = nullptr;
char *default_client_id_value = nullptr;

void claim_setting_assigned(const char *, void *) { ++rg::claim_settings_generation; }

bool check_api_roles(char **newval, void **, GucSource) {
  if (*newval == nullptr) return true;
  char *copy = pstrdup(*newval);
  List *names = NIL;
  bool ok = SplitIdentifierString(copy, ',', &names);
  list_free(names);
  pfree(copy);
  if (!ok) GUC_check_errdetail("registry_guard.api_roles must be a comma-separated list of role names.");
  return ok;
}

const char *nonempty(const char *v) { return v != nullptr && *v != '\0' ? v : nullptr; }

void define_claim_source(const char *name, const char *desc, char **var) {
  DefineCustomStringVariable(name, desc,
                             "Read by registry_guard's guard.* claim helpers; set per request (set_config(..., true)).",
                             var, "", PGC_USERSET, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE, nullptr,
                             claim_setting_assigned, nullptr);
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
  define_claim_source("request.jwt.claims", "JWT claims of the current request (JSON), set by PostgREST.",
                      &jwt_claims_value);
  define_claim_source("request.jwt.claim.sub", "JWT sub claim (legacy PostgREST setting).", &jwt_claim_sub_value);
  define_claim_source("request.jwt.claim.role", "JWT role claim (legacy PostgREST setting).", &jwt_claim_role_value);
  define_claim_source("request.jwt.claim.email", "JWT email claim (legacy PostgREST setting).",
                      &jwt_claim_email_value);
  define_claim_source("app.client_id", "Tenant selected by a trusted backend role (ignored for API roles).",
                      &app_client_id_value);
  DefineCustomStringVariable("registry_guard.api_roles",
                             "Roles whose tenant comes only from the signed JWT claim app_metadata.client_id.",
                             "app.client_id is ignored while the current role is a member of one of these "
                             "(any role can SET app.*).",
                             &api_roles_value, "anon,authenticated", PGC_SUSET, GUC_LIST_INPUT, check_api_roles,
                             claim_setting_assigned, nullptr);
  DefineCustomStringVariable("registry_guard.default_client_id",
                             "Tenant that guard.client_id() returns when the request names none (empty: none, fail closed).",
                             "For single-tenant installs whose tokens carry no client_id; set per database by a superuser.",
                             &default_client_id_value, "", PGC_SUSET, 0, nullptr, claim_setting_assigned, nullptr);
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

uint64_t claim_settings_generation = 1;
const char *jwt_claims_setting() { return nonempty(jwt_claims_value); }
const char *jwt_claim_sub_setting() { return nonempty(jwt_claim_sub_value); }
const char *jwt_claim_role_setting() { return nonempty(jwt_claim_role_value); }
const char *jwt_claim_email_setting() { return nonempty(jwt_claim_email_value); }
const char *app_client_id_setting() { return nonempty(app_client_id_value); }
const char *api_roles_setting() { return api_roles_value != nullptr ? api_roles_value : ""; }
const char *default_client_id_setting() { return nonempty(default_client_id_value); }

}  // namespace rg
