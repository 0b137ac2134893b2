// The statement buffer of the audit trail: versions collected by the row trigger are written
// to audit.version_log in bulk (table_multi_insert + index inserts, as COPY does) when the
// statement ends (ExecutorFinish, or ExecutorEnd for the statement during which the library
// was loaded), before the next one starts, when the buffer is full and at commit. Buffered
// versions of an aborted (sub)transaction are discarded, never written.
//
// A version belongs to the subtransaction that buffered it: it is written only while that
// subtransaction (or one of its committed children) is current. Written from inside a later
// subtransaction, its row would carry that subtransaction's xid and vanish with its rollback
// (an EXCEPTION block of a function or of an AFTER trigger) although the outer transaction,
// whose change it records, commits. Versions of ancestors stay buffered until control is
// back in them (at the latest at commit).
// Also: the catalog lookups of the extension's own objects and the invalidation hooks.
#include <algorithm>

#include "audit/audit.hpp"
#include "core/pg_guard.hpp"

namespace rg::audit {

uint64 statement_generation = 1;

namespace {

constexpr int kBatch = 1000;             // versions per multi-insert
constexpr int kSortChunk = kBatch * 8;   // versions whose index entries are sorted together
constexpr Size kMaxBufferBytes = 8 << 20;  // flush early above this much jsonb

struct Buffered {
  PendingVersion v;
  SubTransactionId subid;
};

MemoryContext buffer_mcxt = nullptr;  // child of TopTransactionContext
Buffered *buffer = nullptr;
int buffered = 0, capacity = 0;
Size buffered_bytes = 0;
// The first `held` entries belong to subtransactions enclosing the one current at the last
// flush (kept, not written): buffer_add() counts only the entries after them.
int held = 0;
Size held_bytes = 0;
bool flushing = false;

Catalog cat;
bool cat_valid = false;

ExecutorStart_hook_type prev_executor_start = nullptr;
ExecutorFinish_hook_type prev_executor_finish = nullptr;
ExecutorEnd_hook_type prev_executor_end = nullptr;
ProcessUtility_hook_type prev_process_utility = nullptr;

Oid enum_label(Oid type, const char *label) {
  Oid oid = GetSysCacheOid2(ENUMTYPOIDNAME, Anum_pg_enum_oid, ObjectIdGetDatum(type), CStringGetDatum(label));
  if (!OidIsValid(oid)) elog(ERROR, "registry_guard audit: audit.operation has no label %s", label);
  return oid;
}

Oid audit_relation(Oid schema, const char *name) {
  Oid oid = get_relname_relid(name, schema);
  if (!OidIsValid(oid))
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("registry_guard audit: audit.%s is missing", name),
                    errhint("Restore the table from a backup (pg_dump includes the audit tables). Do not reinstall "
                            "the extension: DROP EXTENSION would destroy the audit trail.")));
  return oid;
}

Size version_bytes(const PendingVersion &v) {
  return (v.image ? VARSIZE(v.image) : 0) + (v.old_delta ? VARSIZE(v.old_delta) : 0);
}

// Drops the versions of subtransaction from_subid and of its children (higher ids): with it
// still open, every subtransaction started after it is its descendant.
void discard(SubTransactionId from_subid) {
  int kept = 0;
  for (int i = 0; i < buffered; i++)
    if (buffer[i].subid < from_subid) buffer[kept++] = buffer[i];
  buffered = kept;
  buffered_bytes = 0;
  for (int i = 0; i < buffered; i++) buffered_bytes += version_bytes(buffer[i].v);
  held = Min(held, buffered);
  held_bytes = Min(held_bytes, buffered_bytes);
}

void reset_buffer() {
  // The memory belongs to the (ending) transaction and goes with it.
  buffer_mcxt = nullptr;
  buffer = nullptr;
  buffered = capacity = 0;
  buffered_bytes = 0;
  held = 0;
  held_bytes = 0;
  flushing = false;
}

