// Append-only audit tables: UPDATE, DELETE and TRUNCATE are refused by trigger for everyone,
// the owner and superusers included, except for the DELETEs of audit.prune() (retention).
// Bypasses that cannot be prevented (disabled triggers, superuser edits) are found by
// audit.verify() through the hash chain.
#include "audit/audit.hpp"
#include "core/pg_guard.hpp"

namespace rg::audit {
namespace {

bool retention_running = false;  // set only by audit.prune(), reset at transaction end
bool callback_registered = false;

void reset_at_xact_end(XactEvent event, void *) {
  if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE ||
      event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
    retention_running = false;
}

Datum refuse_change(FunctionCallInfo fcinfo) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("audit.refuse_change() must be called as a trigger")));
  TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
  bool is_delete = TRIGGER_FIRED_BY_DELETE(td->tg_event);
  if (is_delete && retention_running) return PointerGetDatum(nullptr);
  const char *what = is_delete ? "DELETE" : TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? "UPDATE" : "TRUNCATE";
  ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                  errmsg("audit.%s is append-only: %s is not allowed", RelationGetRelationName(td->tg_relation), what),
                  errdetail("Audit history cannot be changed or removed, not even by its owner."),
                  errhint("Old versions are removed only by retention: SELECT audit.prune(<cut-off timestamptz>);")));
  pg_unreachable();
}

}  // namespace
}  // namespace rg::audit

RG_FUNCTION(rg_audit_refuse_change) {
  return rg::pg([&] { return rg::audit::refuse_change(fcinfo); });
}

// audit.retention_window(boolean) of 0.1.0: refused. Retention opens its window only inside
// audit.prune() (rg_audit_prune below); 0.2.0 no longer declares this function, the symbol stays
// for databases still on 0.1.0 that load this library.
RG_FUNCTION(rg_audit_retention_window) {
  (void)fcinfo;
  throw rg::PgError(ERRCODE_INSUFFICIENT_PRIVILEGE, "audit.retention_window() cannot be called directly",
                    "Audit history is removed only by audit.prune(), which opens the retention window for its own DELETEs.",
                    "SELECT audit.prune(<cut-off timestamptz>); on a database still on 0.1.0, first run "
                    "ALTER EXTENSION registry_guard UPDATE;");
}

// audit.prune(older_than): the only way history is removed. The retention window (the
// append-only triggers let DELETEs through; audit.checkpoint and the retention record of
// audit.tracking_log accept rows) is open only while audit.prune_steps() runs from here: no SQL
// function opens it, so neither the owner nor a superuser can call into it directly.
RG_FUNCTION(rg_audit_prune) {
  if (PG_ARGISNULL(0))
    throw rg::PgError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "audit.prune: the cut-off must not be NULL", {},
                      "e.g. audit.prune(now() - interval '2 years')");
  Datum cutoff = PG_GETARG_DATUM(0);
  if (!rg::audit::callback_registered) {
    rg::pg([] { RegisterXactCallback(rg::audit::reset_at_xact_end, nullptr); });
    rg::audit::callback_registered = true;
  }
  rg::audit::retention_running = true;
  int64 pruned = 0;
  try {
    pruned = rg::pg([&] {
      if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "registry_guard audit: SPI_connect failed");
      Oid argtypes[1] = {TIMESTAMPTZOID};
      Datum values[1] = {cutoff};
      int rc = SPI_execute_with_args("SELECT audit.prune_steps($1)", 1, argtypes, values, nullptr, false, 1);
      if (rc != SPI_OK_SELECT || SPI_processed != 1) elog(ERROR, "registry_guard audit: audit.prune_steps() returned no row");
      bool isnull = true;
      Datum n = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
      int64 result = isnull ? 0 : DatumGetInt64(n);
      SPI_finish();
      return result;
    });
  } catch (...) {
    rg::audit::retention_running = false;  // also when prune runs in a savepoint that is rolled back
    throw;
  }
  rg::audit::retention_running = false;
  // prune may have removed change_context rows: every backend forgets the context ids it cached
  // (at this transaction's commit).
  if (pruned > 0) rg::pg([] { CacheInvalidateRelcacheByRelid(rg::audit::catalog().change_context); });
  PG_RETURN_INT64(pruned);
}

