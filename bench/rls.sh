#!/usr/bin/env bash
# RLS claim helpers: count(*) over 1M rows as a non-superuser with 1% of the rows visible, under
# policies that compare with a plain constant, with guard.uid() / guard.client_id() per row,
# wrapped in a sub-select, and with the SQL equivalents (Supabase's auth.uid(): current_setting
# + jsonb). Then the p50/p99 of a registry lookup by id through RLS (tenant + read policies).
# Each variant is its own role with its own policy, so the runs interleave (min of N rounds).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${RLS_BENCH_ROWS:-1000000}
ROUNDS=${RLS_BENCH_ROUNDS:-5}
LOOKUPS=${RLS_BENCH_LOOKUPS:-20000}
. test/lib/pgcluster.sh
trap pgc_stop EXIT INT TERM
PGC_SHARED_BUFFERS=1GB pgc_start rg-bench-rls >/dev/null
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }

psql <<SQL
CREATE EXTENSION registry_guard;
CREATE SCHEMA bench;
CREATE SCHEMA auth;
-- Supabase's helpers as shipped (supabase/postgres auth schema), the per-row SQL baseline.
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS \$\$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid \$\$;
CREATE FUNCTION auth.client_id() RETURNS text LANGUAGE sql STABLE AS \$\$
  SELECT nullif(current_setting('request.jwt.claims', true), '')::jsonb -> 'app_metadata' ->> 'client_id' \$\$;
CREATE TABLE bench.docs (id bigint PRIMARY KEY, owner uuid NOT NULL, client_id text NOT NULL, title text);
INSERT INTO bench.docs
  SELECT i, CASE WHEN i % 100 = 0 THEN 'b7c3e2a0-0d6f-4c55-9a43-6c1e2f3a4b5c'::uuid ELSE gen_random_uuid() END,
         CASE WHEN i % 100 = 0 THEN 'acme' ELSE 'tenant_' || (i % 100) END, 'doc ' || i
    FROM generate_series(1, $ROWS) i;
VACUUM ANALYZE bench.docs;
ALTER TABLE bench.docs ENABLE ROW LEVEL SECURITY;
CREATE FUNCTION bench.count_ms() RETURNS double precision LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; n bigint;
BEGIN
  t0 := clock_timestamp();
  SELECT count(*) INTO n FROM bench.docs;
  IF n <> $ROWS / 100 THEN RAISE EXCEPTION 'policy let % rows through, expected %', n, $ROWS / 100; END IF;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END \$\$;
SQL