// A non-string JSON scalar (a numeric or boolean tenant key) as its text.
text *jsonb_value_as_text(const JsonbValue &v) {
  if (v.type == jbvNumeric)
    return cstring_to_text(DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric))));
  if (v.type == jbvBool) return cstring_to_text(v.val.boolean ? "true" : "false");
  return cstring_to_text(JsonbToCString(nullptr, v.val.binary.data, v.val.binary.len));
}

// Sort key of a version's index entries: its record_id as two big-endian words (the order of
// uuid_cmp, i.e. memcmp), versions without one last.
struct IndexOrder {
  bool missing;
  uint64 hi, lo;
  int at;
};

uint64 big_endian_word(const unsigned char *p) {
  uint64 v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

// The version_log row of `v` with id `id` into slot (virtual, not yet stored).
void fill_slot(TupleTableSlot *slot, const PendingVersion &v, int64 id, TimestampTz ts, int64 txid) {
  const Catalog &c = catalog();
  ExecClearTuple(slot);
  Datum *values = slot->tts_values;
  bool *isnull = slot->tts_isnull;
  values[0] = Int64GetDatum(id);
  isnull[0] = false;
  values[1] = ObjectIdGetDatum(c.op_enum[v.op]);
  isnull[1] = false;
  values[2] = TimestampTzGetDatum(ts);
  isnull[2] = false;
  values[3] = Int64GetDatum(v.context_id);
  isnull[3] = false;
  values[4] = Int64GetDatum(txid);
  isnull[4] = false;
  values[5] = UUIDPGetDatum(const_cast<pg_uuid_t *>(&v.record_id));
  isnull[5] = !v.has_record_id;
  values[6] = UUIDPGetDatum(const_cast<pg_uuid_t *>(&v.old_record_id));
  isnull[6] = !v.has_old_record_id;
  values[7] = JsonbPGetDatum(v.image);
  isnull[7] = v.image == nullptr;
  values[8] = JsonbPGetDatum(v.old_delta);
  isnull[8] = v.old_delta == nullptr;
  // client_id (0.2.0; a database still on 0.1.0 has 9 columns): the tenant of the row image
  // (the new row; the old one for DELETE) when the table has a client_id column.
  if (slot->tts_tupleDescriptor->natts > 9) {
    isnull[9] = true;
    JsonbValue tenant;
    if (v.has_tenant && v.image && getKeyJsonValueFromContainer(&v.image->root, "client_id", 9, &tenant)) {
      if (tenant.type == jbvString) {
        values[9] = PointerGetDatum(cstring_to_text_with_len(tenant.val.string.val, tenant.val.string.len));
        isnull[9] = false;
      } else if (tenant.type != jbvNull) {
        text *t = jsonb_value_as_text(tenant);
        values[9] = PointerGetDatum(t);
        isnull[9] = false;
      }
    }
  }
  ExecStoreVirtualTuple(slot);
}

// Writes the n versions at `batch` to the table (one multi-insert through slots[0..n)); their
// ids and heap tids go to ids[0..n) / tids[0..n) for the index entries.
void write_batch(Relation rel, TupleTableSlot **slots, int n, Buffered *batch, TimestampTz ts, int64 txid,
                 int64 *ids, ItemPointerData *tids) {
  const Catalog &c = catalog();
  for (int i = 0; i < n; i++) {
    ids[i] = nextval_internal(c.id_seq, false);
    fill_slot(slots[i], batch[i].v, ids[i], ts, txid);
  }
  table_multi_insert(rel, slots, n, GetCurrentCommandId(true), 0, nullptr);
  for (int i = 0; i < n; i++) tids[i] = slots[i]->tts_tid;
}

// Index entries for the n written versions at `chunk`, in record_id order: consecutive inserts
// then mostly hit the same leaf pages of the (random-uuid) record_id index instead of a cold
// page each. Only the index entries are sorted; the ids follow the order of the changes.
void index_chunk(ResultRelInfo *rri, EState *estate, TupleTableSlot *slot, int n, Buffered *chunk, TimestampTz ts,
                 int64 txid, const int64 *ids, const ItemPointerData *tids) {
  IndexOrder *order = static_cast<IndexOrder *>(palloc(sizeof(IndexOrder) * n));
  for (int i = 0; i < n; i++) {
    const PendingVersion &v = chunk[i].v;
    order[i].missing = !v.has_record_id;
    order[i].hi = v.has_record_id ? big_endian_word(v.record_id.data) : 0;
    order[i].lo = v.has_record_id ? big_endian_word(v.record_id.data + 8) : 0;
    order[i].at = i;
  }
  std::sort(order, order + n, [](const IndexOrder &x, const IndexOrder &y) {
    if (x.missing != y.missing) return y.missing;
    if (x.hi != y.hi) return x.hi < y.hi;
    return x.lo < y.lo;
  });
  for (int k = 0; k < n; k++) {
    int i = order[k].at;
    ResetPerTupleExprContext(estate);
    MemoryContext old = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
    fill_slot(slot, chunk[i].v, ids[i], ts, txid);
    slot->tts_tid = tids[i];
    MemoryContextSwitchTo(old);
    List *recheck = ExecInsertIndexTuples(rri, slot, estate, false, false, nullptr, NIL);
    list_free(recheck);
  }
  pfree(order);
}

void executor_start(QueryDesc *qd, int eflags) {
  statement_generation++;
  buffer_flush();
  if (prev_executor_start) prev_executor_start(qd, eflags);
  else standard_ExecutorStart(qd, eflags);
}

void executor_finish(QueryDesc *qd) {
  if (prev_executor_finish) prev_executor_finish(qd);
  else standard_ExecutorFinish(qd);
  // The statement's AFTER ROW triggers have all fired (AfterTriggerEndQuery) by now.
  buffer_flush();
  statement_generation++;
}

// Only needed for the statement during which the library was loaded (by its first audited
// trigger call): ExecutorFinish had already been entered without our hook. Otherwise a no-op.
void executor_end(QueryDesc *qd) {
  buffer_flush();
  if (prev_executor_end) prev_executor_end(qd);
  else standard_ExecutorEnd(qd);
}

void process_utility(PlannedStmt *pstmt, const char *query, bool read_only_tree, ProcessUtilityContext context,
                     ParamListInfo params, QueryEnvironment *env, DestReceiver *dest, QueryCompletion *qc) {
  statement_generation++;  // SET request.jwt.claims, COPY, ...: a new actor may be in effect
  if (prev_process_utility)
    prev_process_utility(pstmt, query, read_only_tree, context, params, env, dest, qc);
  else
    standard_ProcessUtility(pstmt, query, read_only_tree, context, params, env, dest, qc);
  // TRUNCATE and COPY FROM fire their triggers without ExecutorFinish: write them now, so that
  // the next statement's snapshot sees them.
  buffer_flush();
  statement_generation++;
}

void xact_callback(XactEvent event, void *) {
  switch (event) {
    case XACT_EVENT_PRE_COMMIT:
    case XACT_EVENT_PARALLEL_PRE_COMMIT:
    case XACT_EVENT_PRE_PREPARE:
      // e.g. after COPY FROM, whose triggers end without ExecutorFinish.
      buffer_flush();
      break;
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_PARALLEL_COMMIT:
      reset_buffer();
      contexts_at_xact_end(true);
      sweep_relations();
      break;
    case XACT_EVENT_PREPARE:
      // Not committed yet: COMMIT PREPARED or ROLLBACK PREPARED decides (possibly in another
      // session), so the contexts this transaction inserted are not reused from the cache.
      reset_buffer();
      contexts_at_xact_end(false);
      sweep_relations();
      break;
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
      reset_buffer();
      contexts_at_xact_end(false);
      sweep_relations();
      break;
  }
  statement_generation++;
}

void subxact_callback(SubXactEvent event, SubTransactionId my_subid, SubTransactionId, void *) {
  // Another subtransaction is current now: which buffered versions are its own is worked out
  // again at the next flush.
  held = 0;
  held_bytes = 0;
  if (event == SUBXACT_EVENT_ABORT_SUB) {
    discard(my_subid);  // its versions and those of its children (higher ids)
    flushing = false;
    contexts_at_xact_end(false);
  }
  statement_generation++;
}

void relcache_callback(Datum, Oid relid) {
  if (relid == InvalidOid || (cat_valid && (relid == cat.version_log || relid == cat.change_context ||
                                            relid == cat.tracked_table))) {
    cat_valid = false;  // e.g. DROP EXTENSION: every cached id is stale
    invalidate_contexts();
  }
  forget_relation(relid);
}

}  // namespace