// Trigger on audit.checkpoint (INSERT, UPDATE) and audit.tracking_log (INSERT): a checkpoint,
// and the retention record that ties it into the chain, are written only by audit.prune().
RG_FUNCTION(rg_audit_refuse_forged_retention) {
  return rg::pg([&] {
    if (!CALLED_AS_TRIGGER(fcinfo))
      ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                      errmsg("audit.refuse_forged_retention() must be called as a trigger")));
    TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
    HeapTuple row = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
    const char *table = RelationGetRelationName(td->tg_relation);
    bool is_checkpoint = strcmp(table, "checkpoint") == 0;
    if (!is_checkpoint) {
      int col = SPI_fnumber(RelationGetDescr(td->tg_relation), "event");
      char *event = col > 0 ? SPI_getvalue(row, RelationGetDescr(td->tg_relation), col) : nullptr;
      if (event == nullptr || strcmp(event, "retention") != 0) return PointerGetDatum(row);
    }
    if (rg::audit::retention_running) return PointerGetDatum(row);
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    is_checkpoint ? errmsg("audit.checkpoint is written only by audit.prune()")
                                  : errmsg("retention records in audit.%s are written only by audit.prune()", table),
                    errdetail("A retention checkpoint is a link of the hash chain: one made by hand would let history "
                              "be removed without the chain noticing."),
                    errhint("SELECT audit.prune(<cut-off timestamptz>);")));
    pg_unreachable();
  });
}

namespace rg::audit {
namespace {
bool verify_state_open = false;  // only while audit.verify_incremental() runs its steps
}  // namespace
}  // namespace rg::audit

// Statement trigger on audit.verify_state: "verified up to this seal" is written only by
// audit.verify_incremental(); a row forged by hand could make it skip tampered history.
RG_FUNCTION(rg_audit_refuse_forged_verify_state) {
  return rg::pg([&] {
    if (!CALLED_AS_TRIGGER(fcinfo))
      ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                      errmsg("audit.refuse_forged_verify_state() must be called as a trigger")));
    if (!rg::audit::verify_state_open)
      ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                      errmsg("audit.verify_state is written only by audit.verify_incremental()"),
                      errdetail("It says up to which seal the chain was found intact: one written by hand could make the "
                                "incremental verify skip tampered history."),
                      errhint("SELECT * FROM audit.verify_incremental();")));
    return PointerGetDatum(nullptr);
  });
}

// audit.verify_incremental(): runs audit.verify_incremental_steps() with audit.verify_state open
// for writing, and returns its row.
RG_FUNCTION(rg_audit_verify_incremental) {
  rg::audit::verify_state_open = true;
  Datum result;
  try {
    result = rg::pg([&] {
      TupleDesc tupdesc;
      if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
        elog(ERROR, "registry_guard audit: audit.verify_incremental() must return a record");
      if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "registry_guard audit: SPI_connect failed");
      int rc = SPI_execute("SELECT ok, checked, first_bad_id, problem, unsealed, from_id FROM audit.verify_incremental_steps()",
                           false, 1);
      if (rc != SPI_OK_SELECT || SPI_processed != 1 || SPI_tuptable->tupdesc->natts != tupdesc->natts)
        elog(ERROR, "registry_guard audit: audit.verify_incremental_steps() returned no row");
      Datum values[6];
      bool nulls[6];
      int natts = tupdesc->natts < 6 ? tupdesc->natts : 6;
      for (int i = 0; i < natts; i++) values[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &nulls[i]);
      tupdesc = BlessTupleDesc(tupdesc);
      HeapTupleHeader row = SPI_returntuple(heap_form_tuple(tupdesc, values, nulls), tupdesc);
      SPI_finish();
      return HeapTupleHeaderGetDatum(row);
    });
  } catch (...) {
    rg::audit::verify_state_open = false;
    throw;
  }
  rg::audit::verify_state_open = false;
  return result;
}
