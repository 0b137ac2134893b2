#!/usr/bin/env bash
# Array references benchmark (TARGETS.md "Array references"), on its own throw-away cluster.
#
# 1. INSERT of N rows (default 100k) with 5-element text[] arrays over 200 processes:
#    unchecked vs PL/pgSQL row trigger (FOR KEY SHARE per element) vs PL/pgSQL set-based
#    statement trigger over the transition table vs junction rows with native FKs vs ours
#    (guard.add_reference). Prints each variant's time, its added cost over the unchecked
#    insert, and ours as a fraction of each baseline's added cost (min of RUNS runs each).
# 2. DELETE of one referenced process with M referencing rows (default 1M, GIN index):
#    ours RESTRICT (referenced -> error, unreferenced -> passes), ours CASCADE (removes the
#    element from every referencing row), native FK ON DELETE CASCADE on the junction schema.
# Usage: bench/references.sh [rows] [delete_rows] [runs]   (rows=0 skips part 1)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-100000}
DEL_ROWS=${2:-1000000}
RUNS=${3:-3}
. test/lib/pgcluster.sh
trap pgc_stop EXIT INT TERM
PGC_SHARED_BUFFERS=1GB pgc_start rg-bench-refs >/dev/null
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
echo "== cluster $PGHOST, PostgreSQL $(psql -Atc 'show server_version'), rows=$ROWS delete_rows=$DEL_ROWS runs=$RUNS"

psql <<SQL
CREATE EXTENSION registry_guard;
CREATE TABLE processes (id text PRIMARY KEY, name text);
INSERT INTO processes SELECT 'bp_' || lpad(i::text, 3, '0'), 'process ' || i FROM generate_series(1, 200) i;
-- Staging rows: 5 distinct processes each, fixed seed.
DO \$\$ BEGIN PERFORM setseed(0.42); END \$\$;
CREATE TABLE staging AS
  SELECT 'row_' || r AS id,
         ARRAY(SELECT 'bp_' || lpad((1 + ((s + k * 37) % 200))::text, 3, '0') FROM generate_series(0, 4) k) AS bps
    FROM (SELECT r, (random() * 1000)::int AS s FROM generate_series(1, $ROWS) r) g;
CREATE TABLE t_plain (id text PRIMARY KEY, bps text[]);
CREATE TABLE t_rowtrig (id text PRIMARY KEY, bps text[]);
CREATE TABLE t_stmttrig (id text PRIMARY KEY, bps text[]);
CREATE TABLE t_ours (id text PRIMARY KEY, bps text[]);
CREATE TABLE t_junction (id text PRIMARY KEY);
CREATE TABLE t_junction_bp (row_id text NOT NULL REFERENCES t_junction (id) ON DELETE CASCADE,
                            bp_id text NOT NULL REFERENCES processes (id) ON DELETE CASCADE,
                            PRIMARY KEY (row_id, bp_id));
CREATE INDEX ON t_junction_bp (bp_id);

CREATE FUNCTION check_row() RETURNS trigger LANGUAGE plpgsql AS \$\$
DECLARE e text;
BEGIN
  IF NEW.bps IS NOT NULL THEN
    FOREACH e IN ARRAY NEW.bps LOOP
      CONTINUE WHEN e IS NULL;
      PERFORM 1 FROM processes p WHERE p.id = e FOR KEY SHARE;
      IF NOT FOUND THEN RAISE foreign_key_violation USING MESSAGE = format('element %s not present', e); END IF;
    END LOOP;
  END IF;
  RETURN NULL;
END \$\$;
CREATE TRIGGER check_row AFTER INSERT ON t_rowtrig FOR EACH ROW EXECUTE FUNCTION check_row();

CREATE FUNCTION check_stmt() RETURNS trigger LANGUAGE plpgsql AS \$\$
DECLARE missing text;
BEGIN
  SELECT e INTO missing FROM (SELECT DISTINCT unnest(bps) AS e FROM new_rows) x
   WHERE e IS NOT NULL AND NOT EXISTS (SELECT 1 FROM processes p WHERE p.id = x.e) LIMIT 1;
  IF FOUND THEN RAISE foreign_key_violation USING MESSAGE = format('element %s not present', missing); END IF;
  PERFORM 1 FROM processes p WHERE p.id IN (SELECT unnest(bps) FROM new_rows) FOR KEY SHARE;
  RETURN NULL;
END \$\$;
CREATE TRIGGER check_stmt AFTER INSERT ON t_stmttrig REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION check_stmt();

SET client_min_messages = warning;
DO \$\$ BEGIN PERFORM guard.add_reference('t_ours_bps', 't_ours', 'bps', 'processes'); END \$\$;

