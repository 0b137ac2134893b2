# Helpers for the demo steps in scripts/demo.d (sourced by scripts/demo-run.sh).
#
# Every step states the schema it relies on (demo_registry_schema, demo_expect_key) so that a
# later migration that changes a key stops the step with a message naming the table and the
# key, and test/suites/demo.sh fails, instead of a user's first run failing in the middle.
# Every error a step prints on purpose is announced with demo_expect: a line
# "-- expected: ..." right before it; test/suites/demo.sh fails on any error line that is not.

# demo_expect <what>: announces the error(s) that follow as intended.
demo_expect() { echo "-- expected: $*"; }

# The migrations the demo applies (DEMO_MIGRATIONS: another directory, for test/suites/demo.sh).
DEMO_MIGRATIONS=${DEMO_MIGRATIONS:-migrations}

# demo_registry_schema: the registry tables from migrations/ (applies them when the database
# has none; registry-sync migrate is idempotent, so after 20-migrate this is a no-op).
demo_registry_schema() {
  local out
  out=$(build/daemon/registry-sync migrate --dir "$DEMO_MIGRATIONS") || { echo "$out" >&2; return 1; }
  case "$out" in
    "database is up to date"*) ;;
    *) echo "(registry schema for this step: $(echo "$out" | tail -1))" ;;
  esac
}

# demo_expect_key <table> <column,...>: the primary key the step's SQL is written against.
demo_expect_key() {
  local table=$1 want=$2 got
  got=$(psql -X -At -v ON_ERROR_STOP=1 -v t="$table" <<'SQL'
SELECT coalesce((SELECT string_agg(a.attname, ',' ORDER BY k.ord)
                   FROM pg_catalog.pg_constraint c
                   CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                  WHERE c.conrelid = to_regclass(:'t') AND c.contype = 'p'), '(none)')
SQL
) || return 1
  if [ "$got" != "$want" ]; then
    echo "demo step ${DEMO_STEP:-?}: expects the primary key ($want) on $table, the database has ($got);" \
         "a migration changed it: update the step's SQL (scripts/demo.d/${DEMO_STEP:-?}.sh) and this expectation" >&2
    return 1
  fi
}

# demo_expect_tracked <table>: the step shows the audit rows of <table> (audit_tracking migration).
demo_expect_tracked() {
  local table=$1
  if [ "$(psql -X -At -v t="$table" 2>&1 <<'SQL'
SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid = to_regclass(:'t') AND tgname = 'audit_i_u_d'
SQL
)" != 1 ]; then
    echo "demo step ${DEMO_STEP:-?}: expects $table to be tracked by the audit trail (migration audit_tracking)" >&2
    return 1
  fi
}
