#!/usr/bin/env bash
# Seeded randomized concurrency test of the audit trail and array references (small; the large
# run is bench/audit_random.sh): clients mixing INSERT / UPDATE / DELETE / TRUNCATE on audited
# tables with array references, random savepoint rollbacks and aborts, audit.seal() every
# 100 ms beside them. Every committed change has exactly one version, none comes from aborted
# work, the chain verifies and no dangling element is stored. See test/lib/random_workload.sh.
# Reproduce a failure with the seed it prints: RG_RANDOM_SEED=<seed> test/check.sh audit_random
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/random_workload.sh
seed=${RG_RANDOM_SEED:-$(( $(date +%s) % 100000 ))}
clients=${RG_RANDOM_CLIENTS:-4}
txns=${RG_RANDOM_TXNS:-150}
echo "# seed $seed ($clients clients x $txns transactions); reproduce with RG_RANDOM_SEED=$seed test/check.sh audit_random"
db=rg_audit_random
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists $db >/dev/null 2>&1' EXIT
dropdb --if-exists $db >/dev/null 2>&1
createdb $db
export PGDATABASE=$db
rw_setup_sql | psql -X -q -v ON_ERROR_STOP=1 >/dev/null
tap_ok $? "schema with audited tables and an immediate and a deferred array reference"

started=$SECONDS
rw_run "$seed" "$clients" "$txns" "$work"
tap_ok $? "$clients clients ran $txns transactions each with audit.seal() every 100 ms ($((SECONDS - started))s)"
aborted=$(cat "$work"/client*.out | grep -c 'ERROR:' || true)
echo "# statements or transactions that failed and were rolled back: $aborted"
[ -s "$work/sealer.err" ] && sed 's/^/# sealer: /' "$work/sealer.err" | head -5
tap_is "$(cat "$work/sealer.err")" "" "every audit.seal() beside the writers succeeded"
rw_seal_all
tap_ok $? "everything sealed once the writers are done"

results=$(rw_check_sql | psql -X -q -At -v ON_ERROR_STOP=1 2>&1)
echo "$results" | grep -E '^(committed changes|versions)\|' | sed 's/^/# /'
val() { sed -n "s/^$1|//p" <<<"$results"; }
tap_is "$(val 'changes without exactly one version')" 0 "each committed change has exactly one version (seed $seed)"
tap_is "$(val 'versions of no committed change')" 0 "no version comes from aborted work (seed $seed)"
tap_is "$(val 'tables whose TRUNCATE versions differ from committed TRUNCATEs')" 0 "each committed TRUNCATE has one version (seed $seed)"
tap_is "$(val verify)" true "audit.verify() is ok (seed $seed)"
tap_is "$(val 'dangling elements')" 0 "guard.validate_references() is empty (seed $seed)"
tap_like "$(val 'committed changes')" '^[1-9][0-9]{2,}$' "the workload committed hundreds of changes"
tap_done
