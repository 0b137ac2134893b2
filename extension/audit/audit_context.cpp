// The actor of a change: audit.change_context rows (table names, roles, application_name,
// registry_guard.actor / sync_run_id, JWT claims from request.jwt.claims and the legacy
// request.jwt.claim.* settings). One row per backend and distinct (table, actor): versions
// point to it, so a 100k-row UPDATE stores its actor once.
#include "audit/audit.hpp"
#include "core/pg_guard.hpp"

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

// A canonical UUID (8-4-4-4-12 hex digits); anything else is not a Supabase user id.
bool is_uuid(const char *s) {
  if (strlen(s) != 36) return false;
  for (int i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

// claims->>key, or NULL.
char *claim_text(Jsonb *claims, const char *key) {
  if (!claims) return nullptr;
  JsonbValue v;
  if (!getKeyJsonValueFromContainer(&claims->root, key, strlen(key), &v)) return nullptr;
  switch (v.type) {
    case jbvNull:
      return nullptr;
    case jbvString:
      return pnstrdup(v.val.string.val, v.val.string.len);
    case jbvNumeric:
      return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
    case jbvBool:
      return pstrdup(v.val.boolean ? "true" : "false");
    default:
      return JsonbToCString(nullptr, v.val.binary.data, v.val.binary.len);
  }
}

Jsonb *parse_claims(const char *text, Relation rel) {
  if (text[0] == '\0') return nullptr;
  char *copy = pstrdup(text);
  JsonLexContext *lex = makeJsonLexContextCstringLen(copy, strlen(copy), GetDatabaseEncoding(), true);
  bool ok = pg_parse_json(lex, &nullSemAction) == JSON_SUCCESS;
  Jsonb *claims = ok ? DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(copy))) : nullptr;
  if (!ok || !JB_ROOT_IS_OBJECT(claims))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("registry_guard audit: request.jwt.claims is not a JSON object"),
                    errdetail("The change to table \"%s.%s\" cannot be attributed to an actor; it was not made.",
                              get_namespace_name(RelationGetNamespace(rel)), RelationGetRelationName(rel)),
                    errhint("Set request.jwt.claims to the JWT's claims as a JSON object (as PostgREST does), "
                            "or RESET it.")));
  return claims;
}

int64 insert_context(Relation rel) {
  const char *claims_text = setting("request.jwt.claims");
  Jsonb *claims = parse_claims(claims_text, rel);
  // Legacy per-claim settings win, as in Supabase's auth.uid()/auth.role().
  auto pick = [&](const char *legacy, const char *key) -> char * {
    const char *v = setting(legacy);
    if (v[0] != '\0') return pstrdup(v);
    return claim_text(claims, key);
  };
  char *sub = pick("request.jwt.claim.sub", "sub");
  char *role = pick("request.jwt.claim.role", "role");
  char *email = pick("request.jwt.claim.email", "email");
  const char *app = setting("application_name");
  const char *actor = setting("registry_guard.actor");
  const char *run = setting("registry_guard.sync_run_id");

  Oid argtypes[13] = {OIDOID, NAMEOID, NAMEOID, NAMEOID, NAMEOID, TEXTOID, TEXTOID,
                      INT8OID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, UUIDOID};
  Datum args[13];
  char nulls[14];
  memset(nulls, ' ', sizeof nulls);
  nulls[13] = '\0';
  args[0] = ObjectIdGetDatum(RelationGetRelid(rel));
  args[1] = DirectFunctionCall1(namein, CStringGetDatum(get_namespace_name(RelationGetNamespace(rel))));
  args[2] = DirectFunctionCall1(namein, CStringGetDatum(RelationGetRelationName(rel)));
  args[3] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
  args[4] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetSessionUserId(), false)));
  auto text_or_null = [&](int i, const char *s) {
    if (s && s[0] != '\0') args[i] = CStringGetTextDatum(s);
    else nulls[i] = 'n';
  };
  text_or_null(5, app);
  text_or_null(6, actor);
  if (run[0] != '\0') args[7] = Int64GetDatum(strtoll(run, nullptr, 10));  // validated by the GUC
  else nulls[7] = 'n';
  text_or_null(8, sub);
  text_or_null(9, role);
  text_or_null(10, email);
  if (claims) args[11] = JsonbPGetDatum(claims);
  else nulls[11] = 'n';
  if (sub && is_uuid(sub)) args[12] = DirectFunctionCall1(uuid_in, CStringGetDatum(sub));
  else nulls[12] = 'n';  // service-role tokens and non-UUID subjects have no auth_uid

  const Catalog &cat = catalog();
  Oid owner;
  {
    Relation cr = table_open(cat.change_context, AccessShareLock);
    owner = cr->rd_rel->relowner;
    table_close(cr, AccessShareLock);
  }
  Oid save_uid;
  int save_sec;
  GetUserIdAndSecContext(&save_uid, &save_sec);
  // As the audit tables' owner: API roles may change tracked tables without any audit grant.
  SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
  // Pinned at prepare and at every execution: the kept plan never depends on a caller's path.
  int guc_level = pin_search_path();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "registry_guard audit: SPI_connect failed");
  if (!insert_plan) {
    SPIPlanPtr p = SPI_prepare(
        "INSERT INTO audit.change_context(table_oid, table_schema, table_name, db_role, session_role, "
        "application_name, actor, sync_run_id, jwt_sub, jwt_role, jwt_email, jwt_claims, auth_uid) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        13, argtypes);
    if (!p) elog(ERROR, "registry_guard audit: preparing the context insert failed");
    SPI_keepplan(p);
    insert_plan = p;
  }
  int rc = SPI_execute_plan(insert_plan, args, nulls, false, 1);
  if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
    elog(ERROR, "registry_guard audit: inserting into audit.change_context failed (%d)", rc);
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

  StringInfoData fp;
  initStringInfo(&fp);
  appendStringInfo(&fp, "%u\x1f%u\x1f%s\x1f%s", GetUserId(), GetSessionUserId(), setting("application_name"),
                   setting("registry_guard.actor"));
  for (const char *name : {"registry_guard.sync_run_id", "request.jwt.claims", "request.jwt.claim.sub",
                           "request.jwt.claim.role", "request.jwt.claim.email"})
    appendStringInfo(&fp, "\x1f%s", setting(name));
  // Table names are part of the context: a rename must start a new one.
  appendStringInfo(&fp, "\x1f%s\x1f%s", get_namespace_name(RelationGetNamespace(rel)), RelationGetRelationName(rel));

  if (!contexts) create_contexts_table();
  ContextKey key;
  memset(&key, 0, sizeof key);
  key.relid = relid;
  key.fingerprint = hash_bytes_extended(reinterpret_cast<const unsigned char *>(fp.data), fp.len, 0);
  ContextEntry *e = static_cast<ContextEntry *>(hash_search(contexts, &key, HASH_FIND, nullptr));
  if (!e || strcmp(e->text, fp.data) != 0) {
    int64 id = insert_context(rel);
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
