// Referenced side of a reference: when a target row is deleted or its key changes, find the
// referencing rows through the GIN index on the array column (arr @> ARRAY[key]) and apply the
// declared action: NO ACTION / RESTRICT raise 23503 naming a referencing row, CASCADE removes the
// element (delete) or rewrites it to the new key (update), SET NULL replaces it with NULL.
#include <string>
#include <vector>

#include "core/pg_guard.hpp"
#include "references/references_meta.hpp"

namespace rg::refs {
namespace {

std::string q(const std::string &ident) { return quoted(ident); }

// Parameters: $1 = old key, then $2 = tenant when tenant-scoped, then the new key (rewrite only).
std::vector<Oid> key_params(const RefMeta &m, bool with_new_key) {
  std::vector<Oid> types{m.elem.type};
  if (m.tenant_scoped) types.push_back(m.tenant.type);
  if (with_new_key) types.push_back(m.elem.type);
  return types;
}

std::string source_match(const RefMeta &m) {
  std::string sql = "s." + q(m.source_col) + " OPERATOR(pg_catalog.@>) ARRAY[$1::" + m.elem_type_sql + "]";
  if (m.tenant_scoped) sql += " AND s." + q(m.tenant_col) + " " + m.tenant_eq + " $2";
  return sql;
}

void prepare_plans(RefMeta &m) {
  if (m.referenced_plan != nullptr) return;
  std::string key_exists = "SELECT 1 FROM " + m.target_sql + " t WHERE t." + q(m.target_col) + " " + m.elem_eq + " $1";
  if (m.tenant_scoped) key_exists += " AND t." + q(m.target_tenant_col) + " " + m.tenant_eq + " $2";
  {
    AsOwner as(m.target_owner);
    m.key_exists_plan = keep_plan(key_exists + " LIMIT 1", key_params(m, false));
  }
  AsOwner as(m.source_owner);
  m.remove_plan = keep_plan("UPDATE " + m.source_sql + " s SET " + q(m.source_col) + " = pg_catalog.array_remove(s." +
                                q(m.source_col) + ", $1::" + m.elem_type_sql + ") WHERE " + source_match(m),
                            key_params(m, false));
  m.set_null_plan = keep_plan("UPDATE " + m.source_sql + " s SET " + q(m.source_col) + " = pg_catalog.array_replace(s." +
                                  q(m.source_col) + ", $1::" + m.elem_type_sql + ", NULL::" + m.elem_type_sql +
                                  ") WHERE " + source_match(m),
                              key_params(m, false));
  m.rewrite_plan = keep_plan("UPDATE " + m.source_sql + " s SET " + q(m.source_col) + " = pg_catalog.array_replace(s." +
                                 q(m.source_col) + ", $1::" + m.elem_type_sql + ", $" +
                                 std::to_string(m.tenant_scoped ? 3 : 2) + "::" + m.elem_type_sql + ") WHERE " +
                                 source_match(m),
                             key_params(m, true));
  m.referenced_plan = keep_plan("SELECT " + m.source_key_sql + " FROM " + m.source_sql + " s WHERE " + source_match(m) +
                                    " LIMIT 1",
                                key_params(m, false));
}

// Runs a target-side query as the table owner. Under REPEATABLE READ / SERIALIZABLE it must see
// rows committed after the transaction's snapshot (as native RI checks do), and a cascade must
// fail on rows it cannot see rather than skip them.
// With enable_seqscan off while planning and running: "LIMIT 1" makes a sequential scan look
// cheap to the planner (it expects an early match), which is a full scan of a million rows
// when the key is not referenced; the GIN index answers in milliseconds either way. (RI's
// initial check sets work_mem the same way, in a GUC nest level of its own.) search_path is
// pinned in the same level: see pin_search_path().
int run(SPIPlanPtr plan, Datum *values, Oid owner, long limit) {
  AsOwner as(owner);
  return pg([&] {
    int nest = pin_search_path();
    (void)set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
    Snapshot test = InvalidSnapshot, crosscheck = InvalidSnapshot;
    if (IsolationUsesXactSnapshot()) {
      CommandCounterIncrement();
      test = GetLatestSnapshot();
      crosscheck = GetTransactionSnapshot();
    }
    int rc = SPI_execute_snapshot(plan, values, nullptr, test, crosscheck, false, false, limit);
    AtEOXact_GUC(true, nest);
    return rc;
  });
}

// Whether the user whose statement fired the trigger may be shown values of rel in an error, as
// native FKs decide (ri_ReportViolation): not when row security applies to them, nor without
// SELECT on the table or on every one of cols (none given: the table privilege is needed).
// The look-ups run as the owner, so this is what keeps other tenants' keys out of messages.
bool may_show_values(Oid rel, std::initializer_list<AttrNumber> cols) {
  return rg::pg([&] {
    if (check_enable_rls(rel, InvalidOid, true) == RLS_ENABLED) return false;
    const Oid user = GetUserId();
    if (pg_class_aclcheck(rel, user, ACL_SELECT) == ACLCHECK_OK) return true;
    if (cols.size() == 0) return false;
    for (AttrNumber a : cols)
      if (a != 0 && pg_attribute_aclcheck(rel, a, user, ACL_SELECT) != ACLCHECK_OK) return false;
    return true;
  });
}

struct KeyValues {
  bool old_null = true, new_null = true, same = false;
  Datum old_key = 0, old_tenant = 0, new_key = 0, new_tenant = 0;
};

KeyValues read_keys(const RefMeta &m, TriggerData *td, bool is_update) {
  KeyValues k;
  rg::pg([&] {
    bool null_key = false, null_tenant = false;
    k.old_key = slot_getattr(td->tg_trigslot, m.target_attnum, &null_key);
    if (m.tenant_scoped) k.old_tenant = slot_getattr(td->tg_trigslot, m.target_tenant_attnum, &null_tenant);
    k.old_null = null_key || null_tenant;
    if (!is_update) return;
    null_key = null_tenant = false;
    k.new_key = slot_getattr(td->tg_newslot, m.target_attnum, &null_key);
    if (m.tenant_scoped) k.new_tenant = slot_getattr(td->tg_newslot, m.target_tenant_attnum, &null_tenant);
    k.new_null = null_key || null_tenant;
    k.same = !k.old_null && !k.new_null && datumIsEqual(k.old_key, k.new_key, m.elem.byval, m.elem.len) &&
             (!m.tenant_scoped || datumIsEqual(k.old_tenant, k.new_tenant, m.tenant.byval, m.tenant.len));
  });
  return k;
}

}  // namespace
}  // namespace rg::refs

