// The audit triggers behind supa_audit's names: audit_i_u_d (row) and audit_t (TRUNCATE).
//
// Per row it builds the jsonb image in C, compares old and new values column by column (an
// UPDATE that changes no tracked column writes nothing), keeps only the old values of the
// changed columns, computes supa_audit's record ids and hands the version to the statement
// buffer (audit_buffer.cpp), which bulk-inserts at statement end.
#include "audit/audit.hpp"
#include "core/pg_guard.hpp"

namespace rg::audit {

namespace {

// What the trigger needs to know about a tracked table; rebuilt after any relcache change.
struct RelEntry {
  Oid relid;  // hash key
  bool valid;
  MemoryContext mcxt;  // owns everything below
  int natts;
  int nkeys;
  char **keys;         // primary key column names in column order
  AttrNumber *key_att; // their attribute numbers
  bool *ignored;       // [natts]: values never stored
  bool has_ignored;
  bool has_client_id;      // a client_id column that is not ignored: images carry the tenant
  FmgrInfo *col_to_jsonb;  // [natts]: to_jsonb() bound to each column's type, set up lazily
  char *kind;              // [natts]: how the image builder converts the column (ColumnKind)
  int *key_order;          // [natts]: column indexes in jsonb key order (length, then bytes)
};

// Column types the image builder converts itself (the same jsonb as to_jsonb, without its
// per-value type lookups and output/input function round trips); others go through to_jsonb.
enum ColumnKind : char { K_OTHER = 0, K_TEXT, K_INT, K_BOOL, K_JSONB, K_TEXT_ARRAY };

char column_kind(Oid type) {
  switch (type) {
    case TEXTOID:
    case VARCHAROID:
      return K_TEXT;
    case INT2OID:
    case INT4OID:
    case INT8OID:
      return K_INT;
    case BOOLOID:
      return K_BOOL;
    case JSONBOID:
      return K_JSONB;
    case TEXTARRAYOID:
      return K_TEXT_ARRAY;
    default:
      return K_OTHER;
  }
}

HTAB *relations = nullptr;
bool relations_invalidated = false;  // some entry is !valid: sweep_relations() has work
uint64 relation_invalidations = 0;   // bumped by every forget_relation()

void bind_to_jsonb(FmgrInfo *f, Oid type, int32 typmod, Oid collation, MemoryContext mcxt) {
  fmgr_info_cxt(F_TO_JSONB, f, mcxt);
  MemoryContext old = MemoryContextSwitchTo(mcxt);
  // to_jsonb(anyelement) reads its argument type from the call expression.
  f->fn_expr = reinterpret_cast<Node *>(makeFuncExpr(F_TO_JSONB, JSONBOID,
                                                     list_make1(makeNullConst(type, typmod, collation)),
                                                     InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL));
  MemoryContextSwitchTo(old);
}

// The table's ignored columns from audit.tracked_table, read as the table's owner. The
// triggers of a partitioned table fire on its partitions: a partition ignores the columns
// listed for it and for every ancestor. No entry at all fails closed (it cannot be known
// which columns are secret).
// Read under the latest snapshot, not the statement's or the transaction's: the result is
// cached beyond this statement (until an invalidation), so a REPEATABLE READ transaction older
// than an audit.set_ignored_columns() must not cache the list it replaced. The invalidation
// set_ignored_columns() sends is processed when the table is locked, before this read;
// set_ignored_columns() itself locks the table against writers, so no writer that already
// holds the table can keep using an older list after it has committed.
ArrayType *read_ignored_columns(Relation rel) {
  Oid relid = RelationGetRelid(rel);
  List *ids = list_make1_oid(relid);
  if (rel->rd_rel->relispartition) ids = list_concat(ids, get_partition_ancestors(relid));
  int nids = list_length(ids);
  Datum *id_datums = static_cast<Datum *>(palloc(sizeof(Datum) * nids));
  for (int i = 0; i < nids; i++) id_datums[i] = ObjectIdGetDatum(list_nth_oid(ids, i));
  ArrayType *id_array = construct_array(id_datums, nids, REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT);
  const Catalog &cat = catalog();
  Oid owner;
  {
    Relation tt = table_open(cat.tracked_table, AccessShareLock);
    owner = tt->rd_rel->relowner;
    table_close(tt, AccessShareLock);
  }
  Oid save_uid;
  int save_sec;
  GetUserIdAndSecContext(&save_uid, &save_sec);
  SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
  MemoryContext caller = CurrentMemoryContext;
  int guc_level = pin_search_path();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "registry_guard audit: SPI_connect failed");
  Oid argtypes[1] = {REGCLASSARRAYOID};
  Datum args[1] = {PointerGetDatum(id_array)};
  SPIPlanPtr plan = SPI_prepare(
      "SELECT pg_catalog.count(*), pg_catalog.array_agg(c) FILTER (WHERE c IS NOT NULL) "
      "FROM audit.tracked_table t LEFT JOIN LATERAL pg_catalog.unnest(t.ignored_columns) c ON true "
      "WHERE t.table_id OPERATOR(pg_catalog.=) ANY ($1)",
      1, argtypes);
  if (!plan) elog(ERROR, "registry_guard audit: preparing the audit.tracked_table query failed");
  Snapshot latest = RegisterSnapshot(GetLatestSnapshot());
  int rc = SPI_execute_snapshot(plan, args, nullptr, latest, InvalidSnapshot, true, false, 1);
  UnregisterSnapshot(latest);
  if (rc != SPI_OK_SELECT || SPI_processed != 1)
    elog(ERROR, "registry_guard audit: reading audit.tracked_table failed (%d)", rc);
  ArrayType *result = nullptr;
  bool isnull;
  bool found = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) > 0;
  {
    Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
    if (!isnull) {
      MemoryContext spi = MemoryContextSwitchTo(caller);
      result = DatumGetArrayTypePCopy(d);
      MemoryContextSwitchTo(spi);
    }
  }
  SPI_finish();
  unpin_search_path(guc_level);
  SetUserIdAndSecContext(save_uid, save_sec);
  if (!found) {
    char *name = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)), RelationGetRelationName(rel));
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("registry_guard audit: table %s has audit triggers but no entry in audit.tracked_table", name),
                    errdetail("Its ignored (secret) columns are unknown, so the change was not made."),
                    errhint("Call audit.enable_tracking('%s') (on the partitioned table, for a partition), or "
                            "audit.disable_tracking('%s').", name, name)));
  }
  return result;
}

