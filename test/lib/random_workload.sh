# Seeded random concurrent workload on audited tables with array references (source this file).
# Used by test/suites/audit_random.sh (small) and bench/audit_random.sh (large).
#
# Clients run generated psql scripts: transactions of INSERT / UPDATE / DELETE / TRUNCATE on
# audited tables (a referenced table, a referencing one with an immediate and one with a
# DEFERRABLE INITIALLY DEFERRED array reference), random savepoints rolled back or released,
# random ROLLBACKs, an application trigger rolling back its own subtransaction (EXCEPTION
# block), short sleeps that keep transactions open across seals; failing statements (duplicate keys, dangling elements, restricted deletes,
# deadlocks) are rolled back by psql's ON_ERROR_ROLLBACK, a dangling deferred element aborts the
# whole transaction at COMMIT. audit.seal() runs every 100 ms beside them.
# Every change writes its ledger row (rw_ledger, not audited) in the same statement, so the
# ledger holds exactly the committed changes; each row value carries a unique token (tok).
# At the end: each ledger change has exactly one version, no version lacks a ledger change
# (none from aborted work), audit.verify() is ok, guard.validate_references() is empty.
# The workload is a function of the seed (the interleaving is not): a failure names the seed.

rw_setup_sql() {
  cat <<'SQL'
CREATE EXTENSION IF NOT EXISTS registry_guard;
CREATE TABLE public.rw_proc(id text PRIMARY KEY, tok text NOT NULL);
CREATE TABLE public.rw_kpi(id text PRIMARY KEY, tok text NOT NULL, procs text[] NOT NULL DEFAULT '{}');
CREATE TABLE public.rw_kpi_d(id text PRIMARY KEY, tok text NOT NULL, procs text[] NOT NULL DEFAULT '{}');
CREATE INDEX ON public.rw_kpi USING gin (procs);
CREATE INDEX ON public.rw_kpi_d USING gin (procs);
CREATE TABLE public.rw_ledger(tbl text NOT NULL, op text NOT NULL, tok text NOT NULL);
-- An application trigger whose EXCEPTION block rolls back its own subtransaction for every
-- other row: the audit versions of the statement that fired it must survive.
CREATE TABLE public.rw_side(tok text NOT NULL);
CREATE FUNCTION public.rw_side_effect() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    INSERT INTO public.rw_side VALUES (NEW.tok);
    IF pg_catalog.hashtext(NEW.tok) % 2 = 0 THEN RAISE EXCEPTION 'undo the side effect'; END IF;
  EXCEPTION WHEN raise_exception THEN NULL;
  END;
  RETURN NULL;
END $$;
CREATE TRIGGER zz_side AFTER INSERT OR UPDATE ON public.rw_kpi FOR EACH ROW EXECUTE FUNCTION public.rw_side_effect();
SELECT audit.enable_tracking('public.rw_proc');
SELECT audit.enable_tracking('public.rw_kpi');
SELECT audit.enable_tracking('public.rw_kpi_d');
SELECT guard.add_reference('rw_kpi_proc', 'public.rw_kpi', 'procs', 'public.rw_proc');
SELECT guard.add_reference('rw_kpi_d_proc', 'public.rw_kpi_d', 'procs', 'public.rw_proc',
                           is_deferrable => true, initially_deferred => true);
SQL
}

# rw_generate <seed> <client> <transactions>: the client's psql script on stdout.
rw_generate() {
  awk -v seed="$1" -v client="$2" -v txns="$3" '
  function pick(n) { return int(rand() * n) }
  function tok() { n++; return "s" seed "c" client "n" n }
  function procs(   k, i, s) {
    k = pick(4); s = "{"
    for (i = 0; i < k; i++) s = s (i ? "," : "") "p" pick(34)   # p30..p33 never exist
    return s "}"
  }
  function ledger(tbl, op, stmt) {
    printf "WITH c AS (%s RETURNING tok) INSERT INTO public.rw_ledger SELECT %c%s%c, %c%s%c, tok FROM c;\n", stmt, 39, tbl, 39, 39, op, 39
  }
  function change(   r, t, k, tk) {
    r = rand(); k = pick(40); tk = tok()
    t = (rand() < 0.5) ? "rw_kpi" : "rw_kpi_d"
    if (r < 0.14)      ledger("rw_proc", "INSERT", sprintf("INSERT INTO public.rw_proc VALUES (%cp%d%c, %c%s%c)", 39, pick(30), 39, 39, tk, 39))
    else if (r < 0.22) ledger("rw_proc", "UPDATE", sprintf("UPDATE public.rw_proc SET tok = %c%s%c WHERE id = %cp%d%c", 39, tk, 39, 39, pick(30), 39))
    else if (r < 0.27) ledger("rw_proc", "DELETE", sprintf("DELETE FROM public.rw_proc WHERE id = %cp%d%c", 39, pick(30), 39))
    else if (r < 0.52) ledger(t, "INSERT", sprintf("INSERT INTO public.%s VALUES (%ck%d%c, %c%s%c, %c%s%c)", t, 39, k, 39, 39, tk, 39, 39, procs(), 39))
    else if (r < 0.72) ledger(t, "UPDATE", sprintf("UPDATE public.%s SET tok = %c%s%c WHERE id = %ck%d%c", t, 39, tk, 39, 39, k, 39))
    else if (r < 0.84) ledger(t, "UPDATE", sprintf("UPDATE public.%s SET tok = %c%s%c, procs = %c%s%c WHERE id = %ck%d%c", t, 39, tk, 39, 39, procs(), 39, 39, k, 39))
    else if (r < 0.98) ledger(t, "DELETE", sprintf("DELETE FROM public.%s WHERE id = %ck%d%c", t, 39, k, 39))
    else {
      # TRUNCATE and its ledger row: the ledger row only if the TRUNCATE succeeded.
      printf "TRUNCATE public.%s;\n\\if :ERROR\n\\else\nINSERT INTO public.rw_ledger VALUES (%c%s%c, %cTRUNCATE%c, %c%s%c);\n\\endif\n", t, 39, t, 39, 39, 39, 39, tk, 39
    }
  }
  BEGIN {
    srand(seed * 1000 + client)
    print "\\set ON_ERROR_ROLLBACK on"
    print "\\set ON_ERROR_STOP off"
    print "SET client_min_messages = error;"
    print "SET lock_timeout = \x27" 5 "s\x27;"
    for (x = 0; x < txns; x++) {
      print "BEGIN;"
      m = 1 + pick(6); sp = 0
      for (s = 0; s < m; s++) {
        r = rand()
        if (r < 0.12 && !sp) { print "SAVEPOINT sp;"; sp = 1 }
        else if (r < 0.20 && sp) { print (rand() < 0.6 ? "ROLLBACK TO SAVEPOINT sp;" : "RELEASE SAVEPOINT sp;"); sp = 0 }
        change()
        # Transactions kept open across seals now and then.
        if (rand() < 0.1) printf "SELECT pg_catalog.pg_sleep(0.0%d);\n", 1 + pick(3)
      }
      print (rand() < 0.15 ? "ROLLBACK;" : "COMMIT;")
    }
  }'
}

