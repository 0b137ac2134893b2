// The current request's identity (JWT claims, tenant) as the RLS helpers and others read it.
#pragma once

#include "core/pg_guard.hpp"

namespace rg {

// Everything the guard.* claim helpers return, resolved once per change of a source setting
// or of the current role, and kept in a backend-lifetime memory context until the next change.
struct RequestClaims {
  Jsonb *claims = nullptr;        // request.jwt.claims, nullptr when unset or empty
  text *sub = nullptr;            // sub claim (legacy request.jwt.claim.sub first), nullptr when absent
  bool has_uid = false;           // sub is a UUID
  pg_uuid_t uid{};
  text *role = nullptr;           // role claim, nullptr when absent
  text *email = nullptr;          // email claim, nullptr when absent
  text *client_id = nullptr;      // tenant, nullptr when none (policies then fail closed)
  const char *client_id_source = nullptr;  // "app.client_id", "jwt", "default" or nullptr
  bool trusted = false;           // current role may select a tenant with app.client_id
};

// The claims of the current request. Cheap when nothing changed (two comparisons).
// Throws PgError when request.jwt.claims is set but is not a JSON object.
const RequestClaims &request_claims();

// C-style (may ereport; call inside rg::pg or from C code): true when none of `roles` is one of
// registry_guard.api_roles or a member of one (superusers are members only when granted). An
// unreadable api_roles list trusts nobody.
bool roles_trusted(const Oid *roles, int n);

// The one UUID parser of the extension (JWT sub -> guard.uid() and the audit trail's auth_uid):
// canonical 8-4-4-4-12 or 32 hex digits; anything else is not a UUID (-> NULL, not an error).
bool parse_uuid(const char *s, int len, pg_uuid_t *out);

// Registers the catalog invalidation callbacks (role membership decides trust). Call in _PG_init.
void rls_claims_init();

}  // namespace rg
