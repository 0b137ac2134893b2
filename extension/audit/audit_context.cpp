// The actor of a change: audit.change_context rows (table names, roles, application_name,
// registry_guard.actor / sync_run_id, JWT claims from request.jwt.claims and the legacy
// request.jwt.claim.* settings). One row per backend and distinct (table, actor): versions
// point to it, so a 100k-row UPDATE stores its actor once.
#include "audit/audit.hpp"
#include "core/pg_guard.hpp"
#include "rls/rls_claims.hpp"

namespace rg::audit {

namespace {

struct ContextKey {
  Oid relid;
  uint64 fingerprint;
};
struct ContextEntry {
  ContextKey key;
  char *text;     // the full fingerprint (TopMemoryContext), to rule out hash collisions
  int64 id;
  bool pending;   // inserted by the current transaction: gone if it aborts
};

HTAB *contexts = nullptr;
MemoryContext contexts_mcxt = nullptr;  // owns the table and the fingerprint strings
SPIPlanPtr insert_plan = nullptr;
SPIPlanPtr insert_plan_010 = nullptr;  // a database still on 0.1.0: no claimed_attribution
// Last answer, valid while no new statement can have changed the settings.
Oid last_relid = InvalidOid;
uint64 last_generation = 0;
int64 last_id = 0;
bool last_valid = false;
bool contexts_stale = false;  // set by invalidate_contexts(), acted on in context_id()

const char *setting(const char *name) {
  const char *v = GetConfigOption(name, true, false);
  return v ? v : "";
}

Oid get_rel_owner_oid(Oid relid) {
  Relation r = table_open(relid, AccessShareLock);
  Oid owner = r->rd_rel->relowner;
  table_close(r, AccessShareLock);
  return owner;
}

// Attribution claims (registry_guard.actor, registry_guard.sync_run_id, application_name) are
// settings anyone can SET: they are honoured only when the session user, the SET ROLE role and
// the current user are all trusted (none is an API role or a member of one, see
// guard.api_roles()); a sync_run_id only when it names a running registry_sync.sync_runs row of
// this session. What is not honoured goes into change_context.claimed_attribution instead.
bool attribution_trusted() {
  Oid roles[3] = {GetSessionUserId(), GetOuterUserId(), GetUserId()};
  return rg::roles_trusted(roles, 3);
}

// Whether registry_guard.sync_run_id = run names a running sync run started by this backend.
// Checked once per transaction and run id (the run's status changes between transactions).
// Without registry_sync.sync_runs (the migrations did not run) no run can be named.
LocalTransactionId run_checked_lxid = InvalidLocalTransactionId;
int64 run_checked_id = 0;
bool run_checked_ok = false;

bool sync_run_running(int64 run) {
  if (run_checked_lxid == MyProc->lxid && run_checked_id == run) return run_checked_ok;
  bool ok = false;
  // Looked up without a privilege check: RangeVarGetRelid would check the writer's USAGE on
  // registry_sync and fail the write of a trusted role that names a run it cannot see.
  Oid runs_ns = get_namespace_oid("registry_sync", true);
  Oid runs = OidIsValid(runs_ns) ? get_relname_relid("sync_runs", runs_ns) : InvalidOid;
  if (OidIsValid(runs)) {
    bool has_pid = get_attnum(runs, "backend_pid") != InvalidAttrNumber;
    Oid save_uid;
    int save_sec;
    GetUserIdAndSecContext(&save_uid, &save_sec);
    // As the audit tables' owner (the writer need not read registry_sync), path pinned.
    SetUserIdAndSecContext(get_rel_owner_oid(catalog().change_context),
                           save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
    int guc_level = pin_search_path();
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "registry_guard audit: SPI_connect failed");
    Oid argtypes[1] = {INT8OID};
    Datum args[1] = {Int64GetDatum(run)};
    int rc = SPI_execute_with_args(
        has_pid ? "SELECT 1 FROM registry_sync.sync_runs r WHERE r.id = $1 AND r.status = 'running' "
                  "AND r.backend_pid = pg_catalog.pg_backend_pid()"
                : "SELECT 1 FROM registry_sync.sync_runs r WHERE r.id = $1 AND r.status = 'running'",
        1, argtypes, args, nullptr, true, 1);
    if (rc != SPI_OK_SELECT) elog(ERROR, "registry_guard audit: reading registry_sync.sync_runs failed (%d)", rc);
    ok = SPI_processed == 1;
    SPI_finish();
    unpin_search_path(guc_level);
    SetUserIdAndSecContext(save_uid, save_sec);
  }
  run_checked_lxid = MyProc->lxid;
  run_checked_id = run;
  run_checked_ok = ok;
  return ok;
}

// The attribution settings as they are recorded: honoured ones in their columns, the others
// (claimed) in claimed_attribution. Computed once per statement in context_id().
struct Attribution {
  const char *app, *actor, *run;                  // honoured ("" = none)
  const char *claimed_app, *claimed_actor, *claimed_run;  // not honoured ("" = none)
};

Attribution attribution() {
  const char *app = setting("application_name");
  const char *actor = setting("registry_guard.actor");
  const char *run = setting("registry_guard.sync_run_id");
  if (app[0] == '\0' && actor[0] == '\0' && run[0] == '\0') return {"", "", "", "", "", ""};
  if (!attribution_trusted()) return {"", "", "", app, actor, run};
  if (run[0] != '\0' && !sync_run_running(strtoll(run, nullptr, 10)))  // validated by the GUC
    return {app, actor, "", "", "", run};
  return {app, actor, run, "", "", ""};
}

// The request's JWT claims as the RLS helpers read them (one parser: extension/rls/rls_claims.cpp;
// legacy request.jwt.claim.* settings first, as in Supabase's auth.uid()). Malformed claims
// refuse the change: it could not be attributed.
const rg::RequestClaims &request_claims_for(Relation rel) {
  const rg::RequestClaims *claims = nullptr;
  bool malformed = false;
  try {
    claims = &rg::request_claims();
  } catch (const rg::PgError &) {
    malformed = true;
  }
  // Reported after the catch block has been left (no live C++ exception under a longjmp).
  if (malformed)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("registry_guard audit: request.jwt.claims is not a JSON object"),
                    errdetail("The change to table \"%s.%s\" cannot be attributed to an actor; it was not made.",
                              get_namespace_name(RelationGetNamespace(rel)), RelationGetRelationName(rel)),
                    errhint("Set request.jwt.claims to the JWT's claims as a JSON object (as PostgREST does), "
                            "or RESET it.")));
  return *claims;
}