const Catalog &catalog() {
  if (cat_valid) return cat;
  Oid schema = get_namespace_oid("audit", true);
  if (!OidIsValid(schema))
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_SCHEMA), errmsg("registry_guard audit: schema \"audit\" does not exist"),
                    errhint("CREATE EXTENSION registry_guard installs it.")));
  Catalog c;
  c.schema = schema;
  c.version_log = audit_relation(schema, "version_log");
  c.change_context = audit_relation(schema, "change_context");
  c.tracked_table = audit_relation(schema, "tracked_table");
  c.id_seq = audit_relation(schema, "record_version_id_seq");
  Oid type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("operation"), ObjectIdGetDatum(schema));
  if (!OidIsValid(type)) elog(ERROR, "registry_guard audit: type audit.operation is missing");
  const char *labels[4] = {"INSERT", "UPDATE", "DELETE", "TRUNCATE"};
  for (int i = 0; i < 4; i++) c.op_enum[i] = enum_label(type, labels[i]);
  cat = c;
  cat_valid = true;
  return cat;
}

void buffer_add(const PendingVersion &v) {
  if (!buffer_mcxt) {
    buffer_mcxt = AllocSetContextCreate(TopTransactionContext, "registry_guard audit buffer", ALLOCSET_DEFAULT_SIZES);
  }
  if (buffered == capacity) {
    int cap = capacity ? capacity * 2 : 256;
    buffer = static_cast<Buffered *>(buffer ? repalloc(buffer, sizeof(Buffered) * cap)
                                            : MemoryContextAlloc(buffer_mcxt, sizeof(Buffered) * cap));
    capacity = cap;
  }
  Buffered &b = buffer[buffered];
  b.v = v;
  b.subid = GetCurrentSubTransactionId();
  // The trigger's memory is reset after each row: keep copies.
  if (v.image) {
    b.v.image = static_cast<Jsonb *>(MemoryContextAlloc(buffer_mcxt, VARSIZE(v.image)));
    memcpy(b.v.image, v.image, VARSIZE(v.image));
    buffered_bytes += VARSIZE(v.image);
  }
  if (v.old_delta) {
    b.v.old_delta = static_cast<Jsonb *>(MemoryContextAlloc(buffer_mcxt, VARSIZE(v.old_delta)));
    memcpy(b.v.old_delta, v.old_delta, VARSIZE(v.old_delta));
    buffered_bytes += VARSIZE(v.old_delta);
  }
  buffered++;
  if (buffered - held >= kBatch * 8 || buffered_bytes - held_bytes >= kMaxBufferBytes) buffer_flush();
}

