#!/usr/bin/env bash
# registry-sync apply's contract beyond parity: dry-run diff, prune and HR ownership, actor
# settings seen by triggers, link lists replaced, tenants, and the export round trip.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/sync_apply.sh
db=rg_sync_apply_behaviour
sa_newdb $db; tap_ok $? "fresh database with the registry schema"
export PGDATABASE=$db
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
R=$work/reg; sa_copy_fixture "$R"
apply() { "$SA_BIN" apply --registry "$R" --on-dangling=drop "$@" 2>"$work/err"; }

# Triggers see the actor and the run id (the audit trail reads the same settings).
psql -X -q <<'SQL'
CREATE TABLE actor_log (tbl text, actor text, run text);
CREATE FUNCTION log_actor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO actor_log VALUES (TG_TABLE_NAME, current_setting('registry_guard.actor', true), current_setting('registry_guard.sync_run_id', true));
  RETURN NULL;
END $$;
CREATE TRIGGER log_actor AFTER INSERT OR UPDATE OR DELETE ON kpis FOR EACH STATEMENT EXECUTE FUNCTION log_actor();
SQL
apply >/dev/null; tap_ok $? "initial apply"
tap_is "$(psql -X -At -c "SELECT DISTINCT actor || ' ' || (run = (SELECT max(id)::text FROM registry_sync.sync_runs)) FROM actor_log")" \
  "registry-sync apply true" "writes carry registry_guard.actor and registry_guard.sync_run_id (SET LOCAL)"

# Edit the YAML: change a field, add an entry, remove an entry, reorder a preset's list.
python3 - "$R" <<'PY'
import sys, re
d = sys.argv[1]
k = open(d + "/kpi_registry.yaml").read()
k = k.replace('unit: "$"', 'unit: "USD"', 1)
k = re.sub(r"\n  - id: depreciation\n.*?(?=\n  - id: |\Z)", "", k, flags=re.S)
k += '\n  - id: new_kpi\n    name: "New KPI"\n    domain: "Finance"\n    data_product_id: "FI_Star_Schema"\n'
open(d + "/kpi_registry.yaml", "w").write(k)
p = open(d + "/consulting_personas_registry.yaml").read()
p = p.replace('personas: ["mckinsey", "bcg", "bain"]\n    use_case: "Strategic decisions', 'personas: ["bain", "mckinsey"]\n    use_case: "Strategic decisions')
open(d + "/consulting_personas_registry.yaml", "w").write(p)
PY
before=$(sa_snapshot $db)
out=$(apply --dry-run); rc=$?
tap_is "$rc" 0 "dry run succeeds"
tap_like "$out" "kpis: 1 added, 1 changed, 0 removed, 1 not in the YAML" "dry run counts per table"
tap_like "$out" "\+ new_kpi" "dry run lists the added row"
tap_like "$out" "~ gross_revenue: unit" "dry run lists the changed row and its changed fields"
tap_like "$out" "\? depreciation \(not in the YAML; kept\)" "dry run reports the row missing from the YAML"
tap_like "$out" "council_preset_members: 0 added, 2 changed, 1 removed" "a reordered list shows as changed positions and a removed member"
tap_is "$(sa_snapshot $db)" "$before" "dry run changes nothing"

out=$(apply); rc=$?
tap_is "$rc" 0 "apply of the edits succeeds"
tap_like "$out" "kpis: 1 row\(s\) not in the YAML, kept" "without --prune the missing row is reported and kept"
tap_is "$(psql -X -At -c "SELECT count(*) FROM kpis WHERE id = 'depreciation'")" 1 "... and still there"
tap_is "$(psql -X -At -c "SELECT string_agg(persona_id || ':' || position, ',' ORDER BY position) FROM council_preset_members WHERE preset_id = 'mbb_council'")" \
  "bain:1,mckinsey:2" "a preset's member list is replaced by its YAML list, in order"
tap_is "$(psql -X -At -c "SELECT unit FROM kpis WHERE id = 'gross_revenue'")" "USD" "the changed field is written"

# HR ownership: an HR-linked profile keeps HR's values; an HR-created one survives --prune.
psql -X -q -c "UPDATE principal_profiles SET hr_source = 'workday', name = 'Lars M. (HR)', title = 'CFO (HR)', employee_id = 'E1' WHERE id = 'cfo_001'" \
  -c "INSERT INTO principal_profiles (id, name, hr_source, hr_created, employee_id) VALUES ('emp_42', 'From HR', 'workday', true, 'E42')"
sed -i 's/description: "CFO responsible for financial performance in EMEA."/description: "CFO, EMEA and APAC."/' "$R/principal_registry.yaml"
out=$(apply --prune); rc=$?
tap_is "$rc" 0 "apply --prune succeeds"
tap_is "$(psql -X -At -c "SELECT name || '|' || title || '|' || employee_id || '|' || description FROM principal_profiles WHERE id = 'cfo_001'")" \
  "Lars M. (HR)|CFO (HR)|E1|CFO, EMEA and APAC." "HR-owned columns of an HR-linked profile are not overwritten; other columns are"