// jsonb's key order (lengthCompareJsonbStringValue): shorter names first, then by bytes.
int jsonb_key_order(const void *x, const void *y, void *arg) {
  TupleDesc desc = static_cast<TupleDesc>(arg);
  const char *a = NameStr(TupleDescAttr(desc, *static_cast<const int *>(x))->attname);
  const char *b = NameStr(TupleDescAttr(desc, *static_cast<const int *>(y))->attname);
  size_t la = strlen(a), lb = strlen(b);
  if (la != lb) return la < lb ? -1 : 1;
  return memcmp(a, b, la);
}

RelEntry *relation_entry(Relation rel) {
  if (!relations) {
    HASHCTL ctl;
    memset(&ctl, 0, sizeof ctl);
    ctl.keysize = sizeof(Oid);
    ctl.entrysize = sizeof(RelEntry);
    ctl.hcxt = CacheMemoryContext;
    relations = hash_create("registry_guard audit relations", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
  }
  Oid relid = RelationGetRelid(rel);
  bool found;
  RelEntry *e = static_cast<RelEntry *>(hash_search(relations, &relid, HASH_ENTER, &found));
  if (found && e->valid && e->natts == RelationGetDescr(rel)->natts) return e;
  if (found && e->mcxt) MemoryContextDelete(e->mcxt);
  e->valid = false;
  e->mcxt = nullptr;

  // Read everything that can fail (or process invalidations) before filling the entry.
  uint64 invalidations_before = relation_invalidations;
  ArrayType *ignored_arr = read_ignored_columns(rel);
  TupleDesc desc = RelationGetDescr(rel);
  Bitmapset *pk = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);

  MemoryContext mcxt = AllocSetContextCreate(CacheMemoryContext, "registry_guard audit relation",
                                             ALLOCSET_SMALL_SIZES);
  MemoryContext old = MemoryContextSwitchTo(mcxt);
  int natts = desc->natts;
  int nkeys = bms_num_members(pk);
  char **keys = static_cast<char **>(palloc0(sizeof(char *) * (nkeys + 1)));
  AttrNumber *key_att = static_cast<AttrNumber *>(palloc0(sizeof(AttrNumber) * (nkeys + 1)));
  int k = 0;
  for (int m = -1; (m = bms_next_member(pk, m)) >= 0;) {
    AttrNumber att = m + FirstLowInvalidHeapAttributeNumber;
    key_att[k] = att;
    keys[k] = pstrdup(NameStr(TupleDescAttr(desc, att - 1)->attname));
    k++;
  }
  bool *ignored = static_cast<bool *>(palloc0(sizeof(bool) * (natts + 1)));
  bool has_ignored = false;
  if (ignored_arr && ArrayGetNItems(ARR_NDIM(ignored_arr), ARR_DIMS(ignored_arr)) > 0) {
    Datum *names;
    bool *nulls;
    int n;
    deconstruct_array(ignored_arr, TEXTOID, -1, false, TYPALIGN_INT, &names, &nulls, &n);
    for (int i = 0; i < n; i++) {
      if (nulls[i]) continue;
      char *name = TextDatumGetCString(names[i]);
      int att = -1;
      for (int a = 0; a < natts; a++) {
        Form_pg_attribute fa = TupleDescAttr(desc, a);
        if (!fa->attisdropped && strcmp(NameStr(fa->attname), name) == 0) att = a;
      }
      if (att < 0) {
        MemoryContextSwitchTo(old);
        char *missing = pstrdup(name);  // `name` lives in mcxt, which goes now
        MemoryContextDelete(mcxt);
        // Fail closed: a renamed secret column must not start being stored silently.
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                        errmsg("registry_guard audit: ignored column \"%s\" of table %s no longer exists", missing,
                               RelationGetRelationName(rel)),
                        errhint("Call audit.set_ignored_columns('%s', ...) with the table's current column names.",
                                quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
                                                           RelationGetRelationName(rel)))));
      }
      ignored[att] = true;
      has_ignored = true;
    }
  }
  FmgrInfo *col_to_jsonb = static_cast<FmgrInfo *>(palloc0(sizeof(FmgrInfo) * (natts + 1)));
  char *kind = static_cast<char *>(palloc0(natts + 1));
  for (int a = 0; a < natts; a++) kind[a] = column_kind(TupleDescAttr(desc, a)->atttypid);
  int *key_order = static_cast<int *>(palloc(sizeof(int) * (natts + 1)));
  for (int a = 0; a < natts; a++) key_order[a] = a;
  qsort_arg(key_order, natts, sizeof(int), jsonb_key_order, desc);
  MemoryContextSwitchTo(old);

  e->mcxt = mcxt;
  e->natts = natts;
  e->nkeys = nkeys;
  e->keys = keys;
  e->key_att = key_att;
  e->ignored = ignored;
  e->has_ignored = has_ignored;
  e->col_to_jsonb = col_to_jsonb;
  e->kind = kind;
  e->has_client_id = false;
  for (int a = 0; a < natts; a++) {
    Form_pg_attribute fa = TupleDescAttr(desc, a);
    if (!fa->attisdropped && !ignored[a] && strcmp(NameStr(fa->attname), "client_id") == 0) e->has_client_id = true;
  }
  e->key_order = key_order;
  // An invalidation processed during the read may concern this table (it found the entry
  // already invalid): use the entry for this row, rebuild it for the next.
  e->valid = invalidations_before == relation_invalidations;
  if (!e->valid) relations_invalidated = true;
  return e;
}

