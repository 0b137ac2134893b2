#!/usr/bin/env bash
# Cost of audit.verify_incremental() against history length: for each history size, the same
# 100 new sealed versions are verified incrementally (median of 5 runs), beside a full
# audit.verify() of the whole chain. Prints milliseconds and the ratio to the smallest size:
# the incremental column should stay flat while the full one grows with the history.
# Usage: bench/audit_verify.sh [sizes...]   (default: 10000 100000 400000)
set -uo pipefail
cd "$(dirname "$0")/.."
sizes=${*:-10000 100000 400000}
. test/lib/pgcluster.sh
trap pgc_stop EXIT INT TERM
pgc_start rg-bench-verify >/dev/null || exit 1
q() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
ms() {  # ms SQL: wall milliseconds of one statement, measured by the server
  psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
\set QUIET on
DO \$\$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN PERFORM * FROM $1; RAISE NOTICE 'ms %', extract(epoch FROM clock_timestamp() - t0) * 1000; END \$\$;
SQL
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
printf '%10s %18s %10s %14s %10s\n' history incremental_ms ratio full_ms ratio
base_inc=; base_full=
for n in $sizes; do
  q "DROP EXTENSION IF EXISTS registry_guard CASCADE; DROP TABLE IF EXISTS public.bv; CREATE EXTENSION registry_guard;
     CREATE TABLE public.bv(id int PRIMARY KEY, v text); SELECT audit.enable_tracking('public.bv');" >/dev/null
  q "INSERT INTO public.bv SELECT g, repeat('x', 40) FROM generate_series(1, $n) g" >/dev/null
  q "SELECT audit.seal()" >/dev/null; q "VACUUM ANALYZE audit.version_log, audit.seal" >/dev/null
  q "SELECT ok FROM audit.verify_incremental()" >/dev/null  # the first run verifies everything
  inc=$(for r in 1 2 3 4 5; do
          q "UPDATE public.bv SET v = v || '$r' WHERE id <= 100" >/dev/null; q "SELECT audit.seal()" >/dev/null
          ms "audit.verify_incremental()" 2>&1 | sed -n 's/.*ms //p'
        done | median)
  full=$(ms "audit.verify()" 2>&1 | sed -n 's/.*ms //p')
  [ "$(q "SELECT ok FROM audit.verify_incremental()")" = t ] || { echo "verify_incremental failed at $n" >&2; exit 1; }
  base_inc=${base_inc:-$inc}; base_full=${base_full:-$full}
  awk -v n="$n" -v i="$inc" -v bi="$base_inc" -v f="$full" -v bf="$base_full" \
    'BEGIN { printf "%10d %18.1f %9.2fx %14.1f %9.2fx\n", n, i, i / bi, f, f / bf }'
done