void buffer_flush() {
  if (buffered == held || flushing || !IsTransactionState()) return;
  // This subtransaction's versions (and those of its committed children) come after the ones
  // of enclosing subtransactions: move them to the end, in their order, and write only them.
  SubTransactionId current = GetCurrentSubTransactionId();
  int first_mine = 0;
  {
    int n_theirs = 0;
    for (int i = 0; i < buffered; i++)
      if (buffer[i].subid < current) n_theirs++;
    if (n_theirs == buffered) {
      held = buffered;
      held_bytes = buffered_bytes;
      return;
    }
    if (n_theirs > 0) {
      Buffered *sorted = static_cast<Buffered *>(MemoryContextAlloc(buffer_mcxt, sizeof(Buffered) * capacity));
      int a = 0, b = n_theirs;
      for (int i = 0; i < buffered; i++) sorted[buffer[i].subid < current ? a++ : b++] = buffer[i];
      pfree(buffer);
      buffer = sorted;
    }
    first_mine = n_theirs;
  }
  flushing = true;
  const Catalog &c = catalog();
  Relation rel = table_open(c.version_log, RowExclusiveLock);
  TupleDesc desc = RelationGetDescr(rel);
  // 9 columns on 0.1.0, 10 (client_id) from 0.2.0 on.
  if (desc->natts != 9 && (desc->natts != 10 || strcmp(NameStr(TupleDescAttr(desc, 9)->attname), "client_id") != 0 ||
                           TupleDescAttr(desc, 9)->atttypid != TEXTOID))
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("registry_guard audit: audit.version_log has been altered (%d columns, expected 10)",
                           desc->natts),
                    errhint("Restore the extension's table definition; versions cannot be written.")));
  ResultRelInfo *rri = makeNode(ResultRelInfo);
  InitResultRelInfo(rri, rel, 1, nullptr, 0);
  ExecOpenIndices(rri, false);
  EState *estate = CreateExecutorState();
  // Slots over a copy of the descriptor: not reference-counted, so creating and dropping them
  // costs no resource-owner bookkeeping (which grows with the number of live slots).
  TupleDesc slot_desc = CreateTupleDescCopy(desc);
  int nslots = Min(buffered - first_mine, kBatch);
  TupleTableSlot **slots = static_cast<TupleTableSlot **>(palloc(sizeof(TupleTableSlot *) * nslots));
  for (int i = 0; i < nslots; i++) slots[i] = MakeSingleTupleTableSlot(slot_desc, table_slot_callbacks(rel));
  TupleTableSlot *index_slot = MakeSingleTupleTableSlot(slot_desc, &TTSOpsVirtual);
  index_slot->tts_tableOid = RelationGetRelid(rel);
  int chunk_max = Min(buffered - first_mine, kSortChunk);
  int64 *ids = static_cast<int64 *>(palloc(sizeof(int64) * chunk_max));
  ItemPointerData *tids = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * chunk_max));
  TimestampTz ts = GetCurrentTransactionStartTimestamp();  // supa_audit's default now()
  int64 txid = static_cast<int64>(U64FromFullTransactionId(GetTopFullTransactionId()));
  for (int first = first_mine; first < buffered; first += kSortChunk) {
    int n = Min(kSortChunk, buffered - first);
    for (int b = 0; b < n; b += kBatch)
      write_batch(rel, slots, Min(kBatch, n - b), buffer + first + b, ts, txid, ids + b, tids + b);
    index_chunk(rri, estate, index_slot, n, buffer + first, ts, txid, ids, tids);
  }
  for (int i = 0; i < nslots; i++) ExecDropSingleTupleTableSlot(slots[i]);
  ExecDropSingleTupleTableSlot(index_slot);
  pfree(slots);
  pfree(ids);
  pfree(tids);
  FreeTupleDesc(slot_desc);
  ExecCloseIndices(rri);
  FreeExecutorState(estate);
  table_close(rel, NoLock);
  buffered = first_mine;
  buffered_bytes = 0;
  for (int i = 0; i < buffered; i++) buffered_bytes += version_bytes(buffer[i].v);
  held = buffered;
  held_bytes = buffered_bytes;
  if (buffered == 0 && buffer_mcxt) {
    MemoryContextReset(buffer_mcxt);  // the row images and the array
    buffer = nullptr;
    capacity = 0;
  }
  // Otherwise the written versions' images stay allocated until the enclosing
  // subtransaction's versions are written too (or the transaction ends).
  flushing = false;
}

void init() {
  prev_executor_start = ExecutorStart_hook;
  ExecutorStart_hook = executor_start;
  prev_executor_finish = ExecutorFinish_hook;
  ExecutorFinish_hook = executor_finish;
  prev_executor_end = ExecutorEnd_hook;
  ExecutorEnd_hook = executor_end;
  prev_process_utility = ProcessUtility_hook;
  ProcessUtility_hook = process_utility;
  RegisterXactCallback(xact_callback, nullptr);
  RegisterSubXactCallback(subxact_callback, nullptr);
  CacheRegisterRelcacheCallback(relcache_callback, (Datum)0);
}

}  // namespace rg::audit
