// Referencing side of a reference: every non-NULL element of an inserted or updated array must
// exist in the target (MATCH SIMPLE). Inserts are checked once per statement over the transition
// table, updates and deferrable references per row; each distinct key is looked up (and locked
// FOR KEY SHARE) once per transaction, then remembered.
#include <string>
#include <vector>

#include "core/pg_guard.hpp"
#include "references/references_meta.hpp"

namespace rg::refs {
namespace {

// The referencing values of one row; pointers into memory that lives until the next row.
struct RowValues {
  Datum *elems = nullptr;
  bool *nulls = nullptr;
  int n = 0;
  Datum tenant = 0;
};

// Reads the elements (and tenant) of the row in slot. Call inside pg().
void read_row(const RefMeta &m, TupleTableSlot *slot, RowValues &out) {
  out.n = 0;
  bool isnull = false;
  if (m.tenant_scoped) {
    Datum t = slot_getattr(slot, m.tenant_attnum, &isnull);
    if (isnull) return;  // MATCH SIMPLE: a NULL part of the composite key passes
    out.tenant = m.tenant.len == -1 ? PointerGetDatum(PG_DETOAST_DATUM_PACKED(t)) : t;
  }
  Datum v = slot_getattr(slot, m.source_attnum, &isnull);
  if (isnull) return;
  if (m.source_is_array) {
    deconstruct_array(DatumGetArrayTypeP(v), m.elem.type, m.elem.len, m.elem.byval, m.elem.align, &out.elems, &out.nulls,
                      &out.n);
  } else {
    out.elems = static_cast<Datum *>(palloc(sizeof(Datum)));
    out.nulls = static_cast<bool *>(palloc(sizeof(bool)));
    out.elems[0] = m.elem.len == -1 ? PointerGetDatum(PG_DETOAST_DATUM_PACKED(v)) : v;
    out.nulls[0] = false;
    out.n = 1;
  }
}

// Collects the distinct keys not yet verified by this transaction, in order of appearance.
class Collector {
public:
  Collector(const RefMeta &m, std::shared_ptr<VerifiedKeys> verified, MemoryContext keep)
      : m_(m), verified_(std::move(verified)), keep_(keep) {}

  void add_row(const RowValues &row) {
    if (row.n == 0) return;
    key_.clear();
    if (m_.tenant_scoped) {
      std::string tenant_bytes;
      append_key_bytes(tenant_bytes, row.tenant, m_.tenant);
      uint32 len = static_cast<uint32>(tenant_bytes.size());
      key_.append(reinterpret_cast<const char *>(&len), sizeof len);
      key_.append(tenant_bytes);
    }
    const size_t prefix = key_.size();
    for (int i = 0; i < row.n; i++) {
      if (row.nulls[i]) continue;
      key_.resize(prefix);
      append_key_bytes(key_, row.elems[i], m_.elem);
      if (verified_->contains(key_) || seen_.contains(key_)) continue;
      seen_.add(key_);
      keys_.push_back(key_);
      Datum elem = row.elems[i], tenant = row.tenant;
      const RefMeta &m = m_;
      MemoryContext keep = keep_;
      pg([&] {
        MemoryContext old = MemoryContextSwitchTo(keep);
        elems_.push_back(datumCopy(elem, m.elem.byval, m.elem.len));
        if (m.tenant_scoped) tenants_.push_back(datumCopy(tenant, m.tenant.byval, m.tenant.len));
        MemoryContextSwitchTo(old);
      });
    }
  }

