#!/usr/bin/env bash
# Extension upgrades: 0.1.0 (the released version) installed, used (audited writes, seals,
# declared references), then ALTER EXTENSION ... UPDATE to the current version. The upgraded
# catalog must equal a fresh install object by object (test/lib/ext_catalog.sql), and the data,
# the chain and the references must still verify and keep working.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
fresh=rg_upgrade_fresh; up=rg_upgrade_from_010
work=$(mktemp -d)
dropdbs() { dropdb --if-exists $fresh >/dev/null 2>&1; dropdb --if-exists $up >/dev/null 2>&1; }
trap 'rm -rf "$work"; dropdbs' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" registry_guard.control)
seal_all() {  # a concurrent auto-ANALYZE holding an xid (rightly) makes a seal wait: retry
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    q -d "$1" -c "SELECT audit.seal()" >/dev/null
    [ "$(q -d "$1" -c "SELECT unsealed FROM audit.verify()")" = 0 ] && return 0
    sleep 1
  done
  return 1
}
dropdbs; createdb $fresh && createdb $up

q -d $fresh -c "CREATE EXTENSION registry_guard"
tap_is "$(q -d $fresh -c "SELECT extversion FROM pg_extension WHERE extname = 'registry_guard'")" "$current" "a fresh install is version $current"

q -d $up >/dev/null <<'SQL'
CREATE EXTENSION registry_guard VERSION '0.1.0';
CREATE TABLE public.processes(id text PRIMARY KEY, name text);
CREATE TABLE public.kpis(id text PRIMARY KEY, name text, secret text, process_ids text[] NOT NULL DEFAULT '{}');
SELECT audit.enable_tracking('public.kpis', ARRAY['secret']);
SELECT audit.enable_tracking('public.processes');
SELECT guard.add_reference('kpis_processes', 'public.kpis', 'process_ids', 'public.processes');
INSERT INTO public.processes VALUES ('p1', 'Order to cash'), ('p2', 'Procure to pay');
INSERT INTO public.kpis(id, name, secret, process_ids) VALUES ('k1', 'Revenue', 's', '{p1}'), ('k2', 'Margin', 's', '{p1,p2}');
UPDATE public.kpis SET name = 'Net revenue' WHERE id = 'k1';
DELETE FROM public.kpis WHERE id = 'k2';
SQL
tap_ok $? "0.1.0 installed with audited tables and a declared array reference"
seal_all $up; tap_ok $? "0.1.0's chain sealed"
before_versions=$(q -d $up -c "SELECT count(*) FROM audit.record_version")
before_head=$(q -d $up -c "SELECT id || ':' || encode(hash, 'hex') FROM audit.seal_head()")

q -d $up -c "ALTER EXTENSION registry_guard UPDATE TO '$current'" 2>"$work/update.err"
tap_ok $? "ALTER EXTENSION registry_guard UPDATE TO '$current' ($(head -c 400 "$work/update.err"))"
tap_is "$(q -d $up -c "SELECT extversion FROM pg_extension WHERE extname = 'registry_guard'")" "$current" "the upgraded database reports $current"
tap_is "$(q -d $up -c "SELECT guard.library_version()")" "$current" "the loaded library is $current"

q -d $fresh -f test/lib/ext_catalog.sql > "$work/fresh.txt" && q -d $up -f test/lib/ext_catalog.sql > "$work/upgraded.txt"
diff -u "$work/fresh.txt" "$work/upgraded.txt" > "$work/catalog.diff"
st=$?
tap_ok $st "the upgraded catalog equals a fresh $current install ($(wc -l < "$work/fresh.txt") properties compared)"
[ $st = 0 ] || sed 's/^/#   /' "$work/catalog.diff" | head -80

tap_is "$(q -d $up -c "SELECT count(*) FROM audit.record_version")" "$before_versions" "every version recorded by 0.1.0 is still there"
tap_is "$(q -d $up -c "SELECT ok FROM audit.verify()")" "t" "the chain sealed by 0.1.0 verifies after the upgrade"
tap_is "$(q -d $up -c "SELECT id || ':' || encode(hash, 'hex') FROM audit.seal_head()")" "$before_head" "the seal head is unchanged by the upgrade"
tap_is "$(q -d $up -c "SELECT string_agg(op::text, ',' ORDER BY id) FROM audit.history('public', 'kpis', '{\"id\": \"k1\"}')")" \
  "INSERT,UPDATE" "history recorded by 0.1.0 is found by key"
tap_is "$(q -d $up -c "SELECT count(*) FROM guard.validate_references()")" "0" "references validate after the upgrade"

out=$(q -d $up -c "INSERT INTO public.kpis(id, name, process_ids) VALUES ('k3', 'Cash', '{nope}')" 2>&1)
tap_like "$out" "nope" "the array reference still refuses an unknown element after the upgrade"
q -d $up -c "INSERT INTO public.kpis(id, name, secret, process_ids) VALUES ('k3', 'Cash', 'hidden', '{p2}')" \
       -c "UPDATE public.kpis SET name = 'Revenue' WHERE id = 'k1'"
tap_is "$(q -d $up -c "SELECT count(*) FROM audit.record_version")" "$((before_versions + 2))" "writes after the upgrade are audited"
tap_is "$(q -d $up -c "SELECT count(*) FROM audit.record_version WHERE record::text LIKE '%hidden%'")" "0" "ignored columns stay ignored after the upgrade"
seal_all $up; tap_ok $? "sealing continues after the upgrade"
tap_is "$(q -d $up -c "SELECT ok::text || ' unsealed=' || unsealed FROM audit.verify()")" "true unsealed=0" "the continued chain verifies"
tap_done