CREATE FUNCTION bench_ms(stmt text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  EXECUTE stmt;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END \$\$;
CHECKPOINT;
VACUUM ANALYZE;
SQL

if [ "$ROWS" -gt 0 ]; then
declare -A best
variants=(plain rowtrig stmttrig junction ours)
for run in $(seq 1 "$RUNS"); do
  for v in "${variants[@]}"; do
    psql -c "TRUNCATE t_plain, t_rowtrig, t_stmttrig, t_ours, t_junction, t_junction_bp" >/dev/null
    psql -c "VACUUM t_plain, t_rowtrig, t_stmttrig, t_ours, t_junction, t_junction_bp" >/dev/null
    if [ "$v" = junction ]; then
      ms=$(psql -Atc "SELECT bench_ms('INSERT INTO t_junction SELECT id FROM staging') + bench_ms('INSERT INTO t_junction_bp SELECT s.id, e FROM staging s, unnest(s.bps) e')")
    else
      ms=$(psql -Atc "SELECT bench_ms('INSERT INTO t_$v SELECT * FROM staging')")
    fi
    printf '  run %d %-9s %9.1f ms\n' "$run" "$v" "$ms"
    if [ -z "${best[$v]:-}" ] || awk -v a="$ms" -v b="${best[$v]}" 'BEGIN{exit !(a<b)}'; then best[$v]=$ms; fi
  done
done

echo "== INSERT $ROWS rows x 5 elements (min of $RUNS runs)"
awk -v p="${best[plain]}" -v r="${best[rowtrig]}" -v s="${best[stmttrig]}" -v j="${best[junction]}" -v o="${best[ours]}" 'BEGIN {
  printf "  %-40s %9.1f ms\n", "unchecked insert", p
  printf "  %-40s %9.1f ms  %5.2fx  added %8.1f ms\n", "PL/pgSQL row trigger (FOR KEY SHARE)", r, r/p, r-p
  printf "  %-40s %9.1f ms  %5.2fx  added %8.1f ms\n", "PL/pgSQL set-based statement trigger", s, s/p, s-p
  printf "  %-40s %9.1f ms  %5.2fx  added %8.1f ms\n", "junction rows + native FKs", j, j/p, j-p
  printf "  %-40s %9.1f ms  %5.2fx  added %8.1f ms\n", "ours (guard.add_reference)", o, o/p, o-p
  a = o - p; if (a < 0) a = 0
  printf "  ours added / row trigger added:       %5.3f (target <= 0.333)\n", a/(r-p)
  printf "  ours added / statement trigger added: %5.3f (target <= 1)\n", a/(s-p)
  printf "  ours added / junction added:          %5.3f\n", a/(j-p)
}'

fi

echo "== DELETE of one referenced process, $DEL_ROWS referencing rows x 5 elements"
psql <<SQL
SET client_min_messages = warning;
DROP TABLE t_plain, t_rowtrig, t_stmttrig, t_ours, t_junction_bp, t_junction, staging;
DO \$\$ BEGIN PERFORM setseed(0.42); END \$\$;
CREATE TABLE big (id bigint PRIMARY KEY, bps text[]);
INSERT INTO big SELECT r, ARRAY(SELECT 'bp_' || lpad((1 + ((s + k * 37) % 199))::text, 3, '0') FROM generate_series(0, 4) k)
  FROM (SELECT r, (random() * 1000)::int AS s FROM generate_series(1, $DEL_ROWS) r) g;
CREATE INDEX big_bps ON big USING gin (bps);
CREATE TABLE big_junction (id bigint PRIMARY KEY);
INSERT INTO big_junction SELECT id FROM big;
CREATE TABLE big_junction_bp (row_id bigint NOT NULL REFERENCES big_junction (id), bp_id text NOT NULL,
                              PRIMARY KEY (row_id, bp_id));
INSERT INTO big_junction_bp SELECT b.id, e FROM big b, unnest(b.bps) e;
CREATE INDEX ON big_junction_bp (bp_id);
CREATE TABLE processes2 (id text PRIMARY KEY);
INSERT INTO processes2 SELECT id FROM processes;
ALTER TABLE big_junction_bp ADD FOREIGN KEY (bp_id) REFERENCES processes2 (id) ON DELETE CASCADE;
VACUUM ANALYZE;
SQL
# bp_200 is referenced by no row (the generator uses 199 processes); bp_007 by about 1/40 of them.
psql <<'SQL'
\pset footer off
SET client_min_messages = warning;
DO $$ BEGIN PERFORM guard.add_reference('big_bps_restrict', 'big', 'bps', 'processes', on_delete => 'restrict'); END $$;
CREATE FUNCTION bench_try_ms(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  BEGIN
    EXECUTE stmt;
  EXCEPTION WHEN foreign_key_violation THEN
    RETURN format('%s ms (refused: 23503)', round((extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric, 2));
  END;
  RETURN format('%s ms (deleted)', round((extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric, 2));
END $$;
SELECT count(*) AS rows_referencing_bp_007 FROM big WHERE bps @> ARRAY['bp_007'];
SELECT 'ours restrict, referenced process' AS variant, bench_try_ms('DELETE FROM processes WHERE id = ''bp_007''') AS time
UNION ALL
SELECT 'ours restrict, unreferenced process', bench_try_ms('DELETE FROM processes WHERE id = ''bp_200''');
DO $$ BEGIN
  PERFORM guard.drop_reference('big_bps_restrict');
  PERFORM guard.add_reference('big_bps_cascade', 'big', 'bps', 'processes', on_delete => 'cascade');
END $$;
SELECT 'ours cascade (removes the element)' AS variant, bench_try_ms('DELETE FROM processes WHERE id = ''bp_007''') AS time
UNION ALL
SELECT 'native FK cascade, junction schema', bench_try_ms('DELETE FROM processes2 WHERE id = ''bp_007''');
SELECT count(*) AS rows_still_referencing_bp_007 FROM big WHERE bps @> ARRAY['bp_007'];
SQL