bool values_equal(Form_pg_attribute att, Datum a, bool anull, Datum b, bool bnull) {
  if (anull || bnull) return anull && bnull;
  if (datumIsEqual(a, b, att->attbyval, att->attlen)) return true;
  if (att->attlen != -1) return false;
  // Same content, different representation (e.g. toasted vs inline): compare detoasted bytes.
  struct varlena *va = pg_detoast_datum_packed(reinterpret_cast<struct varlena *>(DatumGetPointer(a)));
  struct varlena *vb = pg_detoast_datum_packed(reinterpret_cast<struct varlena *>(DatumGetPointer(b)));
  Size la = VARSIZE_ANY_EXHDR(va), lb = VARSIZE_ANY_EXHDR(vb);
  return la == lb && memcmp(VARDATA_ANY(va), VARDATA_ANY(vb), la) == 0;
}

// The row images are written straight into jsonb's binary format, byte for byte what
// to_jsonb(row) gives (JsonbValueToJsonb's layout: keys in jsonb order, every
// JB_OFFSET_STRIDE'th JEntry an end offset, numerics and containers int-aligned relative to
// the varlena start), without building a JsonbValue tree that is then sorted and converted:
// jsonb columns are copied as they are stored, text arrays become arrays directly.

void pad_to_int(StringInfo b) {
  while (b->len % sizeof(uint32) != 0) appendStringInfoCharMacro(b, '\0');
}

