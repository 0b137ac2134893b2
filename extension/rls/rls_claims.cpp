// RLS claim helpers: guard.uid(), role(), email(), jwt(), claim(path), client_id(), tenant_source().
//
// Why C and a cache: a policy such as `owner = auth.uid()` evaluates its SQL helper per row,
// re-reading and re-parsing request.jwt.claims each time (5-40x a plain predicate). Here the
// source settings are GUCs we define (extension/core/settings.cpp) whose assign hooks bump a
// generation counter; the claims are parsed once per distinct value and the derived values
// (uid, role, email, tenant) are resolved once per generation and current role. A per-row call
// then costs two comparisons, a small palloc and a memcpy.
//
// Fail closed: a missing or empty source yields NULL, so `col = guard.uid()` matches nothing.
// Malformed claims raise an error instead of granting or silently denying.
//
// Tenant: for API roles (registry_guard.api_roles, default anon, authenticated, and their
// members) only the signed claim app_metadata.client_id counts, because any role can SET app.*;
// for other (trusted backend) roles app.client_id wins over the claim.
#include "rls/rls_claims.hpp"

#include <cstring>

#include "core/settings.hpp"

namespace {

MemoryContext parse_ctx = nullptr;    // last parsed claims (raw copy + jsonb + error)
MemoryContext derived_ctx = nullptr;  // texts of the resolved RequestClaims
char *parsed_raw = nullptr;
Jsonb *parsed_jsonb = nullptr;
char *parsed_error = nullptr;  // why parsed_raw is unusable, nullptr when it is a JSON object

rg::RequestClaims state;
uint64_t resolved_generation = 0;  // claim_settings_generation that `state` reflects, 0 = none
Oid resolved_user = InvalidOid;   // GetUserId() at resolution (changes in SECURITY DEFINER calls)
Oid resolved_outer = InvalidOid;  // GetOuterUserId() at resolution (the SET ROLE role)
char *state_error = nullptr;       // points at parsed_error when the current claims are malformed
uint64_t parse_count = 0;          // for guard.claims_cache_stats(): proves the caching in tests
uint64_t resolve_count = 0;

void invalidate_roles(Datum, int, uint32) { ++rg::claim_settings_generation; }

[[noreturn]] void throw_malformed() {
  throw rg::PgError(ERRCODE_INVALID_PARAMETER_VALUE,
                    std::string("registry_guard: request.jwt.claims is not a valid JSON object: ") + state_error,
                    {},
                    "The setting holds the JWT claims of the request (set by PostgREST as "
                    "set_config('request.jwt.claims', '<json object>', true)); fix the value or reset it.");
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// Canonical 8-4-4-4-12 or 32 hex digits; anything else is not a UUID (-> uid NULL).
bool rg::parse_uuid(const char *s, int len, pg_uuid_t *out) {
  const bool dashed = len == 36;
  if (!dashed && len != 32) return false;
  int byte = 0;
  for (int i = 0; i < len;) {
    if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
      if (s[i] != '-') return false;
      ++i;
      continue;
    }
    int hi = hexval(s[i]), lo = i + 1 < len ? hexval(s[i + 1]) : -1;
    if (hi < 0 || lo < 0 || byte >= UUID_LEN) return false;
    out->data[byte++] = static_cast<unsigned char>(hi << 4 | lo);
    i += 2;
  }
  return byte == UUID_LEN;
}

namespace {

// A claim value as text: strings as is, numbers and booleans in JSON notation, objects and
// arrays as JSON text, JSON null as nullptr. Allocates in CurrentMemoryContext; may ereport.
text *jsonb_value_text(const JsonbValue &v) {
  switch (v.type) {
    case jbvNull:
      return nullptr;
    case jbvString:
      return cstring_to_text_with_len(v.val.string.val, v.val.string.len);
    case jbvBool:
      return cstring_to_text(v.val.boolean ? "true" : "false");
    case jbvNumeric:
      return cstring_to_text(DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric))));
    case jbvBinary:
      return cstring_to_text(JsonbToCString(nullptr, v.val.binary.data, v.val.binary.len));
    default:
      return nullptr;
  }
}