char *text_or_nullptr(const text *t) { return t ? text_to_cstring(t) : nullptr; }

// Supabase's auth.uid() and auth.role() (supa_audit's auth_uid / auth_role defaults call them):
// where both exist, the context records what they return, evaluated once per statement as the
// audit tables' owner (as supa_audit's SECURITY DEFINER trigger does). auth.uid() casts the
// sub to uuid and fails on anything else: a sub that is set but not a UUID gives NULL without
// calling it.
struct AuthValues {
  bool present;  // auth.uid() and auth.role() exist
  bool has_uid;
  pg_uuid_t uid;
  char *role;    // nullptr = NULL
};
uint64 auth_generation = 0;
AuthValues auth_cached{};

Oid auth_function(Oid nsp, const char *name, Oid rettype) {
  oidvector *none = buildoidvector(nullptr, 0);
  Oid fn = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum(name), PointerGetDatum(none),
                           ObjectIdGetDatum(nsp));
  return OidIsValid(fn) && get_func_rettype(fn) == rettype ? fn : InvalidOid;
}

Datum call_auth_function(Oid fn, bool *isnull) {
  FmgrInfo flinfo;
  fmgr_info(fn, &flinfo);
  LOCAL_FCINFO(fcinfo, 0);
  InitFunctionCallInfoData(*fcinfo, &flinfo, 0, InvalidOid, nullptr, nullptr);
  Datum d = FunctionCallInvoke(fcinfo);
  *isnull = fcinfo->isnull;
  return d;
}


