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

// audit.retention_window(open boolean): lets audit.prune()'s own DELETEs through, until the
// transaction ends. Executable only by the extension owner (audit.prune is SECURITY DEFINER).
RG_FUNCTION(rg_audit_retention_window) {
  return rg::pg([&] {
    if (!rg::audit::callback_registered) {
      RegisterXactCallback(rg::audit::reset_at_xact_end, nullptr);
      rg::audit::callback_registered = true;
    }
    rg::audit::retention_running = PG_GETARG_BOOL(0);
    // Closing the window: audit.prune() may have removed change_context rows; every backend
    // forgets the context ids it cached (at this transaction's commit).
    if (!rg::audit::retention_running) CacheInvalidateRelcacheByRelid(rg::audit::catalog().change_context);
    PG_RETURN_VOID();
  });
}