# rw_run <seed> <clients> <transactions-per-client> <workdir>: runs the clients and the sealer.
rw_run() {
  local seed=$1 clients=$2 txns=$3 dir=$4 c pids=()
  for c in $(seq 1 "$clients"); do rw_generate "$seed" "$c" "$txns" > "$dir/client$c.sql"; done
  rm -f "$dir/stop"
  ( while [ ! -f "$dir/stop" ]; do psql -X -q -At -c "SELECT audit.seal()" >/dev/null 2>>"$dir/sealer.err"; sleep 0.1; done ) &
  local sealer=$!
  for c in $(seq 1 "$clients"); do
    psql -X -q -f "$dir/client$c.sql" >"$dir/client$c.out" 2>&1 &
    pids+=($!)
  done
  local st=0
  for c in "${pids[@]}"; do wait "$c" || st=1; done
  touch "$dir/stop"; wait "$sealer"
  return $st
}

# Seals until nothing is unsealed (a concurrent auto-ANALYZE holding an xid makes a seal wait).
rw_seal_all() {
  local i
  for i in $(seq 1 60); do
    psql -X -q -At -c "SELECT audit.seal()" >/dev/null
    [ "$(psql -X -q -At -c "SELECT unsealed FROM audit.verify()")" = 0 ] && return 0
    sleep 0.5
  done
  return 1
}

# The checks, one line each: name|value (0 / t / empty when fine).
rw_check_sql() {
  cat <<'SQL'
CREATE TEMP TABLE rw_v AS
  SELECT v.table_name::text AS tbl, v.op::text AS op,
         CASE WHEN v.op = 'DELETE' THEN v.old_record ->> 'tok' ELSE v.record ->> 'tok' END AS tok
    FROM audit.record_version v WHERE v.table_name IN ('rw_proc', 'rw_kpi', 'rw_kpi_d');
CREATE INDEX ON rw_v (tok);
CREATE INDEX ON public.rw_ledger (tok);
SELECT 'committed changes|' || count(*) FROM public.rw_ledger;
SELECT 'versions|' || count(*) FROM rw_v;
SELECT 'changes without exactly one version|' || count(*) FROM (
  SELECT l.tbl, l.op, l.tok FROM public.rw_ledger l LEFT JOIN rw_v v USING (tbl, op, tok)
   WHERE l.op <> 'TRUNCATE' GROUP BY 1, 2, 3 HAVING count(v.tok) <> 1) x;
SELECT 'versions of no committed change|' || count(*) FROM rw_v v
 WHERE v.op <> 'TRUNCATE' AND NOT EXISTS (SELECT FROM public.rw_ledger l WHERE (l.tbl, l.op, l.tok) = (v.tbl, v.op, v.tok));
SELECT 'tables whose TRUNCATE versions differ from committed TRUNCATEs|' || count(*) FROM (
  SELECT t.tbl FROM (VALUES ('rw_kpi'), ('rw_kpi_d')) t(tbl)
   WHERE (SELECT count(*) FROM rw_v v WHERE v.tbl = t.tbl AND v.op = 'TRUNCATE')
      <> (SELECT count(*) FROM public.rw_ledger l WHERE l.tbl = t.tbl AND l.op = 'TRUNCATE')) x;
SELECT 'verify|' || ok || coalesce(' ' || problem, '') FROM audit.verify();
SELECT 'dangling elements|' || count(*) FROM guard.validate_references();
SQL
}