tap_is "$(psql -X -At -c "SELECT count(*) FROM principal_profiles WHERE id = 'emp_42'")" 1 "--prune never deletes a profile HR created"
tap_like "$out" "principal_profiles: not in HR \(no hr_source; link them with employee_id or email\): ceo_001, coo_001, finance_manager_001" \
  "YAML principals HR does not know are reported as not in HR"
tap_is "$(psql -X -At -c "SELECT count(*) FROM kpis WHERE id = 'depreciation'")" 0 "--prune deletes rows no longer in the YAML"
out=$(apply --full-diff)
tap_like "$out" "applied: 0 row\(s\) written" "HR-owned differences do not count as changes on re-apply"

# Export round trip: apply(export(db)) writes nothing.
"$SA_BIN" export --out "$work/snap" >/dev/null 2>&1; tap_ok $? "export writes a snapshot"
tap_like "$(cat "$work/snap/principal_registry.yaml")" 'business_processes:' "export writes process ids under the YAML field name"
tap_is "$(cat "$work"/snap/*.yaml | grep -cE '^[[:space:]]*#')" 0 "export writes no comments"
out=$("$SA_BIN" validate --registry "$work/snap" 2>&1)
tap_like "$out" ": 0 error\(s\)" "the snapshot validates"
out=$("$SA_BIN" apply --registry "$work/snap" --full-diff 2>&1)
tap_like "$out" "applied: 0 row\(s\) written" "apply(export(db)) writes 0 rows"
tap_is "$(psql -X -At -c "SELECT count(*) FROM registry_documents")" 4 "documents round-trip"

# Tenancy: the multi-tenancy migration keys every registry table by (client_id, id); apply
# --tenant acme writes acme's rows, the same rows the default tenant got from the same files,
# and leaves the default tenant's rows untouched; an edit applied for acme changes acme only.
pkey() { psql -X -At -v ON_ERROR_STOP=1 -c "SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM pg_catalog.pg_constraint c
  CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY k(attnum, ord) JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
  WHERE c.conrelid = '$1'::regclass AND c.contype = 'p'"; }
tenant_rows() {  # tenant_rows <table> <tenant>: its rows without tenant and timestamps, sorted
  psql -X -At -v ON_ERROR_STOP=1 -c "SELECT coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '') FROM (
    SELECT to_jsonb(t) - 'client_id' - 'created_at' - 'updated_at' AS r FROM public.$1 t WHERE client_id = '$2') s"; }
tenant_tables="kpis business_processes data_products business_glossary_terms consulting_personas council_presets"
for t in $tenant_tables; do tap_is "$(pkey "$t")" "client_id,id" "$t is keyed by (client_id, id)"; done
default_before=$(for t in $tenant_tables principal_profiles; do tenant_rows "$t" default; done)
tap_is "$(psql -X -At -c "SELECT count(*) FROM kpis WHERE client_id <> 'default'")" 0 "before: every row is the default tenant's"
out=$("$SA_BIN" apply --registry "$R" --on-dangling=drop --tenant acme 2>&1); rc=$?
tap_is "$rc" 0 "apply --tenant acme succeeds"
tap_like "$out" "^kpis: 20 inserted, 0 updated, 0 deleted, 0 unchanged$" "apply --tenant acme inserts acme's kpis (the default tenant's do not count as unchanged)"
for t in $tenant_tables; do
  got=$(tenant_rows "$t" acme)
  [ -n "$got" ] || echo "# acme has no $t rows"
  tap_is "$([ -n "$got" ] && [ "$got" = "$(tenant_rows "$t" default)" ] && echo same || echo differ)" same \
    "acme's $t rows are what the default tenant got from the same files"
done
tap_is "$(for t in $tenant_tables principal_profiles; do tenant_rows "$t" default; done)" "$default_before" "the default tenant's rows are untouched"
sed -i '0,/name: "Gross Revenue"/s//name: "Gross Revenue (acme)"/' "$R/kpi_registry.yaml"
out=$("$SA_BIN" apply --registry "$R" --on-dangling=drop --tenant acme 2>&1); rc=$?
tap_like "$out" "^kpis: 0 inserted, 1 updated, 0 deleted, 19 unchanged$" "an edit applied for acme updates one acme row"
tap_is "$(psql -X -At -c "SELECT string_agg(client_id || ':' || name, ',' ORDER BY client_id) FROM kpis WHERE id = 'gross_revenue'")" \
  "acme:Gross Revenue (acme),default:Gross Revenue" "and leaves the default tenant's row as it was"
psql -X -q -d postgres -c "DROP DATABASE $db"
tap_done
