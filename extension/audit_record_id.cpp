// Record ids compatible with supa_audit 0.3.1 (UUID v5 over table oid + key values) and
// audit.to_record_id(). SHA-1 comes from PostgreSQL's common/cryptohash, so no uuid-ossp.
#include "audit.hpp"
#include "pg_guard.hpp"

namespace rg::audit {

namespace {
// supa_audit's namespace UUID fd62bc3d-8d6e-43c2-919c-802ba3762271.
const uint8 kNamespace[16] = {0xfd, 0x62, 0xbc, 0x3d, 0x8d, 0x6e, 0x43, 0xc2,
                              0x91, 0x9c, 0x80, 0x2b, 0xa3, 0x76, 0x22, 0x71};

void uuid_v5(const char *name, size_t len, pg_uuid_t *out) {
  uint8 digest[20];
  pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA1);
  if (pg_cryptohash_init(ctx) < 0 || pg_cryptohash_update(ctx, kNamespace, sizeof kNamespace) < 0 ||
      pg_cryptohash_update(ctx, reinterpret_cast<const uint8 *>(name), len) < 0 ||
      pg_cryptohash_final(ctx, digest, sizeof digest) < 0) {
    pg_cryptohash_free(ctx);
    ereport(ERROR, (errmsg("registry_guard audit: SHA-1 failed while computing a record id")));
  }
  pg_cryptohash_free(ctx);
  memcpy(out->data, digest, UUID_LEN);
  out->data[6] = (out->data[6] & 0x0f) | 0x50;  // version 5
  out->data[8] = (out->data[8] & 0x3f) | 0x80;  // RFC 4122 variant
}

// The value of `rec->>key` as a JsonbValue string (or jbvNull), as jsonb_agg would hold it.
void key_text(JsonbContainer *rec, JsonbContainer *overlay, const char *key, JsonbValue *out) {
  JsonbValue v;
  JsonbValue *found = nullptr;
  if (key == nullptr) {  // rec->>NULL is NULL
    out->type = jbvNull;
    return;
  }
  if (overlay) found = getKeyJsonValueFromContainer(overlay, key, strlen(key), &v);
  if (!found && rec) found = getKeyJsonValueFromContainer(rec, key, strlen(key), &v);
  if (!found || found->type == jbvNull) {
    out->type = jbvNull;
    return;
  }
  const char *text;
  int len;
  switch (found->type) {
    case jbvString:
      *out = *found;
      return;
    case jbvNumeric:
      text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(found->val.numeric)));
      len = strlen(text);
      break;
    case jbvBool:
      text = found->val.boolean ? "true" : "false";
      len = strlen(text);
      break;
    default: {  // a nested object or array: its JSON text
      text = JsonbToCString(nullptr, found->val.binary.data, found->val.binary.len);
      len = strlen(text);
      break;
    }
  }
  out->type = jbvString;
  out->val.string.val = const_cast<char *>(text);
  out->val.string.len = len;
}
}  // namespace

void random_uuid(pg_uuid_t *out) {
  if (!pg_strong_random(out->data, UUID_LEN))
    ereport(ERROR, (errmsg("registry_guard audit: could not generate random bytes for a record id")));
  out->data[6] = (out->data[6] & 0x0f) | 0x40;  // version 4
  out->data[8] = (out->data[8] & 0x3f) | 0x80;
}

void record_id(Oid relid, int nkeys, char *const *keys, JsonbContainer *rec, JsonbContainer *overlay,
               pg_uuid_t *out) {
  JsonbParseState *state = nullptr;
  pushJsonbValue(&state, WJB_BEGIN_ARRAY, nullptr);
  // to_jsonb(oid) is a JSON string: jsonb has no numeric category for oid.
  char oidbuf[16];
  snprintf(oidbuf, sizeof oidbuf, "%u", relid);
  JsonbValue v;
  v.type = jbvString;
  v.val.string.val = oidbuf;
  v.val.string.len = strlen(oidbuf);
  pushJsonbValue(&state, WJB_ELEM, &v);
  for (int i = 0; i < nkeys; i++) {
    key_text(rec, overlay, keys[i], &v);
    pushJsonbValue(&state, WJB_ELEM, &v);
  }
  JsonbValue *arr = pushJsonbValue(&state, WJB_END_ARRAY, nullptr);
  Jsonb *jb = JsonbValueToJsonb(arr);
  char *text = JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
  uuid_v5(text, strlen(text), out);
}

}  // namespace rg::audit

// audit.to_record_id(entity_oid oid, pkey_cols text[], rec jsonb) returns uuid
RG_FUNCTION(rg_audit_to_record_id) {
  return rg::pg([&]() -> Datum {
    if (PG_ARGISNULL(2) || PG_ARGISNULL(1) || PG_ARGISNULL(0)) PG_RETURN_NULL();
    Oid relid = PG_GETARG_OID(0);
    ArrayType *cols = PG_GETARG_ARRAYTYPE_P(1);
    Jsonb *rec = PG_GETARG_JSONB_P(2);
    Datum *elems;
    bool *nulls;
    int n;
    deconstruct_array(cols, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
    pg_uuid_t *out = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t)));
    if (n == 0) {
      rg::audit::random_uuid(out);
      PG_RETURN_UUID_P(out);
    }
    char **keys = static_cast<char **>(palloc(sizeof(char *) * n));
    for (int i = 0; i < n; i++) {
      keys[i] = nulls[i] ? nullptr : TextDatumGetCString(elems[i]);
    }
    rg::audit::record_id(relid, n, keys, &rec->root, nullptr, out);
    PG_RETURN_UUID_P(out);
  });
}