// Reserves n JEntries at the end of the buffer; returns their offset.
int reserve_entries(StringInfo b, int n) {
  enlargeStringInfo(b, static_cast<int>(sizeof(JEntry)) * n);
  int at = b->len;
  memset(b->data + at, 0, sizeof(JEntry) * n);
  b->len += sizeof(JEntry) * n;
  b->data[b->len] = '\0';
  return at;
}

void check_length(Size total) {
  if (total > JENTRY_OFFLENMASK)
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("total size of jsonb object elements exceeds the maximum of %d bytes", JENTRY_OFFLENMASK)));
}

// Stores the JEntry of child i (of a container whose JEntries start at `at`), converting every
// JB_OFFSET_STRIDE'th length into the end offset `total` as convertJsonbObject/Array do.
void set_entry(StringInfo b, int at, int i, JEntry meta, uint32 total) {
  if (i % JB_OFFSET_STRIDE == 0) meta = (meta & JENTRY_TYPEMASK) | total | JENTRY_HAS_OFF;
  memcpy(b->data + at + sizeof(JEntry) * i, &meta, sizeof(JEntry));
}

JEntry write_string(StringInfo b, const char *s, Size len) {
  check_length(len);
  appendBinaryStringInfo(b, s, static_cast<int>(len));
  return JENTRY_ISSTRING | static_cast<uint32>(len);
}

