#!/usr/bin/env bash
# registry-sync against a server of its own that fails: wrong password (SCRAM over TCP),
# a server that is down, a server without the registry_guard extension (like managed
# Supabase), config-file/environment/flag precedence end to end; the password never shows.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/pgcluster.sh
repo=$(pwd)
rs=$repo/build/daemon/registry-sync
[ -x "$rs" ] || { echo "not ok 1 - $rs is not built"; exit 1; }
work=$(mktemp -d); chmod 755 "$work"
trap 'pgc_stop; rm -rf "$work"' EXIT
PGC_TCP=1 pgc_start sc-faults >/dev/null || { echo "not ok 1 - cannot start a cluster"; exit 1; }
sock=$PGHOST port=$PGPORT
secret='S3cr3t-Pa55word-xyzzy'
psql -X -q -c "set password_encryption = 'scram-sha-256'" -c "create role sc_app login password '$secret' createdb" -c "create database sc_app owner sc_app" >/dev/null
# SCRAM for every TCP connection, trust on the socket for the harness.
pgc_as_server sh -c "printf 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n' > '$PGC_ROOT/run/data/pg_hba.conf'"
pgc_pg_ctl reload >/dev/null
sleep 0.5
migrations=$repo/migrations

# ---- wrong password
out=$(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$rs" status --dir "$migrations" \
      --database-url "postgresql://sc_app:wrong-$secret@127.0.0.1:$port/sc_app" --log-level debug 2>&1); rc=$?
tap_is "$rc" 3 "wrong password exits 3"
tap_like "$out" "authentication failed" "and says authentication failed"
tap_ok "$(grep -c -- "$secret" <<<"$out")" "the (wrong) password is not printed"

out=$(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE PGPASSWORD="wrong-$secret" "$rs" status --dir "$migrations" \
      --host 127.0.0.1 --port "$port" --user sc_app --dbname sc_app 2>&1); rc=$?
tap_is "$rc" 3 "wrong PGPASSWORD exits 3"
tap_like "$out" "password environment PGPASSWORD" "and names PGPASSWORD as the password's source"
tap_ok "$(grep -c -- "$secret" <<<"$out")" "the PGPASSWORD value is not printed"

# ---- right password from each source; precedence flags > environment > config file
cat > "$work/sync.yaml" <<YAML
database_url: postgresql://sc_app:$secret@127.0.0.1:$port/sc_app
log_level: debug
YAML
out=$(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$rs" migrate --dir "$migrations" --config "$work/sync.yaml" 2>&1); rc=$?
tap_is "$rc" 3 "migrate as a non-superuser (config file's database_url, SCRAM over TCP) stops at CREATE EXTENSION: exit 3"
tap_like "$out" "applied .*registry_tables" "after applying the SQL-only migrations"
tap_like "$out" "registry_guard_extension.sql:[0-9]+: .*permission denied.*lacks a privilege" "naming the file and the missing privilege"
tap_like "$out" "\\[debug\\] connecting to host=127.0.0.1" "debug logging shows the target"
tap_ok "$(grep -c -- "$secret" <<<"$out")" "no log line shows the password"
psql -X -q -c "alter role sc_app superuser" >/dev/null
out=$(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$rs" migrate --dir "$migrations" --config "$work/sync.yaml" 2>&1); rc=$?
tap_is "$rc" 0 "as superuser the rerun applies the rest (exit 0)"
tap_ok "$(grep -c -- "$secret" <<<"$out")" "still no password in the output"
out=$(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE DATABASE_URL="postgresql://sc_app@127.0.0.1:$port/sc_app_nope" \
      "$rs" status --dir "$migrations" --config "$work/sync.yaml" 2>&1); rc=$?
tap_is "$rc" 3 "DATABASE_URL overrides the config file's database (which does not exist: exit 3)"
tap_like "$out" "sc_app_nope.*does not exist" "and names the database from the environment"
out=$(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE DATABASE_URL="postgresql://sc_app@127.0.0.1:$port/sc_app_nope" \
      "$rs" status --dir "$migrations" --config "$work/sync.yaml" --dbname sc_app 2>&1); rc=$?
tap_is "$rc" 0 "--dbname overrides DATABASE_URL (exit 0)"
printf '%s\n' "$secret" > "$work/pw"
out=$(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$rs" status --dir "$migrations" --host 127.0.0.1 --port "$port" \
      --user sc_app --dbname sc_app --password-file "$work/pw" 2>&1); rc=$?
tap_is "$rc" 0 "--password-file works"
tap_like "$out" "summary: .* 0 pending" "and status reports the migrated database"
out=$("$rs" migrate --database-url "postgresql://sc_app:$secret@127.0.0.1:$port/sc_app?bogus_option=1" --dir "$migrations" 2>&1); rc=$?
tap_is "$rc" 2 "a malformed URL is a usage error (exit 2)"
tap_like "$out" "invalid connection string in flag --database-url" "naming where the URL came from"
tap_ok "$(grep -c -- "$secret" <<<"$out")" "the malformed URL's password is not printed"
out=$("$rs" migrate --database-url "postgresql://sc_app:$secret@127.0.0.1:notaport/sc_app" --dir "$migrations" 2>&1); rc=$?
tap_is "$rc" 3 "a URL libpq rejects at connect exits 3"
tap_ok "$(grep -c -- "$secret" <<<"$out")" "and its password is not printed"

# ---- server down
pgc_pg_ctl -m fast stop >/dev/null
out=$("$rs" status --dir "$migrations" --host 127.0.0.1 --port "$port" --dbname postgres 2>&1); rc=$?
tap_is "$rc" 3 "database down (TCP) exits 3"
tap_like "$out" "not reachable" "and says the server is not reachable"
out=$("$rs" migrate --dir "$migrations" --host "$sock" --dbname postgres 2>&1); rc=$?
tap_is "$rc" 3 "database down (socket) exits 3"
pgc_pg_ctl start >/dev/null

# ---- a server without registry_guard (managed Supabase): extension migrations are skipped
rm -f "$PGC_ROOT"/inst/share/postgresql/*/extension/registry_guard*
createdb -h "$sock" -p "$port" -U postgres sc_managed
out=$("$rs" migrate --dir "$migrations" --host "$sock" --port "$port" --user postgres --dbname sc_managed 2>&1); rc=$?
tap_is "$rc" 0 "migrate where registry_guard is unavailable exits 0"
tap_like "$out" "skipped .*registry_guard_extension.sql: needs extension registry_guard" "and skips the extension migration with a notice"
tap_like "$out" "unavailable on this server: registry_guard extension" "and names the unavailable feature"
tap_is "$(psql -X -Atq -h "$sock" -p "$port" -U postgres -d sc_managed -c "select count(*) from information_schema.tables where table_schema='public' and table_name in ('kpis','principal_profiles','registry_documents')")" 3 \
  "the SQL-only migrations are applied"
out=$("$rs" status --dir "$migrations" --host "$sock" --port "$port" --user postgres --dbname sc_managed 2>&1); rc=$?
tap_is "$rc" 0 "status exits 0"
tap_like "$out" "unavailable +[0-9]+_registry_guard_extension.sql" "status lists the extension migration as unavailable"
tap_like "$out" "feature unavailable: registry_guard extension" "status says which features are unavailable"
tap_done
