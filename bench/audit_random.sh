#!/usr/bin/env bash
# The large run of the seeded randomized concurrency test (test/suites/audit_random.sh is the
# small one in the test command): more clients and transactions on a cluster of its own, with
# audit.seal() every 100 ms beside them. Prints the seed, the committed changes per second and
# the checks (each committed change has exactly one version, none from aborted work, the chain
# verifies, no dangling element); exits non-zero when a check fails.
# Usage: bench/audit_random.sh [clients] [transactions-per-client] [seed]
set -uo pipefail
cd "$(dirname "$0")/.."
clients=${1:-8}
txns=${2:-1000}
seed=${3:-$(( $(date +%s) % 100000 ))}
. test/lib/pgcluster.sh
. test/lib/random_workload.sh
trap 'pgc_stop; rm -rf "$work"' EXIT INT TERM
work=$(mktemp -d)
pgc_start rg-bench-random >/dev/null || exit 1
echo "seed $seed: $clients clients x $txns transactions (reproduce: bench/audit_random.sh $clients $txns $seed)"
rw_setup_sql | psql -X -q -v ON_ERROR_STOP=1 >/dev/null || exit 1
start=$(date +%s.%N)
rw_run "$seed" "$clients" "$txns" "$work"
end=$(date +%s.%N)
rw_seal_all || echo "warning: versions left unsealed after 30 s"
failed=$(cat "$work"/client*.out | grep -c 'ERROR:' || true)
results=$(rw_check_sql | psql -X -q -At -v ON_ERROR_STOP=1)
val() { sed -n "s/^$1|//p" <<<"$results"; }
committed=$(val 'committed changes')
awk -v s="$start" -v e="$end" -v c="$committed" -v f="$failed" 'BEGIN {
  printf "%.1f s, %d committed changes (%.0f/s), %d statements or transactions rolled back\n", e - s, c, c / (e - s), f }'
echo "$results" | sed 's/^/  /'
ok=1
[ "$(val 'changes without exactly one version')" = 0 ] || ok=0
[ "$(val 'versions of no committed change')" = 0 ] || ok=0
[ "$(val 'tables whose TRUNCATE versions differ from committed TRUNCATEs')" = 0 ] || ok=0
[ "$(val verify)" = true ] || ok=0
[ "$(val 'dangling elements')" = 0 ] || ok=0
[ -s "$work/sealer.err" ] && { echo "audit.seal() failed beside the writers:"; head -5 "$work/sealer.err"; ok=0; }
if [ $ok = 1 ]; then echo "all checks passed (seed $seed)"; else echo "CHECKS FAILED (seed $seed)"; exit 1; fi