JEntry write_text(StringInfo b, Datum d) {
  struct varlena *v = pg_detoast_datum_packed(reinterpret_cast<struct varlena *>(DatumGetPointer(d)));
  return write_string(b, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
}

JEntry write_numeric(StringInfo b, Numeric n) {
  int before = b->len;
  pad_to_int(b);
  Size numlen = VARSIZE_ANY(n);
  appendBinaryStringInfo(b, reinterpret_cast<const char *>(n), static_cast<int>(numlen));
  return JENTRY_ISNUMERIC | static_cast<uint32>(b->len - before);
}

JEntry write_scalar(StringInfo b, const JsonbValue &v) {
  switch (v.type) {
    case jbvNull:
      return JENTRY_ISNULL;
    case jbvString:
      return write_string(b, v.val.string.val, v.val.string.len);
    case jbvNumeric:
      return write_numeric(b, v.val.numeric);
    case jbvBool:
      return v.val.boolean ? JENTRY_ISBOOL_TRUE : JENTRY_ISBOOL_FALSE;
    default:
      elog(ERROR, "registry_guard audit: unexpected jsonb scalar type %d", static_cast<int>(v.type));
  }
  return JENTRY_ISNULL;
}

// A jsonb value as a child: a scalar root as the scalar, a container copied as stored (its
// internal padding is relative to its own int-aligned start, so it stays valid at any
// int-aligned offset).
JEntry write_jsonb(StringInfo b, Jsonb *j) {
  if (JB_ROOT_IS_SCALAR(j)) {
    JsonbValue v;
    JsonbExtractScalar(&j->root, &v);
    return write_scalar(b, v);
  }
  int before = b->len;
  pad_to_int(b);
  appendBinaryStringInfo(b, reinterpret_cast<const char *>(&j->root), static_cast<int>(VARSIZE(j) - VARHDRSZ));
  check_length(b->len - before);
  return JENTRY_ISCONTAINER | static_cast<uint32>(b->len - before);
}

// A one-dimensional text[] as a jsonb array (what to_jsonb makes of it).
JEntry write_text_array(StringInfo b, ArrayType *arr) {
  Datum *elems;
  bool *nulls;
  int n;
  deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
  int before = b->len;
  pad_to_int(b);
  uint32 header = static_cast<uint32>(n) | JB_FARRAY;
  appendBinaryStringInfo(b, reinterpret_cast<const char *>(&header), sizeof header);
  int at = reserve_entries(b, n);
  uint32 total = 0;
  for (int k = 0; k < n; k++) {
    JEntry meta = nulls[k] ? JENTRY_ISNULL : write_text(b, elems[k]);
    total += JBE_OFFLENFLD(meta);
    check_length(total);
    set_entry(b, at, k, meta, total);
  }
  pfree(elems);
  pfree(nulls);
  return JENTRY_ISCONTAINER | static_cast<uint32>(b->len - before);
}

// One column value as a child.
JEntry write_column(StringInfo b, RelEntry *e, Form_pg_attribute att, int i, Datum d, bool isnull) {
  if (isnull) return JENTRY_ISNULL;
  switch (e->kind[i]) {
    case K_TEXT:
      return write_text(b, d);
    case K_INT: {
      int64 v = att->atttypid == INT2OID ? DatumGetInt16(d) : att->atttypid == INT4OID ? DatumGetInt32(d)
                                                                                     : DatumGetInt64(d);
      Numeric n = int64_to_numeric(v);
      JEntry meta = write_numeric(b, n);
      pfree(n);
      return meta;
    }
    case K_BOOL:
      return DatumGetBool(d) ? JENTRY_ISBOOL_TRUE : JENTRY_ISBOOL_FALSE;
    case K_JSONB: {
      // Stored inline with a short header (most small values): the container is copied from
      // where it lies, without first copying the datum to an aligned 4-byte-header one.
      struct varlena *packed = pg_detoast_datum_packed(reinterpret_cast<struct varlena *>(DatumGetPointer(d)));
      uint32 header;
      memcpy(&header, VARDATA_ANY(packed), sizeof header);
      if (!VARATT_IS_SHORT(packed)) return write_jsonb(b, reinterpret_cast<Jsonb *>(packed));
      if (header & JB_FSCALAR) return write_jsonb(b, DatumGetJsonbP(PointerGetDatum(packed)));
      int before = b->len;
      pad_to_int(b);
      appendBinaryStringInfo(b, VARDATA_ANY(packed), static_cast<int>(VARSIZE_ANY_EXHDR(packed)));
      check_length(b->len - before);
      return JENTRY_ISCONTAINER | static_cast<uint32>(b->len - before);
    }
    case K_TEXT_ARRAY: {
      ArrayType *arr = DatumGetArrayTypeP(d);
      if (ARR_NDIM(arr) <= 1) return write_text_array(b, arr);
      break;  // multi-dimensional: to_jsonb nests them
    }
    default:
      break;
  }
  FmgrInfo *f = &e->col_to_jsonb[i];
  if (f->fn_oid == InvalidOid) bind_to_jsonb(f, att->atttypid, att->atttypmod, att->attcollation, e->mcxt);
  return write_jsonb(b, DatumGetJsonbP(FunctionCall1Coll(f, InvalidOid, d)));
}

// The row as a jsonb object equal to to_jsonb(row) minus the ignored columns, limited to the
// columns with only[i] when `only` is given (the old values of an UPDATE's changed columns).
Jsonb *row_object(RelEntry *e, TupleDesc desc, const Datum *values, const bool *nulls, const bool *only) {
  int *cols = static_cast<int *>(palloc(sizeof(int) * (e->natts + 1)));
  int n = 0;
  for (int k = 0; k < e->natts; k++) {
    int i = e->key_order[k];
    if (TupleDescAttr(desc, i)->attisdropped || e->ignored[i] || (only && !only[i])) continue;
    cols[n++] = i;
  }
  StringInfoData b;
  initStringInfo(&b);
  appendStringInfoSpaces(&b, VARHDRSZ);  // the varlena header, set below
  uint32 header = static_cast<uint32>(n) | JB_FOBJECT;
  appendBinaryStringInfo(&b, reinterpret_cast<const char *>(&header), sizeof header);
  int at = reserve_entries(&b, 2 * n);
  uint32 total = 0;
  for (int k = 0; k < n; k++) {
    const char *name = NameStr(TupleDescAttr(desc, cols[k])->attname);
    JEntry meta = write_string(&b, name, strlen(name));
    total += JBE_OFFLENFLD(meta);
    set_entry(&b, at, k, meta, total);
  }
  for (int k = 0; k < n; k++) {
    int i = cols[k];
    JEntry meta = write_column(&b, e, TupleDescAttr(desc, i), i, values[i], nulls[i]);
    total += JBE_OFFLENFLD(meta);
    check_length(total);
    set_entry(&b, at, k + n, meta, total);
  }
  pfree(cols);
  Jsonb *result = reinterpret_cast<Jsonb *>(b.data);
  SET_VARSIZE(result, b.len);
  return result;
}

// The row as jsonb, equal to to_jsonb(row) minus the ignored columns. `values`/`nulls` may be
// the already deformed tuple.
Jsonb *row_image(RelEntry *e, TupleDesc desc, HeapTuple tuple, Datum *values, bool *nulls) {
  int natts = desc->natts;
  if (!values) {
    values = static_cast<Datum *>(palloc(sizeof(Datum) * natts));
    nulls = static_cast<bool *>(palloc(sizeof(bool) * natts));
    heap_deform_tuple(tuple, desc, values, nulls);
  }
  return row_object(e, desc, values, nulls, nullptr);
}

Datum row_trigger(FunctionCallInfo fcinfo) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("audit.insert_update_delete_trigger() must be called as a trigger")));
  TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
  if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("audit.insert_update_delete_trigger() must be an AFTER ... FOR EACH ROW trigger"),
                    errhint("Use audit.enable_tracking(table) to create the audit triggers.")));
  Relation rel = td->tg_relation;
  RelEntry *e = relation_entry(rel);
  if (e->nkeys == 0)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("Table %s can not be audited because it has no primary key",
                           RelationGetRelationName(rel)),
                    errhint("Add a primary key, or call audit.disable_tracking() on the table.")));
  Oid relid = RelationGetRelid(rel);
  PendingVersion v;
  memset(&v, 0, sizeof v);

  if (TRIGGER_FIRED_BY_INSERT(td->tg_event)) {
    v.op = OP_INSERT;
    v.image = row_image(e, RelationGetDescr(rel), td->tg_trigtuple, nullptr, nullptr);
    record_id(relid, e->nkeys, e->keys, &v.image->root, nullptr, &v.record_id);
    v.has_record_id = true;
  } else if (TRIGGER_FIRED_BY_DELETE(td->tg_event)) {
    v.op = OP_DELETE;
    v.image = row_image(e, RelationGetDescr(rel), td->tg_trigtuple, nullptr, nullptr);
    record_id(relid, e->nkeys, e->keys, &v.image->root, nullptr, &v.old_record_id);
    v.has_old_record_id = true;
  } else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event)) {
    v.op = OP_UPDATE;
    TupleDesc desc = RelationGetDescr(rel);
    int natts = desc->natts;
    Datum *ov = static_cast<Datum *>(palloc(sizeof(Datum) * natts));
    Datum *nv = static_cast<Datum *>(palloc(sizeof(Datum) * natts));
    bool *on = static_cast<bool *>(palloc(sizeof(bool) * natts));
    bool *nn = static_cast<bool *>(palloc(sizeof(bool) * natts));
    heap_deform_tuple(td->tg_trigtuple, desc, ov, on);
    heap_deform_tuple(td->tg_newtuple, desc, nv, nn);
    bool *changed = static_cast<bool *>(palloc0(sizeof(bool) * natts));
    int nchanged = 0;
    bool key_changed = false;
    for (int i = 0; i < natts; i++) {
      Form_pg_attribute att = TupleDescAttr(desc, i);
      if (att->attisdropped || e->ignored[i]) continue;
      if (values_equal(att, ov[i], on[i], nv[i], nn[i])) continue;
      changed[i] = true;
      nchanged++;
      for (int k = 0; k < e->nkeys; k++)
        if (e->key_att[k] == i + 1) key_changed = true;
    }
    if (nchanged == 0) return PointerGetDatum(nullptr);  // nothing tracked changed: no version
    v.old_delta = row_object(e, desc, ov, on, changed);
    v.image = row_image(e, desc, td->tg_newtuple, nv, nn);
    record_id(relid, e->nkeys, e->keys, &v.image->root, nullptr, &v.record_id);
    v.has_record_id = v.has_old_record_id = true;
    if (key_changed)
      record_id(relid, e->nkeys, e->keys, &v.image->root, &v.old_delta->root, &v.old_record_id);
    else
      v.old_record_id = v.record_id;
  } else {
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("audit.insert_update_delete_trigger() fired for an unexpected event")));
  }
  v.has_tenant = e->has_client_id;
  v.context_id = context_id(rel);
  buffer_add(v);
  return PointerGetDatum(nullptr);
}