  bool empty() const { return elems_.empty(); }
  const std::vector<Datum> &elems() const { return elems_; }
  const std::vector<Datum> &tenants() const { return tenants_; }
  void mark_verified() {
    // Into the set this check started with: if a subtransaction abort has forgotten it
    // meanwhile, the keys are simply looked up again next time.
    for (const auto &k : keys_) verified_->add(k);
  }

private:
  const RefMeta &m_;
  std::shared_ptr<VerifiedKeys> verified_;
  MemoryContext keep_;
  VerifiedKeys seen_;
  std::string key_;
  std::vector<std::string> keys_;
  std::vector<Datum> elems_, tenants_;
};

void prepare_check_plan(RefMeta &m) {
  if (m.check_plan != nullptr) return;
  // FOR KEY SHARE inside the sub-select locks each present target row, as a native FK check
  // does, so a concurrent DELETE or key UPDATE waits for this transaction.
  std::string target_cond = "t." + quoted(m.target_col) + " " + m.elem_eq + " e.v";
  std::string sql;
  std::vector<Oid> types;
  if (m.tenant_scoped) {
    sql = "SELECT e.i FROM ROWS FROM (pg_catalog.unnest($1::" + m.tenant_array_sql + "), pg_catalog.unnest($2::" +
          m.elem_array_sql + ")) WITH ORDINALITY AS e(c, v, i) WHERE NOT EXISTS (SELECT 1 FROM " + m.target_sql + " t WHERE t." +
          quoted(m.target_tenant_col) + " " + m.tenant_eq + " e.c AND " + target_cond +
          " FOR KEY SHARE OF t) ORDER BY e.i";
    types = {array_type_of(m.tenant.type), array_type_of(m.elem.type)};
  } else {
    sql = "SELECT e.i FROM pg_catalog.unnest($1::" + m.elem_array_sql +
          ") WITH ORDINALITY AS e(v, i) WHERE NOT EXISTS (SELECT 1 FROM " + m.target_sql + " t WHERE " + target_cond +
          " FOR KEY SHARE OF t) ORDER BY e.i";
    types = {array_type_of(m.elem.type)};
  }
  m.check_plan = keep_plan(sql, types);
}

Datum make_array(const std::vector<Datum> &v, const ColumnType &t) {
  return PointerGetDatum(
      construct_array(const_cast<Datum *>(v.data()), static_cast<int>(v.size()), t.type, t.len, t.byval, t.align));
}

// Checks the collected keys against the target; throws 23503 naming the first missing one.
void check_collected(RefMeta &m, Collector &c, const char *scope) {
  if (c.empty()) return;
  pg([] { SPI_connect(); });
  std::vector<int64> missing;
  {
    AsOwner owner(m.target_owner);
    prepare_check_plan(m);
    pg([&] {
      Datum values[2];
      if (m.tenant_scoped) {
        values[0] = make_array(c.tenants(), m.tenant);
        values[1] = make_array(c.elems(), m.elem);
      } else {
        values[0] = make_array(c.elems(), m.elem);
      }
      const int nest = pin_search_path();
      int rc = SPI_execute_plan(m.check_plan, values, nullptr, false, 0);
      AtEOXact_GUC(true, nest);
      if (rc != SPI_OK_SELECT) elog(ERROR, "registry_guard: reference check failed: %s", SPI_result_code_string(rc));
      for (uint64 i = 0; i < SPI_processed; i++) {
        bool isnull = false;
        missing.push_back(DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)) - 1);
      }
    });
  }
  if (missing.empty()) {
    pg([] { SPI_finish(); });
    c.mark_verified();
    return;
  }
  const size_t first = static_cast<size_t>(missing.front());
  std::string value = pg([&] { return output_text(c.elems()[first], m.elem); });
  std::string cols = quoted(m.source_col);
  if (m.tenant_scoped) {
    cols = quoted(m.tenant_col) + ", " + cols;
    value = pg([&] { return output_text(c.tenants()[first], m.tenant); }) + ", " + value;
  }
  pg([] { SPI_finish(); });
  std::string detail = "Key (" + cols + ")=(" + value + ") is not present in table \"" + m.target_label + "\"; " +
                       std::to_string(missing.size()) + " of the " + std::to_string(c.elems().size()) +
                       " distinct elements checked for this " + scope + (missing.size() == 1 ? " is" : " are") +
                       " missing.";
  throw PgError(ERRCODE_FOREIGN_KEY_VIOLATION,
                "insert or update on table \"" + m.source_label + "\" violates foreign key constraint \"" + m.name + "\"",
                detail,
                "SELECT * FROM guard.validate_references('" + m.name + "') lists every dangling element already stored.");
}

TriggerData *trigger_data(FunctionCallInfo fcinfo, const char *fn) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    throw PgError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED, std::string(fn) + " must be called as a trigger", {},
                  "Declare references with guard.add_reference(); it creates the triggers.");
  return reinterpret_cast<TriggerData *>(fcinfo->context);
}

}  // namespace
}  // namespace rg::refs

using namespace rg::refs;