// Finds a dotted path (`app_metadata.client_id`, array elements by index: `groups.0`) in the
// claims; false when any step is missing. May ereport (palloc).
bool find_claim(Jsonb *claims, const char *path, int path_len, JsonbValue *out) {
  JsonbContainer *container = &claims->root;
  int start = 0;
  while (true) {
    int end = start;
    while (end < path_len && path[end] != '.') ++end;
    const char *key = path + start;
    int key_len = end - start;
    JsonbValue *found = nullptr;
    if (JsonContainerIsObject(container)) {
      found = getKeyJsonValueFromContainer(container, key, key_len, out);
    } else if (JsonContainerIsArray(container)) {
      if (key_len == 0 || key_len > 9) return false;
      uint32 index = 0;
      for (int i = 0; i < key_len; ++i) {
        if (key[i] < '0' || key[i] > '9') return false;
        index = index * 10 + static_cast<uint32>(key[i] - '0');
      }
      found = getIthJsonbValueFromContainer(container, index);
      if (found != nullptr) *out = *found;
    }
    if (found == nullptr) return false;
    if (end >= path_len) return true;
    if (out->type != jbvBinary) return false;
    container = out->val.binary.data;
    start = end + 1;
  }
}

// Parses raw into parse_ctx unless it is the value parsed last time. C-only: runs inside rg::pg.
void parse_claims(const char *raw) {
  if (parsed_raw != nullptr && strcmp(parsed_raw, raw) == 0) return;
  ++parse_count;
  MemoryContextReset(parse_ctx);
  parsed_raw = nullptr;
  parsed_jsonb = nullptr;
  parsed_error = nullptr;
  MemoryContext old = MemoryContextSwitchTo(parse_ctx);
  char *copy = pstrdup(raw);
  JsonLexContext *lex = makeJsonLexContextCstringLen(copy, static_cast<int>(strlen(copy)), GetDatabaseEncoding(), true);
  JsonParseErrorType err = pg_parse_json(lex, &nullSemAction);
  if (err != JSON_SUCCESS) {
    parsed_error = json_errdetail(err, lex);
  } else {
    Jsonb *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(copy)));
    if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
      parsed_error = pstrdup("the value is JSON but not an object");
    else
      parsed_jsonb = jb;
  }
  parsed_raw = pstrdup(raw);
  MemoryContextSwitchTo(old);
}

// The claim at path as text in CurrentMemoryContext, nullptr when absent.
text *claim_text(Jsonb *claims, const char *path) {
  if (claims == nullptr) return nullptr;
  JsonbValue v;
  if (!find_claim(claims, path, static_cast<int>(strlen(path)), &v)) return nullptr;
  text *t = jsonb_value_text(v);
  if (t != nullptr && VARSIZE_ANY_EXHDR(t) == 0) return nullptr;  // empty string: absent
  return t;
}

// True when neither the current user nor the outer (SET ROLE) user is a member of
// registry_guard.api_roles (superusers are members of none unless granted explicitly:
// is_member_of_role_nosuper). The outer user counts so that an API request cannot pick a tenant
// through a SECURITY DEFINER function owned by a trusted role.
bool trusted_role(Oid user, Oid outer) {
  Oid roles[2] = {user, outer};
  return rg::roles_trusted(roles, 2);
}

// Recomputes `state` for the current settings and role. C-only: runs inside rg::pg.
void resolve(Oid user, Oid outer) {
  if (parse_ctx == nullptr) {
    parse_ctx = AllocSetContextCreate(TopMemoryContext, "registry_guard claims", ALLOCSET_SMALL_SIZES);
    derived_ctx = AllocSetContextCreate(TopMemoryContext, "registry_guard resolved claims", ALLOCSET_SMALL_SIZES);
  }
  ++resolve_count;
  const char *raw = rg::jwt_claims_setting();
  if (raw != nullptr) parse_claims(raw);
  MemoryContextReset(derived_ctx);
  state = rg::RequestClaims{};
  state_error = raw != nullptr ? parsed_error : nullptr;
  if (state_error != nullptr) return;

  MemoryContext old = MemoryContextSwitchTo(derived_ctx);
  Jsonb *claims = raw != nullptr ? parsed_jsonb : nullptr;
  state.claims = claims;

  const char *legacy_sub = rg::jwt_claim_sub_setting();
  text *sub = legacy_sub != nullptr ? cstring_to_text(legacy_sub) : claim_text(claims, "sub");
  state.sub = sub;
  if (sub != nullptr) state.has_uid = rg::parse_uuid(VARDATA_ANY(sub), static_cast<int>(VARSIZE_ANY_EXHDR(sub)), &state.uid);
  const char *legacy_role = rg::jwt_claim_role_setting();
  state.role = legacy_role != nullptr ? cstring_to_text(legacy_role) : claim_text(claims, "role");
  const char *legacy_email = rg::jwt_claim_email_setting();
  state.email = legacy_email != nullptr ? cstring_to_text(legacy_email) : claim_text(claims, "email");

  state.trusted = trusted_role(user, outer);
  const char *app = rg::app_client_id_setting();
  if (state.trusted && app != nullptr) {
    state.client_id = cstring_to_text(app);
    state.client_id_source = "app.client_id";
  } else if ((state.client_id = claim_text(claims, "app_metadata.client_id")) != nullptr) {
    state.client_id_source = "jwt";
  } else if (const char *dflt = rg::default_client_id_setting()) {
    state.client_id = cstring_to_text(dflt);
    state.client_id_source = "default";
  }
  MemoryContextSwitchTo(old);
}

}  // namespace