using namespace rg::refs;

// AFTER DELETE / AFTER UPDATE OF key FOR EACH ROW on the referenced table.
RG_FUNCTION(rg_reference_target_action) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    throw rg::PgError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED, "guard.reference_target_action() must be called as a trigger");
  auto *td = reinterpret_cast<TriggerData *>(fcinfo->context);
  if (!TRIGGER_FIRED_FOR_ROW(td->tg_event) || TRIGGER_FIRED_BY_INSERT(td->tg_event))
    throw rg::PgError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                      "guard.reference_target_action() must fire AFTER DELETE OR UPDATE FOR EACH ROW");
  // Keys this transaction verified earlier may be the one leaving now.
  forget_verified_keys();
  auto meta = meta_for_trigger(td->tg_trigger);
  RefMeta &m = *meta;
  require_trigger_relation(m, td->tg_trigger, td->tg_relation, false);
  const bool is_update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
  KeyValues k = read_keys(m, td, is_update);
  if (k.old_null || k.same) return PointerGetDatum(nullptr);  // nothing can reference a NULL key
  Action action = is_update ? m.on_update : m.on_delete;
  const bool tenant_moved = is_update && m.tenant_scoped && !k.new_null &&
                            !rg::pg([&] { return datumIsEqual(k.old_tenant, k.new_tenant, m.tenant.byval, m.tenant.len); });
  // Following a key into another tenant would break the other references of the rows: refuse.
  if (tenant_moved && action == Action::Cascade) action = Action::Restrict;

  rg::pg([] { SPI_connect(); });
  prepare_plans(m);
  Datum values[3] = {k.old_key, k.old_tenant, k.new_key};
  if (!m.tenant_scoped) values[1] = k.new_key;

  if (action == Action::NoAction) {
    // Checked at the end of the statement (or at commit): passes if the key is back by then.
    int rc = run(m.key_exists_plan, values, m.target_owner, 1);
    if (rc != SPI_OK_SELECT) throw rg::PgError(ERRCODE_INTERNAL_ERROR, "registry_guard: key look-up failed");
    if (SPI_processed > 0) {
      rg::pg([] { SPI_finish(); });
      return PointerGetDatum(nullptr);
    }
  }
  if (action == Action::NoAction || action == Action::Restrict) {
    int rc = run(m.referenced_plan, values, m.source_owner, 1);
    if (rc != SPI_OK_SELECT) throw rg::PgError(ERRCODE_INTERNAL_ERROR, "registry_guard: referencing-row look-up failed");
    if (SPI_processed == 0) {
      rg::pg([] { SPI_finish(); });
      return PointerGetDatum(nullptr);
    }
    std::string row = rg::pg([&] {
      bool isnull = false;
      Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
      return std::string(isnull ? "" : TextDatumGetCString(d));
    });
    std::string cols = quoted(m.target_col);
    std::string value = rg::pg([&] { return output_text(k.old_key, m.elem); });
    if (m.tenant_scoped) {
      cols = quoted(m.target_tenant_col) + ", " + cols;
      value = rg::pg([&] { return output_text(k.old_tenant, m.tenant); }) + ", " + value;
    }
    rg::pg([] { SPI_finish(); });
    std::string detail = "Key is still referenced from table \"" + m.source_label + "\".";
    if (may_show_values(m.target_rel, {m.target_attnum, m.target_tenant_attnum}))
      detail = "Key (" + cols + ")=(" + value + ") is still referenced from table \"" + m.source_label + "\"" +
               (may_show_values(m.source_rel, {}) ? ", for example by row " + row : std::string()) + ".";
    throw rg::PgError(ERRCODE_FOREIGN_KEY_VIOLATION,
                      "update or delete on table \"" + m.target_label + "\" violates foreign key constraint \"" + m.name +
                          "\" on table \"" + m.source_label + "\"",
                      detail,
                      tenant_moved ? "A cascading reference cannot follow a key into another tenant." : std::string());
  }
  // ON UPDATE CASCADE to a NULL key leaves a NULL element, as SET NULL does.
  if (action == Action::Cascade && is_update && k.new_null) action = Action::SetNull;
  SPIPlanPtr plan = action == Action::SetNull ? m.set_null_plan : (is_update ? m.rewrite_plan : m.remove_plan);
  int rc = run(plan, values, m.source_owner, 0);
  if (rc != SPI_OK_UPDATE) throw rg::PgError(ERRCODE_INTERNAL_ERROR, "registry_guard: reference action failed");
  rg::pg([] { SPI_finish(); });
  return PointerGetDatum(nullptr);
}
