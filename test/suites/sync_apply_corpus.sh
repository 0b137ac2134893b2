#!/usr/bin/env bash
# Bad input and faults for registry-sync apply: every case exits non-zero with a clear message
# and leaves the database exactly as it was (rows and audit versions compared before/after).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/sync_apply.sh
db=rg_sync_apply_corpus
sa_newdb $db; tap_ok $? "fresh database with the registry schema"
export PGDATABASE=$db
"$SA_BIN" apply --registry "$SA_FIXTURE" --on-dangling=drop >/dev/null 2>&1; tap_ok $? "the registry is loaded before the bad inputs"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
corpus=test/corpus/sync_apply
before=$(sa_snapshot $db)

# check NAME EXPECTED_EXIT REGEX -- COMMAND...: runs it, checks exit, message and database.
check() {
  local name=$1 want=$2 regex=$3; shift 4
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" = "$want" ] && grep -Eq -- "$regex" <<<"$out" && [ "$(sa_snapshot $db)" = "$before" ]; then
    tap_ok 0 "$name: exit $want, clear message, database unchanged"
  else
    tap_ok 1 "$name: exit $want, clear message, database unchanged"
    printf '#   exit %s (want %s); output:\n' "$rc" "$want"; printf '%s\n' "$out" | grep -v 'enforced: false' | head -8 | sed 's/^/#     /'
    [ "$(sa_snapshot $db)" = "$before" ] || echo "#   the database changed"
  fi
}