variants=(
  "uid_plain|owner = 'b7c3e2a0-0d6f-4c55-9a43-6c1e2f3a4b5c'::uuid"
  "uid_guard|owner = guard.uid()"
  "uid_guard_wrapped|owner = (SELECT guard.uid())"
  "uid_sql|owner = auth.uid()"
  "uid_sql_wrapped|owner = (SELECT auth.uid())"
  "tenant_plain|client_id = 'acme'"
  "tenant_guard|client_id = guard.client_id()"
  "tenant_guard_wrapped|client_id = (SELECT guard.client_id())"
  "tenant_sql|client_id = auth.client_id()"
)
for v in "${variants[@]}"; do
  name=${v%%|*} pred=${v#*|}
  psql -c "CREATE ROLE b_$name; GRANT USAGE ON SCHEMA bench, auth TO b_$name; GRANT SELECT ON bench.docs TO b_$name;
           CREATE POLICY p_$name ON bench.docs FOR SELECT TO b_$name USING ($pred);"
done

claims='{"sub":"b7c3e2a0-0d6f-4c55-9a43-6c1e2f3a4b5c","role":"authenticated","email":"ann@example.com","aud":"authenticated","app_metadata":{"provider":"email","client_id":"acme"},"user_metadata":{"name":"Ann"}}'
declare -A best
for round in $(seq 1 "$ROUNDS"); do
  for v in "${variants[@]}"; do
    name=${v%%|*}
    ms=$(psql -At <<SQL
SET max_parallel_workers_per_gather = 0;
SELECT set_config('request.jwt.claims', '$claims', false);
SET ROLE b_$name;
SELECT bench.count_ms();
SQL
)
    ms=$(echo "$ms" | tail -1)
    if [ -z "${best[$name]:-}" ] || awk "BEGIN{exit !($ms < ${best[$name]})}"; then best[$name]=$ms; fi
  done
done

echo "count(*) over $ROWS rows as a non-superuser, 1% visible (min of $ROUNDS runs, ms; ratio vs plain constant)"
ratio() { awk "BEGIN{printf \"%.2fx\", $1 / $2}"; }
for v in "${variants[@]}"; do
  name=${v%%|*} pred=${v#*|}
  base=${best[uid_plain]}
  case $name in tenant_*) base=${best[tenant_plain]} ;; esac
  printf '  %-22s %9.1f ms  %6s   USING (%s)\n' "$name" "${best[$name]}" "$(ratio "${best[$name]}" "$base")" "$pred"
done

# Registry lookup by id through RLS: a kpis-shaped table, 10 tenants x 10k rows, tenant
# isolation + authenticated read (the templates), looked up by (random) id as authenticated.
psql <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon NOLOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated') THEN CREATE ROLE authenticated NOLOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'service_role') THEN CREATE ROLE service_role NOLOGIN BYPASSRLS; END IF;
END \$\$;
GRANT USAGE ON SCHEMA bench TO authenticated;
CREATE TABLE bench.kpis (client_id text NOT NULL DEFAULT 'default', id text NOT NULL, name text NOT NULL,
  domain text NOT NULL, thresholds jsonb, business_process_ids text[], PRIMARY KEY (client_id, id));
INSERT INTO bench.kpis SELECT 'tenant_' || (i % 10), 'kpi_' || i, 'KPI ' || i, 'Finance',
  '[{"comparison":"gt","green":1}]', ARRAY['finance_profitability_analysis'] FROM generate_series(1, 100000) i;
VACUUM ANALYZE bench.kpis;
DO \$\$ BEGIN
  PERFORM guard.rls_service_write_authenticated_read('bench.kpis');
  PERFORM guard.rls_tenant_isolation('bench.kpis');
END \$\$;
CREATE FUNCTION bench.lookup_latency(n int, OUT p50_ms double precision, OUT p99_ms double precision,
                                     OUT max_ms double precision, OUT hits bigint) LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; lat double precision[] := '{}'; r record; k int;
BEGIN
  hits := 0;
  FOR i IN 1..n LOOP
    k := 1 + floor(random() * 100000)::int;
    t0 := clock_timestamp();
    SELECT id, name, thresholds INTO r FROM bench.kpis WHERE id = 'kpi_' || k;
    lat := lat || extract(epoch FROM clock_timestamp() - t0) * 1000;
    IF r.id IS NOT NULL THEN hits := hits + 1; END IF;
  END LOOP;
  SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x), percentile_cont(0.99) WITHIN GROUP (ORDER BY x), max(x)
    INTO p50_ms, p99_ms, max_ms FROM unnest(lat) x;
END \$\$;
SQL
out=$(psql -At -F ' ' <<SQL
SELECT set_config('request.jwt.claims', '{"sub":"b7c3e2a0-0d6f-4c55-9a43-6c1e2f3a4b5c","role":"authenticated","app_metadata":{"client_id":"tenant_3"}}', false);
SET ROLE authenticated;
SELECT round(p50_ms::numeric, 3), round(p99_ms::numeric, 3), round(max_ms::numeric, 3), hits FROM bench.lookup_latency($LOOKUPS);
SQL
)
read -r p50 p99 max found <<<"$(echo "$out" | tail -1)"
echo "registry lookup by id through RLS (tenant isolation + authenticated read, 100k rows, $LOOKUPS lookups):"
echo "  p50 ${p50} ms  p99 ${p99} ms  max ${max} ms  (target p99 < 1 ms; $found of $LOOKUPS ids were the caller's tenant's)"