const AuthValues &auth_values(Relation rel) {
  if (auth_generation == statement_generation) return auth_cached;
  AuthValues v{};
  Oid nsp = get_namespace_oid("auth", true);
  Oid uid_fn = OidIsValid(nsp) ? auth_function(nsp, "uid", UUIDOID) : InvalidOid;
  Oid role_fn = OidIsValid(nsp) ? auth_function(nsp, "role", TEXTOID) : InvalidOid;
  if (OidIsValid(uid_fn) && OidIsValid(role_fn)) {
    v.present = true;
    const rg::RequestClaims &rc = request_claims_for(rel);
    bool uid_callable = rc.sub == nullptr || rc.has_uid;
    Oid save_uid;
    int save_sec;
    GetUserIdAndSecContext(&save_uid, &save_sec);
    SetUserIdAndSecContext(get_rel_owner_oid(catalog().change_context),
                           save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
    int guc_level = pin_search_path();
    bool isnull;
    if (uid_callable) {
      Datum d = call_auth_function(uid_fn, &isnull);
      if (!isnull) {
        v.has_uid = true;
        memcpy(&v.uid, DatumGetUUIDP(d), sizeof(pg_uuid_t));
      }
    }
    Datum r = call_auth_function(role_fn, &isnull);
    if (!isnull) v.role = MemoryContextStrdup(TopMemoryContext, TextDatumGetCString(r));
    unpin_search_path(guc_level);
    SetUserIdAndSecContext(save_uid, save_sec);
  }
  if (auth_cached.role) pfree(auth_cached.role);
  auth_cached = v;
  auth_generation = statement_generation;
  return auth_cached;
}

int64 insert_context(Relation rel, const Attribution &who, const AuthValues &auth) {
  const rg::RequestClaims &rc = request_claims_for(rel);
  Jsonb *claims = rc.claims;
  char *sub = text_or_nullptr(rc.sub);
  char *role = auth.present ? auth.role : text_or_nullptr(rc.role);
  char *email = text_or_nullptr(rc.email);
  Oid argtypes[16] = {OIDOID, NAMEOID, NAMEOID, NAMEOID, NAMEOID, TEXTOID, TEXTOID, INT8OID,
                      TEXTOID, TEXTOID, TEXTOID, JSONBOID, UUIDOID, TEXTOID, TEXTOID, TEXTOID};
  Datum args[16];
  char nulls[17];
  memset(nulls, ' ', sizeof nulls);
  nulls[16] = '\0';
  args[0] = ObjectIdGetDatum(RelationGetRelid(rel));
  args[1] = DirectFunctionCall1(namein, CStringGetDatum(get_namespace_name(RelationGetNamespace(rel))));
  args[2] = DirectFunctionCall1(namein, CStringGetDatum(RelationGetRelationName(rel)));
  args[3] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
  args[4] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetSessionUserId(), false)));
  auto text_or_null = [&](int i, const char *s) {
    if (s && s[0] != '\0') args[i] = CStringGetTextDatum(s);
    else nulls[i] = 'n';
  };
  text_or_null(5, who.app);
  text_or_null(6, who.actor);
  if (who.run[0] != '\0') args[7] = Int64GetDatum(strtoll(who.run, nullptr, 10));  // validated by the GUC
  else nulls[7] = 'n';
  text_or_null(13, who.claimed_actor);
  text_or_null(14, who.claimed_run);
  text_or_null(15, who.claimed_app);
  text_or_null(8, sub);
  text_or_null(9, role);
  text_or_null(10, email);
  if (claims) args[11] = JsonbPGetDatum(claims);
  else nulls[11] = 'n';
  pg_uuid_t *uid = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t)));
  if (auth.present) {
    if (auth.has_uid) *uid = auth.uid;
    if (auth.has_uid) args[12] = UUIDPGetDatum(uid);
    else nulls[12] = 'n';
  } else if (rc.has_uid) {
    *uid = rc.uid;
    args[12] = UUIDPGetDatum(uid);
  }
  else nulls[12] = 'n';  // service-role tokens and non-UUID subjects have no auth_uid

  Oid owner = get_rel_owner_oid(catalog().change_context);
  Oid save_uid;
  int save_sec;
  GetUserIdAndSecContext(&save_uid, &save_sec);
  // As the audit tables' owner: API roles may change tracked tables without any audit grant.
  SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
  // Pinned at prepare and at every execution: the kept plan never depends on a caller's path.
  int guc_level = pin_search_path();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "registry_guard audit: SPI_connect failed");
  // The library also serves databases still on 0.1.0 (until ALTER EXTENSION ... UPDATE): their
  // change_context has no claimed_attribution, and claims are then not recorded at all.
  bool has_claimed = get_attnum(catalog().change_context, "claimed_attribution") != InvalidAttrNumber;
  if (!has_claimed && !insert_plan_010) {
    SPIPlanPtr p = SPI_prepare(
        "INSERT INTO audit.change_context(table_oid, table_schema, table_name, db_role, session_role, "
        "application_name, actor, sync_run_id, jwt_sub, jwt_role, jwt_email, jwt_claims, auth_uid) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        13, argtypes);
    if (!p) elog(ERROR, "registry_guard audit: preparing the context insert failed");
    SPI_keepplan(p);
    insert_plan_010 = p;
  }
  if (has_claimed && !insert_plan) {
    SPIPlanPtr p = SPI_prepare(
        "INSERT INTO audit.change_context(table_oid, table_schema, table_name, db_role, session_role, "
        "application_name, actor, sync_run_id, jwt_sub, jwt_role, jwt_email, jwt_claims, auth_uid, "
        "claimed_attribution) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
        "NULLIF(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('actor', $14, "
        "'sync_run_id', $15, 'application_name', $16)), '{}'::pg_catalog.jsonb)) RETURNING id",
        16, argtypes);
    if (!p) elog(ERROR, "registry_guard audit: preparing the context insert failed");
    SPI_keepplan(p);
    insert_plan = p;
  }
  int spi_rc = SPI_execute_plan(has_claimed ? insert_plan : insert_plan_010, args, nulls, false, 1);
  if (spi_rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
    elog(ERROR, "registry_guard audit: inserting into audit.change_context failed (%d)", spi_rc);
  bool isnull;
  int64 id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
  SPI_finish();
  unpin_search_path(guc_level);
  SetUserIdAndSecContext(save_uid, save_sec);
  return id;
}

void create_contexts_table() {
  HASHCTL ctl;
  memset(&ctl, 0, sizeof ctl);
  ctl.keysize = sizeof(ContextKey);
  ctl.entrysize = sizeof(ContextEntry);
  contexts_mcxt = AllocSetContextCreate(TopMemoryContext, "registry_guard audit contexts", ALLOCSET_DEFAULT_SIZES);
  ctl.hcxt = contexts_mcxt;
  contexts = hash_create("registry_guard audit contexts", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

}  // namespace

int64 context_id(Relation rel) {
  Oid relid = RelationGetRelid(rel);
  if (contexts_stale) {
    contexts_stale = false;
    forget_contexts();
  }
  if (last_valid && last_relid == relid && last_generation == statement_generation) return last_id;
  // Held until the transaction ends, so that audit.prune() (EXCLUSIVE) cannot remove a context
  // this transaction refers to; taking it also processes a prune's invalidation (below).
  LockRelationOid(catalog().change_context, RowShareLock);

  Attribution who = attribution();
  const AuthValues &auth = auth_values(rel);
  StringInfoData fp;
  initStringInfo(&fp);
  // The outer (SET ROLE) user decides trust too; the attribution as recorded, not as set.
  appendStringInfo(&fp, "%u\x1f%u\x1f%u\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", GetUserId(), GetSessionUserId(),
                   GetOuterUserId(), who.app, who.actor, who.run, who.claimed_app, who.claimed_actor, who.claimed_run);
  for (const char *name : {"request.jwt.claims", "request.jwt.claim.sub", "request.jwt.claim.role",
                           "request.jwt.claim.email"})
    appendStringInfo(&fp, "\x1f%s", setting(name));
  if (auth.present) {  // what auth.uid() / auth.role() returned for this statement
    appendStringInfo(&fp, "\x1f%s\x1f%s",
                     auth.has_uid ? DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&auth.uid))) : "",
                     auth.role ? auth.role : "");
  }
  // Table names are part of the context: a rename must start a new one.
  appendStringInfo(&fp, "\x1f%s\x1f%s", get_namespace_name(RelationGetNamespace(rel)), RelationGetRelationName(rel));

  if (!contexts) create_contexts_table();
  ContextKey key;
  memset(&key, 0, sizeof key);
  key.relid = relid;
  key.fingerprint = hash_bytes_extended(reinterpret_cast<const unsigned char *>(fp.data), fp.len, 0);
  ContextEntry *e = static_cast<ContextEntry *>(hash_search(contexts, &key, HASH_FIND, nullptr));
  if (!e || strcmp(e->text, fp.data) != 0) {
    int64 id = insert_context(rel, who, auth);
    if (hash_get_num_entries(contexts) > 10000) {  // bounded: long-lived backends, many tokens
      // Pending entries are forgotten too: harmless, they are re-inserted only if used again.
      forget_contexts();
      create_contexts_table();
    }
    bool found;
    e = static_cast<ContextEntry *>(hash_search(contexts, &key, HASH_ENTER, &found));
    if (found && e->text) pfree(e->text);
    e->text = MemoryContextStrdup(contexts_mcxt, fp.data);
    e->id = id;
    e->pending = true;
  }
  last_relid = relid;
  last_generation = statement_generation;
  last_id = e->id;
  last_valid = true;
  return e->id;
}

// Called at transaction end: contexts inserted by an aborted (sub)transaction are gone.
void contexts_at_xact_end(bool committed) {
  last_valid = false;
  if (!contexts) return;
  HASH_SEQ_STATUS s;
  hash_seq_init(&s, contexts);
  for (ContextEntry *e; (e = static_cast<ContextEntry *>(hash_seq_search(&s)));) {
    if (!e->pending) continue;
    if (committed) {
      e->pending = false;
    } else {
      if (e->text) pfree(e->text);
      hash_search(contexts, &e->key, HASH_REMOVE, nullptr);
    }
  }
}

void invalidate_contexts() {
  last_valid = false;
  contexts_stale = true;
}

void forget_contexts() {
  last_valid = false;
  if (contexts) {
    MemoryContextDelete(contexts_mcxt);
    contexts = nullptr;
    contexts_mcxt = nullptr;
  }
}

}  // namespace rg::audit
