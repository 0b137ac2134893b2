#!/usr/bin/env bash
# Array references survive pg_dump / restore: the catalog (an extension configuration table)
# and the triggers on the user tables are dumped, and the restored database enforces them.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
src=rg_refs_dump_src_$$
dst=rg_refs_dump_dst_$$
q() { PGOPTIONS='-c client_min_messages=warning' command psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
cleanup() { command psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $src" -c "DROP DATABASE IF EXISTS $dst" >/dev/null 2>&1; }
trap cleanup EXIT
dump=$(mktemp); trap 'cleanup; rm -f "$dump"' EXIT
q -d postgres -c "CREATE DATABASE $src" -c "CREATE DATABASE $dst" || { tap_ok 1 "create databases"; tap_done; }

q -d "$src" <<'SQL' >/dev/null
CREATE EXTENSION registry_guard;
CREATE TABLE business_processes (id text PRIMARY KEY);
CREATE TABLE kpis (id text PRIMARY KEY, business_process_ids text[], data_product_id text);
CREATE INDEX ON kpis USING gin (business_process_ids);
INSERT INTO business_processes VALUES ('bp1'), ('bp2');
INSERT INTO kpis VALUES ('k1', '{bp1,bp2}', 'FI_Star_Schema');
SELECT guard.add_reference('kpis_processes', 'kpis', 'business_process_ids', 'business_processes',
                           on_delete => 'cascade', is_deferrable => true, initially_deferred => true);
CREATE TABLE data_products (id text PRIMARY KEY);
SELECT guard.add_reference('kpis_data_product', 'kpis', 'data_product_id', 'data_products', report_only => true);
-- Partitioned tables: the statement triggers on their partitions are dumped with them.
CREATE TABLE pproc (id text PRIMARY KEY) PARTITION BY LIST (id);
CREATE TABLE pproc_p PARTITION OF pproc FOR VALUES IN ('p1', 'p2');
CREATE TABLE pkpi (id text NOT NULL, region int NOT NULL, procs text[], PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE pkpi_1 PARTITION OF pkpi FOR VALUES IN (1);
INSERT INTO pproc VALUES ('p1');
SELECT guard.add_reference('pkpi_pproc', 'pkpi', 'procs', 'pproc');
SELECT audit.enable_tracking('pkpi');
INSERT INTO pkpi VALUES ('k1', 1, '{p1}');
SQL
tap_ok $? "source database with an enforced and a report-only reference, and one between partitioned tables"

"$(pg_config --bindir)/pg_dump" -Fc -f "$dump" "$src"
tap_ok $? "pg_dump of the source database"
"$(pg_config --bindir)/pg_restore" --exit-on-error -d "$dst" "$dump" 2>&1 | grep -v '^$' | sed 's/^/# /'
tap_ok "${PIPESTATUS[0]}" "pg_restore into an empty database"

got=$(q -d "$dst" -c "SELECT string_agg(name || ' ' || source_table || '.' || source_column || ' ' || mode || ' ' || on_delete || ' ' || is_deferrable, '; ' ORDER BY name) FROM guard.references")
tap_is "$got" "kpis_data_product kpis.data_product_id report-only no action false; kpis_processes kpis.business_process_ids enforced cascade true; pkpi_pproc pkpi.procs enforced no action false" \
  "the catalog rows are restored"

err=$(q -d "$dst" -c "INSERT INTO kpis VALUES ('k2', '{bp1,nope}')" 2>&1)
tap_like "$err" 'violates foreign key constraint "kpis_processes"' "the restored database refuses a dangling element"

q -d "$dst" -c "DELETE FROM business_processes WHERE id = 'bp2'"
got=$(q -d "$dst" -c "SELECT business_process_ids::text FROM kpis WHERE id = 'k1'")
tap_is "$got" "{bp1}" "the restored ON DELETE CASCADE removes the element"

err=$(q -d "$dst" -c "INSERT INTO pkpi_1 VALUES ('k2', 1, '{nope}')" 2>&1)
tap_like "$err" 'violates foreign key constraint "pkpi_pproc"' "a direct INSERT into a restored partition is checked"
got=$(q -d "$dst" -c "SELECT string_agg(c.relname || '.' || t.tgname, ' ' ORDER BY c.relname, t.tgname) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relname IN ('pkpi_1', 'pproc_p') AND t.tgparentid = 0 AND NOT t.tgisinternal")
tap_is "$got" "pkpi_1.audit_t pkpi_1.pkpi_pproc_insert pproc_p.pkpi_pproc_on_truncate" "the partitions' statement triggers are restored once"

got=$(q -d "$dst" -c "SELECT reference || ' ' || missing_element FROM guard.validate_references()")
tap_is "$got" "kpis_data_product FI_Star_Schema" "validate_references() reports the report-only violation after restore"
tap_done