// AFTER INSERT FOR EACH STATEMENT with transition table: one look-up for all distinct elements.
RG_FUNCTION(rg_reference_check_insert) {
  TriggerData *td = trigger_data(fcinfo, "guard.reference_check_insert()");
  if (!TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event) || td->tg_newtable == nullptr)
    throw rg::PgError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                      "guard.reference_check_insert() must fire AFTER INSERT FOR EACH STATEMENT with a NEW TABLE");
  auto meta = meta_for_trigger(td->tg_trigger);
  RefMeta &m = *meta;
  require_trigger_relation(m, td->tg_trigger, td->tg_relation, true);
  MemoryContext keep = CurrentMemoryContext;
  Collector c(m, verified_keys(m), keep);
  Tuplestorestate *rows = td->tg_newtable;
  TupleDesc desc = RelationGetDescr(td->tg_relation);
  TupleTableSlot *slot = rg::pg([&] { return MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple); });
  MemoryContext row_ctx = rg::pg([&] { return AllocSetContextCreate(keep, "registry_guard reference rows", ALLOCSET_DEFAULT_SIZES); });
  rg::pg([&] { tuplestore_rescan(rows); });
  for (;;) {
    RowValues row;
    bool more = rg::pg([&] {
      // A spilled tuplestore reads each tuple into row_ctx and the slot owns it: release it
      // through the slot before the context goes.
      ExecClearTuple(slot);
      MemoryContextReset(row_ctx);
      MemoryContext old = MemoryContextSwitchTo(row_ctx);
      bool got = tuplestore_gettupleslot(rows, true, false, slot);
      if (got) read_row(m, slot, row);
      MemoryContextSwitchTo(old);
      return got;
    });
    if (!more) break;
    c.add_row(row);
  }
  rg::pg([&] {
    ExecDropSingleTupleTableSlot(slot);
    MemoryContextDelete(row_ctx);
  });
  check_collected(m, c, "statement");
  return PointerGetDatum(nullptr);
}

// AFTER INSERT OR UPDATE FOR EACH ROW (constraint trigger, deferrable as declared).
RG_FUNCTION(rg_reference_check_row) {
  TriggerData *td = trigger_data(fcinfo, "guard.reference_check_row()");
  if (!TRIGGER_FIRED_FOR_ROW(td->tg_event) || TRIGGER_FIRED_BY_DELETE(td->tg_event))
    throw rg::PgError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                      "guard.reference_check_row() must fire AFTER INSERT OR UPDATE FOR EACH ROW");
  auto meta = meta_for_trigger(td->tg_trigger);
  RefMeta &m = *meta;
  require_trigger_relation(m, td->tg_trigger, td->tg_relation, true);
  const bool is_update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
  TupleTableSlot *slot = is_update ? td->tg_newslot : td->tg_trigslot;
  TupleTableSlot *latest = nullptr;  // the row's final version, when `slot` is an earlier one
  bool skip = rg::pg([&] {
    // A deferred check must see the final version of the row, as native FKs do. A row since
    // updated again in this transaction is checked in its latest version here: the later
    // UPDATE may not have queued a check of its own (it did not touch the array column: the
    // trigger fires on UPDATE OF it only), which native RI covers by re-checking any UPDATE
    // of a row the transaction inserted (RI_FKey_fk_upd_check_required). Following the update
    // chain checks the same final versions. A row since deleted (or moved to another
    // partition, where its INSERT is checked) needs no check.
    if (!table_tuple_satisfies_snapshot(td->tg_relation, slot, SnapshotSelf)) {
      ItemPointerData tid = slot->tts_tid;
      TableScanDesc scan = table_beginscan_tid(td->tg_relation, SnapshotSelf);
      table_tuple_get_latest_tid(scan, &tid);
      table_endscan(scan);
      if (ItemPointerEquals(&tid, &slot->tts_tid)) return true;  // deleted: no later version
      TupleTableSlot *fetched = table_slot_create(td->tg_relation, nullptr);
      bool found = table_tuple_fetch_row_version(td->tg_relation, &tid, SnapshotSelf, fetched);
      if (found) {
        // A copy that holds no buffer pin (the check below may fail).
        latest = MakeSingleTupleTableSlot(RelationGetDescr(td->tg_relation), &TTSOpsHeapTuple);
        ExecCopySlot(latest, fetched);
      }
      ExecDropSingleTupleTableSlot(fetched);
      if (!found) return true;
      slot = latest;
      return false;  // a later version: check it whatever changed
    }
    if (!is_update) return false;
    TupleTableSlot *old = td->tg_trigslot;
    for (AttrNumber a : {m.source_attnum, m.tenant_attnum}) {
      if (a == 0) continue;
      bool old_null = false, new_null = false;
      Datum o = slot_getattr(old, a, &old_null), n = slot_getattr(slot, a, &new_null);
      Form_pg_attribute att = TupleDescAttr(slot->tts_tupleDescriptor, a - 1);
      if (old_null != new_null) return false;
      if (!old_null && !datumIsEqual(o, n, att->attbyval, att->attlen)) return false;
    }
    return true;  // referencing values unchanged: nothing to check
  });
  if (skip) return PointerGetDatum(nullptr);
  RowValues row;
  rg::pg([&] { read_row(m, slot, row); });
  Collector c(m, verified_keys(m), CurrentMemoryContext);
  c.add_row(row);
  check_collected(m, c, "row");
  if (latest != nullptr) rg::pg([&] { ExecDropSingleTupleTableSlot(latest); });
  return PointerGetDatum(nullptr);
}
