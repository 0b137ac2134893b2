#!/usr/bin/env bash
# The registry's references as the migrations declare them, on the real January 2026 rows:
# a sync can load the tables in any order inside one transaction (deferred checks), the
# dangling process ids of the January files are refused at commit, kpis.data_product_id is only
# reported, and deleting a business process removes it from every array.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
rows=test/fixtures/legacy-2026-01/rows   # the golden rows of the January 2026 files
rs=build/daemon/registry-sync
db=rg_refs_registry_$$
q() { PGOPTIONS='-c client_min_messages=warning' command psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
[ -x "$rs" ] || { tap_ok 1 "$rs is built"; tap_done; }
[ -f "$rows/kpis.json" ] || { tap_ok 1 "fixture rows at $rows"; tap_done; }
command psql -X -q -d postgres -c "CREATE DATABASE $db" || { tap_ok 1 "create database"; tap_done; }
trap 'command psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1' EXIT

"$rs" migrate --dir migrations --dbname "$db" >/dev/null 2>&1
tap_ok $? "registry-sync migrate applies every migration"
got=$(q -c "SELECT string_agg(name || ':' || mode || ':' || is_deferrable || ':' || on_delete, ' ' ORDER BY name) FROM guard.references")
tap_is "$got" "data_products_business_processes:enforced:true:cascade kpis_business_processes:enforced:true:cascade kpis_data_product:report-only:false:no action principal_profiles_business_processes:enforced:true:cascade" \
  "the migration declares the references of ARCHITECTURE.md"

# Loads a golden-rows JSON file into its table (only the columns the file has).
q <<'SQL'
CREATE FUNCTION public.rg_test_load(tbl regclass, doc jsonb) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE cols text; n bigint;
BEGIN
  SELECT string_agg(quote_ident(a.attname), ', ') INTO cols FROM pg_attribute a
   WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped
     AND a.attname IN (SELECT jsonb_object_keys(doc -> 0));
  EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM jsonb_populate_recordset(NULL::%s, $1)', tbl, cols, cols, tbl) USING doc;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
SQL
load() { printf "SELECT public.rg_test_load('public.%s', %s::jsonb);\n" "$1" "'$(sed "s/'/''/g" "$rows/$1.json")'"; }
out=$( { echo "BEGIN;"; load kpis; load principal_profiles; load data_products; load business_processes; echo "COMMIT;"; } | q 2>&1)
tap_ok $? "referencing rows load before their processes inside one transaction (deferred checks)"
tap_is "$(q -c "SELECT (SELECT count(*) FROM kpis) || ' ' || (SELECT count(*) FROM principal_profiles) || ' ' || (SELECT count(*) FROM data_products) || ' ' || (SELECT count(*) FROM business_processes)")" \
  "20 4 7 31" "all golden rows are stored"

got=$(q -c "SELECT reference || ' ' || count(*) || ' ' || string_agg(DISTINCT missing_element, ',') FROM guard.validate_references() GROUP BY reference")
tap_is "$got" "kpis_data_product 20 FI_Star_Schema" "validate_references() reports only the report-only data product names"

# One of the January files' dangling process ids (test/fixtures/registry-2026-01 kpis.dangling.txt:
# KPI travel names it, the old seed dropped it silently) is refused at commit.
bad=finance_travel_management
err=$(q -c "BEGIN" -c "UPDATE kpis SET business_process_ids = business_process_ids || '$bad'::text WHERE id = (SELECT min(id) FROM kpis)" -c "COMMIT" 2>&1)
tap_like "$err" "violates foreign key constraint \"kpis_business_processes\"" "a dangling process id ($bad) is refused"
# (after the multi-tenancy migration the key names the tenant too: (client_id, business_process_ids)=(default, ...))
tap_like "$err" "Key \\((client_id, )?business_process_ids\\)=\\((default, )?$bad\\) is not present in table \"business_processes\"" "the error names the missing element"

# Deleting a business process removes it from every array that holds it.
bp=$(q -c "SELECT e FROM kpis, unnest(business_process_ids) e GROUP BY e ORDER BY count(*) DESC, e LIMIT 1")
before=$(q -c "SELECT count(*) FROM kpis WHERE business_process_ids @> ARRAY['$bp']")
q -c "DELETE FROM business_processes WHERE id = '$bp'"
tap_ok $? "deleting business process $bp (referenced by $before KPIs) succeeds"
tap_is "$(q -c "SELECT count(*) FROM kpis WHERE business_process_ids @> ARRAY['$bp']") $(q -c "SELECT count(*) FROM guard.validate_references() WHERE reference <> 'kpis_data_product'")" \
  "0 0" "the process is gone from every array and nothing dangles"
tap_done
