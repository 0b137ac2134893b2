#!/usr/bin/env bash
# registry-sync migrate --check: the corpus in test/suites/migrate_check (good files pass, each
# bad file yields exactly its expected file:line: rule findings), edited applied files, only
# pending files are checked (our own migrations pass on an empty and on a migrated database),
# exit codes, and the no-transaction directive that the index remedy relies on.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
repo=$(pwd)
rs=$repo/build/daemon/registry-sync
[ -x "$rs" ] || { echo "not ok 1 - $rs is not built"; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
corpus=$repo/test/suites/migrate_check
db_prefix=mig_check_$$
q() { psql -X -Atq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
newdb() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null; }

# ---- our own migrations: on an empty database (all pending) and once applied (none pending)
db=${db_prefix}_own; newdb "$db"
out=$("$rs" migrate --check --dir "$repo/migrations" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "migrations/ pass the check on an empty database"
tap_like "$out" "checked $(ls "$repo"/migrations/*.sql | wc -l) pending migration\(s\) of [0-9]+: 0 finding\(s\)" "every file is checked"
"$rs" migrate --dir "$repo/migrations" --dbname "$db" >/dev/null 2>&1
out=$("$rs" migrate --check --dir "$repo/migrations" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "migrations/ pass the check on a migrated database"
tap_like "$out" "checked 0 pending migration\(s\)" "applied (released) files are not checked"

# ---- the corpus on top of base/ (shop.orders large with --large-table-rows 1000, shop.tags small)
db=${db_prefix}_corpus; newdb "$db"
"$rs" migrate --dir "$corpus/base" --dbname "$db" >/dev/null 2>&1
q "$db" "insert into shop.orders select g, 'c' || g, g, 'n' from generate_series(1, 5000) g; analyze shop.orders, shop.tags" >/dev/null
check() { "$rs" migrate --check --large-table-rows 1000 --dir "$1" --dbname "$db" 2>&1; }
for f in "$corpus"/good/*.sql; do
  d=$work/good_$(basename "$f" .sql); mkdir "$d"; cp "$corpus"/base/*.sql "$f" "$d"/
  out=$(check "$d"); rc=$?
  tap_is "$rc" 0 "good $(basename "$f") passes"
  [ "$rc" = 0 ] || echo "# $out"
done
for f in "$corpus"/bad/*.sql; do
  name=$(basename "$f"); d=$work/bad_${name%.sql}; mkdir "$d"; cp "$corpus"/base/*.sql "$f" "$d"/
  out=$(check "$d"); rc=$?
  tap_is "$rc" 1 "bad $name fails (exit 1)"
  expected=$(head -1 "$f" | sed -n 's/^-- expect: //p')
  got=$(grep -E "^$d/$name:[0-9]+: [a-z-]+: " <<<"$out" | sed -E "s|^$d/$name:([0-9]+): ([a-z-]+): .*|\2@\1|" | sort | tr '\n' ' ')
  tap_is "$got" "$(tr ' ' '\n' <<<"$expected" | sort | tr '\n' ' ')" "bad $name: findings $expected, named by file:line"
  tap_is "$(grep -c "^$d/" <<<"$out")" "$(wc -w <<<"$expected")" "bad $name: no other findings"
done
out=$(check "$work/bad_20270101000000_index")
tap_like "$out" "index: CREATE INDEX on existing table shop.orders \(~5000 rows.*use CREATE INDEX CONCURRENTLY in a migration file of its own marked '-- registry-sync: no-transaction'" \
  "the index finding says what to do"
out=$(check "$work/bad_20270101000001_not_null")
tap_like "$out" "not-null: ALTER TABLE shop.tags ADD COLUMN owner NOT NULL without a DEFAULT .*add the column with a DEFAULT" "the not-null finding says what to do"
out=$(check "$work/bad_20270101000003_drop_table")
tap_like "$out" "mark the statement '-- registry-sync: allow-destructive <reason>'" "the destructive finding names the marker"
# a large-table threshold decides the lock rule: the default (100000 rows) finds shop.orders small
out=$("$rs" migrate --check --dir "$work/bad_20270101000002_lock" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "with the default threshold the 5000-row table is not large"

# the good corpus really runs, in order, on top of base/ (including the no-transaction index)
d=$work/all_good; mkdir "$d"; cp "$corpus"/base/*.sql "$corpus"/good/*.sql "$d"/
out=$("$rs" migrate --dir "$d" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "the good corpus applies"
tap_is "$(q "$db" "select indisvalid from pg_index where indexrelid = 'shop.orders_customer_idx'::regclass")" t \
  "the no-transaction file built its index concurrently"
tap_is "$(q "$db" "select count(*) from supabase_migrations.schema_migrations where version like '2027%'")" "$(ls "$corpus"/good/*.sql | wc -l)" \
  "the no-transaction file is recorded like the others"
out=$("$rs" migrate --check --large-table-rows 1000 --dir "$d" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "nothing pending after migrate: the check passes"

# ---- a no-transaction file that fails is not recorded and can be re-run
d=$work/notx; mkdir "$d"; cp "$corpus"/base/*.sql "$d"/
printf -- '-- registry-sync: no-transaction\ncreate index concurrently if not exists orders_amount_idx on shop.orders (amount);\nselect 1/0;\n' > "$d/20270201000000_idx.sql"
out=$("$rs" migrate --dir "$d" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 1 "a failing no-transaction file fails the run"
tap_like "$out" "20270201000000_idx.sql:3: statement 2 of 2 failed: .*runs without a transaction" "naming file:line and that earlier statements stay"
tap_is "$(q "$db" "select count(*) from supabase_migrations.schema_migrations where version = '20270201000000'")" 0 "and it is not recorded"

# ---- edits to applied migrations
d=$work/edited; mkdir "$d"; cp "$corpus"/base/*.sql "$d"/
echo "-- edited after release" >> "$d/20260101000000_shop.sql"
out=$("$rs" migrate --check --dir "$d" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 1 "an edited applied file fails the check"
tap_like "$out" "^$d/20260101000000_shop.sql:1: edited: 20260101000000_shop.sql was applied to this database and has changed since .*new migration" \
  "naming the file and what to do"

# ---- exit codes and usage
out=$("$rs" migrate --check --dry-run --dir "$d" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 2 "--check with --dry-run is a usage error (exit 2)"
out=$("$rs" migrate --large-table-rows 5 --dir "$d" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 2 "--large-table-rows without --check is a usage error"
out=$("$rs" migrate --check --dir "$d" --host 127.0.0.1 --port 1 --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 3 "an unreachable database is exit 3"
tap_is "$(q "$db" "select count(*) from pg_tables where schemaname = 'shop'")" 3 "--check changed nothing"

for x in own corpus; do psql -X -q -d postgres -c "DROP DATABASE IF EXISTS ${db_prefix}_$x" >/dev/null 2>&1; done
tap_done