# Data-driven cases: overlay the registry with the case's files.
while IFS='|' read -r name code args regex; do
  case "$name" in ''|'#'*) continue ;; esac
  reg=$work/$name; rm -rf "$reg"; sa_copy_fixture "$reg"
  [ -d "$corpus/$name" ] && cp "$corpus/$name"/* "$reg"/
  dangling=--on-dangling=drop; case "$args" in *--on-dangling*) dangling= ;; esac
  # shellcheck disable=SC2086
  check "$name" "$code" "$regex" -- "$SA_BIN" apply --registry "$reg" $dangling $args
done < "$corpus/cases.txt"

# Cases built here.
reg=$work/huge; sa_copy_fixture "$reg"; truncate -s 300M "$reg/kpi_registry.yaml"
check "file over the default 256 MB limit" 1 "kpi_registry.yaml:1:1: error: file is 314572800 bytes, over the limit of 268435456 bytes \(raise --max-file-size" -- \
  "$SA_BIN" apply --registry "$reg" --on-dangling=drop
check "file over --max-file-size" 1 "kpi_registry.yaml:1:1: error: file is [0-9]+ bytes, over the limit of 10240 bytes" -- \
  "$SA_BIN" apply --registry "$SA_FIXTURE" --on-dangling=drop --max-file-size 10K
reg=$work/missing; sa_copy_fixture "$reg"; rm "$reg/principal_registry.yaml"
check "missing registry file" 1 "principal_registry.yaml:1:1: error: registry file not found" -- "$SA_BIN" apply --registry "$reg" --on-dangling=drop
printf 'version: 1\ntables:\n  kpis:\n    key: [id]\n    columns: {id: txt}\nfiles: []\n' > "$work/bad-mapping.yaml"
check "broken mapping file" 2 "mapping file: .*bad-mapping.yaml:5:19: unknown column type 'txt'" -- \
  "$SA_BIN" apply --registry "$SA_FIXTURE" --mapping "$work/bad-mapping.yaml"
check "unknown option" 2 "unrecognised option '--prunee'|unrecognized option '--prunee'" -- "$SA_BIN" apply --registry "$SA_FIXTURE" --prunee
check "registry directory missing" 2 "--registry $work/nope is not a directory" -- "$SA_BIN" apply --registry "$work/nope"
check "bad --on-dangling value" 2 "--on-dangling must be fail, drop or keep" -- "$SA_BIN" apply --registry "$SA_FIXTURE" --on-dangling=ignore
check "database down (no server at the socket)" 3 "(could not connect|server unreachable|No such file|not reachable|connection)" -- \
  "$SA_BIN" apply --registry "$SA_FIXTURE" --on-dangling=drop --host "$work" --port 1
# A role with a password (scram) for the wrong-password and privilege cases.
hba="$PGC_ROOT/run/data/pg_hba.conf"
if [ -n "${PGC_ROOT:-}" ] && [ -f "$hba" ]; then
  grep -q rg_corpus_pw "$hba" || sed -i "1i local all rg_corpus_pw scram-sha-256" "$hba"
  psql -X -q -d postgres -c "SELECT pg_reload_conf()" -c "DROP ROLE IF EXISTS rg_corpus_pw" -c "CREATE ROLE rg_corpus_pw LOGIN PASSWORD 'right-secret-123'" >/dev/null
  echo wrong-secret-456 > "$work/pw"
  # (libpq's own message never holds the password; what registry-sync adds does: the
  # connection it describes, in the error and in its debug log, and a URL it quotes.)
  out=$("$SA_BIN" apply --registry "$SA_FIXTURE" --on-dangling=drop --user rg_corpus_pw --password-file "$work/pw" --log-level debug 2>&1); rc=$?
  tap_is "$rc" 3 "wrong password: exit 3"
  tap_like "$out" "database host=[^ ]+ port=[^ ]+ dbname=[^ ]+ user=rg_corpus_pw: authentication failed" "wrong password: the message describes the connection and says authentication failed"
  tap_like "$out" "connecting to host=.* user=rg_corpus_pw" "wrong password: the debug log describes the connection too"
  tap_is "$(grep -c 'wrong-secret-456' <<<"$out")" 0 "wrong password: the password is in neither"
  out=$(DATABASE_URL="postgresql://rg_corpus_pw:wrong-secret-456@localhost/postgres?no_such_option=1" \
        "$SA_BIN" apply --registry "$SA_FIXTURE" --on-dangling=drop 2>&1); rc=$?
  tap_is "$rc" 2 "a DATABASE_URL libpq cannot parse: exit 2"
  tap_like "$out" "invalid connection string in .*DATABASE_URL.*postgresql://rg_corpus_pw:[^@ ]*@localhost/postgres.*no_such_option" \
    "the message quotes the URL and names the bad parameter"
  tap_is "$(grep -c 'wrong-secret-456' <<<"$out")" 0 "the password in the quoted URL is masked"
  tap_is "$(sa_snapshot $db)" "$before" "wrong password: database unchanged"
  echo right-secret-123 > "$work/pw"
  check "missing privileges" 3 "role rg_corpus_pw lacks privileges apply needs" -- \
    "$SA_BIN" apply --registry "$SA_FIXTURE" --on-dangling=drop --user rg_corpus_pw --password-file "$work/pw"
  sed -i '/rg_corpus_pw/d' "$hba"; psql -X -q -d postgres -c "SELECT pg_reload_conf()" >/dev/null
else
  tap_ok 1 "wrong password / privilege cases need the cluster's pg_hba.conf (PGC_ROOT)"
fi
# A database whose schema is behind: built without the last migrations.
psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS ${db}_old" -c "CREATE DATABASE ${db}_old" >/dev/null
for f in migrations/*.sql; do
  case "$f" in *registry_documents*|*apply_state*) continue ;; esac
  psql -X -q -d ${db}_old -f "$f" >/dev/null 2>&1
done
out=$("$SA_BIN" apply --registry "$SA_FIXTURE" --on-dangling=drop --dbname ${db}_old 2>&1); rc=$?
tap_is "$rc" 1 "schema behind the migrations: exit 1"
tap_like "$out" "table public.registry_documents does not exist" "schema behind: names what is missing"
tap_like "$out" "run 'registry-sync migrate' first" "schema behind: says what to do"
tap_is "$(psql -X -At -d ${db}_old -c 'SELECT count(*) FROM kpis')" 0 "schema behind: nothing written"
psql -X -q -d postgres -c "DROP DATABASE ${db}_old" -c "DROP DATABASE $db" -c "DROP ROLE IF EXISTS rg_corpus_pw" >/dev/null
tap_done