namespace rg {

bool roles_trusted(const Oid *roles, int n) {
  char *copy = pstrdup(rg::api_roles_setting());
  List *names = NIL;
  if (!SplitIdentifierString(copy, ',', &names)) return false;  // unreadable list: trust nobody
  bool trusted = true;
  ListCell *lc;
  foreach (lc, names) {
    Oid role = get_role_oid(static_cast<const char *>(lfirst(lc)), true);
    if (!OidIsValid(role)) continue;
    for (int i = 0; i < n && trusted; ++i)
      if (roles[i] == role || is_member_of_role_nosuper(roles[i], role)) trusted = false;
    if (!trusted) break;
  }
  list_free(names);
  pfree(copy);
  return trusted;
}

const RequestClaims &request_claims() {
  Oid user = GetUserId();
  Oid outer = GetOuterUserId();
  if (likely(resolved_generation == claim_settings_generation && resolved_user == user && resolved_outer == outer)) {
    if (unlikely(state_error != nullptr)) throw_malformed();
    return state;
  }
  resolved_generation = 0;  // stays invalid if resolve() fails half-way
  uint64_t generation = claim_settings_generation;
  pg([&] { resolve(user, outer); });
  resolved_generation = generation;
  resolved_user = user;
  resolved_outer = outer;
  if (state_error != nullptr) throw_malformed();
  return state;
}

void rls_claims_init() {
  CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, invalidate_roles, 0);
  CacheRegisterSyscacheCallback(AUTHOID, invalidate_roles, 0);
}

}  // namespace rg

namespace {

// Per call site (fn_extra) copy of a helper's result, valid while the settings generation and
// the current role are those it was taken under. A hit returns the same pointer again without
// any allocation; that is safe because no executor node keeps a by-reference result past the
// evaluation cycle without copying it (results normally live in per-tuple memory).
struct CallSiteCache {
  uint64_t generation;
  Oid user;
  Oid outer;
  bool isnull;
  Datum value;  // in fn_mcxt
};

// Only the tenant depends on the role (trust); the claims themselves do not.
inline bool call_site_valid(const CallSiteCache *cache, bool role_dependent) {
  return cache != nullptr && cache->generation == rg::claim_settings_generation &&
         (!role_dependent || (cache->user == GetUserId() && cache->outer == GetOuterUserId()));
}

template <typename Extract> Datum cached_result(FunctionCallInfo fcinfo, bool role_dependent, Extract extract) {
  auto *cache = static_cast<CallSiteCache *>(fcinfo->flinfo->fn_extra);
  if (likely(call_site_valid(cache, role_dependent))) {
    fcinfo->isnull = cache->isnull;
    return cache->value;
  }
  const rg::RequestClaims &c = rg::request_claims();
  rg::pg([&] {
    if (cache == nullptr) {
      cache = static_cast<CallSiteCache *>(MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CallSiteCache)));
      fcinfo->flinfo->fn_extra = cache;
    }
    if (!cache->isnull && cache->value != 0) pfree(DatumGetPointer(cache->value));
    cache->generation = 0;
    cache->value = 0;
    cache->isnull = true;
    MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
    const void *v = extract(c);
    if (v != nullptr) {
      Size n = VARSIZE_ANY(v);
      void *copy = palloc(n);
      memcpy(copy, v, n);
      cache->value = PointerGetDatum(copy);
      cache->isnull = false;
    }
    MemoryContextSwitchTo(old);
  });
  cache->generation = resolved_generation;
  cache->user = resolved_user;
  cache->outer = resolved_outer;
  fcinfo->isnull = cache->isnull;
  return cache->value;
}

}  // namespace

