// Record ids compatible with supa_audit 0.3.1 (UUID v5 over table oid + key values) and
// audit.to_record_id(). SHA-1 is computed here, so uuid-ossp is not needed.
#include "audit/audit.hpp"
#include "core/pg_guard.hpp"

namespace rg::audit {

namespace {
// supa_audit's namespace UUID fd62bc3d-8d6e-43c2-919c-802ba3762271.
const uint8 kNamespace[16] = {0xfd, 0x62, 0xbc, 0x3d, 0x8d, 0x6e, 0x43, 0xc2,
                              0x91, 0x9c, 0x80, 0x2b, 0xa3, 0x76, 0x22, 0x71};

// SHA-1 (FIPS 180-4), computed here: through OpenSSL 3 every digest re-fetches the algorithm,
// which costs more than the hash itself on the single-row path.
struct Sha1 {
  uint32 h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
  uint8 block[64];
  size_t used = 0;
  uint64 total = 0;

  static uint32 rol(uint32 x, int n) { return (x << n) | (x >> (32 - n)); }
  // One 64-byte block. The message schedule is kept in a 16-word ring and each group of 20
  // rounds has its own loop (no per-round branch): this runs once per audited row.
  void compress(const uint8 *p) {
    uint32 w[16];
    for (int i = 0; i < 16; i++)
      w[i] = (uint32)p[4 * i] << 24 | (uint32)p[4 * i + 1] << 16 | (uint32)p[4 * i + 2] << 8 | p[4 * i + 3];
    uint32 a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    auto next = [&w](int i) {
      uint32 x = rol(w[(i + 13) & 15] ^ w[(i + 8) & 15] ^ w[(i + 2) & 15] ^ w[i & 15], 1);
      w[i & 15] = x;
      return x;
    };
    auto step = [&](uint32 f, uint32 k, uint32 wi) {
      uint32 t = rol(a, 5) + f + e + k + wi;
      e = d; d = c; c = rol(b, 30); b = a; a = t;
    };
    for (int i = 0; i < 16; i++) step((b & c) | (~b & d), 0x5A827999u, w[i]);
    for (int i = 16; i < 20; i++) step((b & c) | (~b & d), 0x5A827999u, next(i));
    for (int i = 20; i < 40; i++) step(b ^ c ^ d, 0x6ED9EBA1u, next(i));
    for (int i = 40; i < 60; i++) step((b & c) | (b & d) | (c & d), 0x8F1BBCDCu, next(i));
    for (int i = 60; i < 80; i++) step(b ^ c ^ d, 0xCA62C1D6u, next(i));
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
  }
  void update(const uint8 *p, size_t n) {
    total += n;
    while (n > 0) {
      size_t take = Min(n, sizeof block - used);
      memcpy(block + used, p, take);
      used += take; p += take; n -= take;
      if (used == sizeof block) { compress(block); used = 0; }
    }
  }
  void final(uint8 out[20]) {
    uint64 bits = total * 8;
    block[used++] = 0x80;
    if (used > 56) {
      memset(block + used, 0, sizeof block - used);
      compress(block);
      used = 0;
    }
    memset(block + used, 0, 56 - used);
    for (int i = 0; i < 8; i++) block[56 + i] = (uint8)(bits >> (56 - 8 * i));
    compress(block);
    for (int i = 0; i < 5; i++)
      for (int j = 0; j < 4; j++) out[4 * i + j] = (uint8)(h[i] >> (24 - 8 * j));
  }
};

void uuid_v5(const char *name, size_t len, pg_uuid_t *out) {
  uint8 digest[20];
  Sha1 sha;
  sha.update(kNamespace, sizeof kNamespace);
  sha.update(reinterpret_cast<const uint8 *>(name), len);
  sha.final(digest);
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
// Appends `s` (len bytes, no NUL inside: jsonb strings cannot hold one) as escape_json does.
void append_json_string(StringInfo out, const char *s, int len) {
  for (int i = 0; i < len; i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < ' ' || c == '"' || c == '\\') {
      escape_json(out, pnstrdup(s, len));  // the rare string that needs escaping
      return;
    }
  }
  appendStringInfoCharMacro(out, '"');
  appendBinaryStringInfo(out, s, len);
  appendStringInfoCharMacro(out, '"');
}

}  // namespace

void random_uuid(pg_uuid_t *out) {
  if (!pg_strong_random(out->data, UUID_LEN))
    ereport(ERROR, (errmsg("registry_guard audit: could not generate random bytes for a record id")));
  out->data[6] = (out->data[6] & 0x0f) | 0x40;  // version 4
  out->data[8] = (out->data[8] & 0x3f) | 0x80;
}

// The name hashed is the text of the jsonb array [oid as a string, key values as text], exactly
// as jsonb_out prints it (elements separated by ", "); written here without building the jsonb.
void record_id(Oid relid, int nkeys, char *const *keys, JsonbContainer *rec, JsonbContainer *overlay,
               pg_uuid_t *out) {
  // One buffer for the backend (reset per call; it keeps the size of the longest key seen).
  static StringInfo text = nullptr;
  if (!text) {
    MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
    text = makeStringInfo();
    MemoryContextSwitchTo(old);
  }
  resetStringInfo(text);
  // to_jsonb(oid) is a JSON string: jsonb has no numeric category for oid.
  char oidbuf[16];
  int oidlen = pg_ultoa_n(relid, oidbuf);
  appendBinaryStringInfo(text, "[\"", 2);
  appendBinaryStringInfo(text, oidbuf, oidlen);
  appendStringInfoCharMacro(text, '"');
  for (int i = 0; i < nkeys; i++) {
    JsonbValue v;
    key_text(rec, overlay, keys[i], &v);
    appendBinaryStringInfo(text, ", ", 2);
    if (v.type == jbvNull) appendBinaryStringInfo(text, "null", 4);
    else append_json_string(text, v.val.string.val, v.val.string.len);
  }
  appendStringInfoCharMacro(text, ']');
  uuid_v5(text->data, text->len, out);
  if (text->maxlen > 65536) {  // do not keep a huge key's buffer for the backend's lifetime
    pfree(text->data);
    pfree(text);
    text = nullptr;
  }
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
