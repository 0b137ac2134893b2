#!/usr/bin/env bash
# Audit trail across pg_dump / pg_restore: the audit rows are in the dump (extension config
# tables), the chain still verifies, history by schema/table/key still finds the versions
# although the table's OID changed, ignored columns and append-only survive, ids continue.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
src=rg_audit_dump_src; dst=rg_audit_dump_dst
bindir=$(pg_config --bindir)
work=$(mktemp -d); trap 'rm -rf "$work"; dropdb --if-exists $src >/dev/null 2>&1; dropdb --if-exists $dst >/dev/null 2>&1' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
# A concurrent auto-ANALYZE holds a transaction id and (rightly) makes audit.seal() wait for
# it: seal until nothing is left unsealed (a few tries).
seal_all() {
  for _ in 1 2 3 4 5; do
    q -d "$1" -c "SELECT audit.seal()" >/dev/null
    [ "$(q -d "$1" -c "SELECT unsealed FROM audit.verify()")" = 0 ] && return 0
    sleep 1
  done
  return 1
}
dropdb --if-exists $src >/dev/null 2>&1; dropdb --if-exists $dst >/dev/null 2>&1
createdb $src && createdb $dst
q -d $src >/dev/null <<'SQL'
CREATE EXTENSION registry_guard;
CREATE TABLE public.kpis(id text PRIMARY KEY, name text, secret text, updated_at timestamptz DEFAULT now());
SELECT audit.enable_tracking('public.kpis', ARRAY['secret', 'updated_at']);
BEGIN;
SET LOCAL request.jwt.claims = '{"sub": "3b241101-e2bb-4255-8caf-4136c566a962", "email": "ana@example.com"}';
INSERT INTO public.kpis(id, name, secret) VALUES ('k1', 'Revenue', 's'), ('k2', 'Margin', 's');
COMMIT;
UPDATE public.kpis SET name = 'Net revenue' WHERE id = 'k1';
DELETE FROM public.kpis WHERE id = 'k2';
SQL
seal_all $src
tap_ok $? "source database with tracked changes, sealed"
src_versions=$(q -d $src -c "SELECT count(*) FROM audit.record_version")
src_oid=$(q -d $src -c "SELECT 'public.kpis'::regclass::oid")
src_max=$(q -d $src -c "SELECT max(id) FROM audit.version_log")

"$bindir/pg_dump" -Fc -f "$work/db.dump" $src
tap_ok $? "pg_dump"
"$bindir/pg_restore" --disable-triggers -d $dst "$work/db.dump" 2>"$work/restore.err"
tap_ok $? "pg_restore --disable-triggers (errors: $(head -c 300 "$work/restore.err"))"

tap_is "$(q -d $dst -c "SELECT count(*) FROM audit.record_version")" "$src_versions" "every version is in the dump"
tap_is "$(q -d $dst -c "SELECT ok::text || ' ' || checked FROM audit.verify()")" "true $src_versions" "the chain verifies after restore"
dst_oid=$(q -d $dst -c "SELECT 'public.kpis'::regclass::oid")
[ "$dst_oid" != "$src_oid" ]; tap_ok $? "the restored table has a new OID ($src_oid -> $dst_oid)"
tap_is "$(q -d $dst -c "SELECT string_agg(op::text, ',' ORDER BY id) FROM audit.history('public', 'kpis', '{\"id\": \"k1\"}')")" \
  "INSERT,UPDATE" "history by schema, table and key finds the versions recorded under the old OID"
q -d $dst -c "UPDATE public.kpis SET name = 'Revenue (net)' WHERE id = 'k1'" -c "UPDATE public.kpis SET secret = 'rotated'"
tap_is "$(q -d $dst -c "SELECT string_agg(op::text, ',' ORDER BY id) FROM audit.history('public', 'kpis', '{\"id\": \"k1\"}')")" \
  "INSERT,UPDATE,UPDATE" "new versions join the history; a change of an ignored column still writes none"
[ "$(q -d $dst -c "SELECT count(*) FROM audit.version_log WHERE id > $src_max")" = 1 ]; tap_ok $? "version ids continue after the restored ones"
tap_is "$(q -d $dst -c "SELECT count(*) FROM audit.record_version WHERE record::text LIKE '%rotated%' OR record ? 'secret'")" "0" "ignored columns are still ignored"
out=$(q -d $dst -c "DELETE FROM audit.version_log" 2>&1)
tap_like "$out" "append-only" "the restored audit log is still append-only"
seal_all $dst
tap_is "$(q -d $dst -c "SELECT ok::text || ' unsealed=' || unsealed FROM audit.verify()")" "true unsealed=0" "sealing continues the restored chain"
tap_done