Datum truncate_trigger(FunctionCallInfo fcinfo) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("audit.truncate_trigger() must be called as a trigger")));
  TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
  if (!TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("audit.truncate_trigger() must be an AFTER TRUNCATE trigger")));
  PendingVersion v;
  memset(&v, 0, sizeof v);
  v.op = OP_TRUNCATE;
  v.context_id = context_id(td->tg_relation);
  buffer_add(v);
  return PointerGetDatum(nullptr);
}

}  // namespace

void forget_relation(Oid relid) {
  relation_invalidations++;
  if (!relations) return;
  relations_invalidated = true;
  if (relid == InvalidOid) {
    HASH_SEQ_STATUS s;
    hash_seq_init(&s, relations);
    for (RelEntry *e; (e = static_cast<RelEntry *>(hash_seq_search(&s)));) e->valid = false;
    return;
  }
  RelEntry *e = static_cast<RelEntry *>(hash_search(relations, &relid, HASH_FIND, nullptr));
  if (e) e->valid = false;  // rebuilt (and its memory freed) on next use, never under a caller
}

// At transaction end, when no trigger can be using an entry: frees the invalidated ones (those
// of dropped tables would otherwise never be used, nor freed, again).
void sweep_relations() {
  if (!relations || !relations_invalidated) return;
  relations_invalidated = false;
  HASH_SEQ_STATUS s;
  hash_seq_init(&s, relations);
  for (RelEntry *e; (e = static_cast<RelEntry *>(hash_seq_search(&s)));) {
    if (e->valid) continue;
    if (e->mcxt) MemoryContextDelete(e->mcxt);
    hash_search(relations, &e->relid, HASH_REMOVE, nullptr);
  }
}

}  // namespace rg::audit

RG_FUNCTION(rg_audit_row_trigger) {
  return rg::pg([&] { return rg::audit::row_trigger(fcinfo); });
}

RG_FUNCTION(rg_audit_truncate_trigger) {
  return rg::pg([&] { return rg::audit::truncate_trigger(fcinfo); });
}

// audit.invalidate_table_settings(regclass): every backend re-reads the table's settings,
// and those of its partitions (which read their ancestors' ignore lists).
RG_FUNCTION(rg_audit_invalidate_table_settings) {
  return rg::pg([&] {
    Oid relid = PG_GETARG_OID(0);
    List *rels = find_all_inheritors(relid, NoLock, nullptr);
    ListCell *lc;
    foreach (lc, rels) CacheInvalidateRelcacheByRelid(lfirst_oid(lc));
    PG_RETURN_VOID();
  });
}