RG_FUNCTION(rg_uid) {
  // uuid is a fixed-length type: cache it wrapped as a varlena-sized copy of its 16 bytes.
  auto *cache = static_cast<CallSiteCache *>(fcinfo->flinfo->fn_extra);
  if (likely(call_site_valid(cache, false))) {
    fcinfo->isnull = cache->isnull;
    return cache->value;
  }
  const rg::RequestClaims &c = rg::request_claims();
  rg::pg([&] {
    if (cache == nullptr) {
      cache = static_cast<CallSiteCache *>(MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CallSiteCache)));
      cache->value = PointerGetDatum(MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(pg_uuid_t)));
      fcinfo->flinfo->fn_extra = cache;
    }
  });
  // The 16 bytes are rewritten only when the value changes, i.e. after a settings change.
  cache->isnull = !c.has_uid;
  if (c.has_uid) *reinterpret_cast<pg_uuid_t *>(DatumGetPointer(cache->value)) = c.uid;
  cache->generation = resolved_generation;
  cache->user = resolved_user;
  cache->outer = resolved_outer;
  fcinfo->isnull = cache->isnull;
  return cache->value;
}

RG_FUNCTION(rg_role) {
  return cached_result(fcinfo, false, [](const rg::RequestClaims &c) -> const void * { return c.role; });
}

RG_FUNCTION(rg_email) {
  return cached_result(fcinfo, false, [](const rg::RequestClaims &c) -> const void * { return c.email; });
}

RG_FUNCTION(rg_jwt) {
  return cached_result(fcinfo, false, [](const rg::RequestClaims &c) -> const void * { return c.claims; });
}

RG_FUNCTION(rg_client_id) {
  return cached_result(fcinfo, true, [](const rg::RequestClaims &c) -> const void * { return c.client_id; });
}

RG_FUNCTION(rg_tenant_source) {
  return cached_result(fcinfo, true, [](const rg::RequestClaims &c) -> const void * {
    return c.client_id_source != nullptr ? cstring_to_text(c.client_id_source) : nullptr;
  });
}

namespace {
// guard.claim(path)'s per-call-site cache (fn_extra): the last path and its value.
struct ClaimCache {
  uint64_t generation;
  text *path;   // in fn_mcxt
  text *value;  // in fn_mcxt, nullptr = SQL NULL
};
}  // namespace

RG_FUNCTION(rg_claim) {
  const rg::RequestClaims &c = rg::request_claims();
  text *path = rg::pg([&] { return PG_GETARG_TEXT_PP(0); });
  auto *cache = static_cast<ClaimCache *>(fcinfo->flinfo->fn_extra);
  const Size path_len = VARSIZE_ANY_EXHDR(path);
  bool hit = cache != nullptr && cache->generation == resolved_generation && VARSIZE_ANY_EXHDR(cache->path) == path_len &&
             memcmp(VARDATA_ANY(cache->path), VARDATA_ANY(path), path_len) == 0;
  if (!hit) {
    rg::pg([&] {
      MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
      if (cache == nullptr) {
        cache = static_cast<ClaimCache *>(palloc0(sizeof(ClaimCache)));
        fcinfo->flinfo->fn_extra = cache;
      }
      if (cache->path != nullptr) pfree(cache->path);
      if (cache->value != nullptr) pfree(cache->value);
      cache->path = cache->value = nullptr;
      cache->generation = 0;
      cache->path = static_cast<text *>(PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(0)));
      char *p = text_to_cstring(path);
      cache->value = claim_text(c.claims, p);
      pfree(p);
      cache->generation = resolved_generation;
      MemoryContextSwitchTo(old);
    });
  }
  if (cache->value == nullptr) PG_RETURN_NULL();
  return PointerGetDatum(cache->value);
}

// guard.claims_cache_stats(): how often the claims were parsed and resolved in this backend.
RG_FUNCTION(rg_claims_cache_stats) {
  return rg::pg([&] {
    TupleDesc desc;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
      ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("guard.claims_cache_stats must return a record")));
    desc = BlessTupleDesc(desc);
    Datum values[2] = {Int64GetDatum(static_cast<int64>(parse_count)), Int64GetDatum(static_cast<int64>(resolve_count))};
    bool nulls[2] = {false, false};
    return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
  });
}

// guard.api_roles(): the roles of registry_guard.api_roles (for guard.rls_report()).
RG_FUNCTION(rg_api_roles) {
  return rg::pg([&] {
    char *copy = pstrdup(rg::api_roles_setting());
    List *names = NIL;
    if (!SplitIdentifierString(copy, ',', &names))
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("registry_guard.api_roles is not a list of role names")));
    int n = list_length(names);
    Datum *elems = static_cast<Datum *>(palloc(sizeof(Datum) * (n > 0 ? n : 1)));
    for (int i = 0; i < n; ++i) elems[i] = CStringGetTextDatum(static_cast<char *>(list_nth(names, i)));
    return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
  });
}
