#!/usr/bin/env bash
# Differential test of array references: the same randomized sequence of inserts, updates and
# deletes (fixed seeds) runs against an array-FK schema (guard.add_reference) and against the
# equivalent junction-table schema with native FKs. Both must accept and reject the same
# operations (same SQLSTATE) and end with the same data, compared as element sets. Arrays are
# generated without duplicate or NULL elements (a junction table can hold neither).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
db=rg_refs_diff_$$
psql() { PGOPTIONS='-c client_min_messages=warning' command psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
command psql -X -q -d postgres -c "CREATE DATABASE $db" || { tap_ok 1 "create database"; tap_done; }
trap 'command psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1' EXIT

psql <<'SQL'
CREATE EXTENSION registry_guard;
-- One operation on both schemas; returns 'same' or a description of the disagreement.
CREATE FUNCTION diff_apply(op text, a_sql text, b_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE a_state text := 'ok'; b_state text := 'ok';
BEGIN
  BEGIN EXECUTE a_sql; EXCEPTION WHEN others THEN a_state := SQLSTATE; END;
  BEGIN EXECUTE b_sql; EXCEPTION WHEN others THEN b_state := SQLSTATE; END;
  IF a_state = b_state THEN RETURN 'same:' || a_state; END IF;
  RETURN format('%s: array schema %s, junction schema %s [%s] [%s]', op, a_state, b_state, a_sql, b_sql);
END $$;

-- A random array of 0..4 distinct process ids out of a pool of 12 (some never exist).
CREATE FUNCTION diff_elems() RETURNS text[] LANGUAGE sql VOLATILE AS $$
  SELECT coalesce(array_agg(p ORDER BY r), '{}') FROM (
    SELECT 'p' || lpad(g::text, 2, '0') AS p, random() AS r FROM generate_series(0, 11) g ORDER BY random()
     LIMIT (random() * 4.99)::int) x
$$;
CREATE FUNCTION diff_proc() RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT 'p' || lpad((random() * 11.99)::int::text, 2, '0') $$;

-- n random operations; returns the disagreements and counts of accepted/rejected operations.
CREATE FUNCTION diff_run(seed float8, n int, deferred boolean, OUT mismatches text[], OUT accepted int, OUT rejected int) LANGUAGE plpgsql AS $$
DECLARE
  kind int; res text; item int; arr text[]; arr2 text[]; p text; p2 text;
  a text; b text;
BEGIN
  mismatches := '{}'; accepted := 0; rejected := 0;
  PERFORM setseed(seed);
  FOR i IN 1..n LOOP
    kind := (random() * 7.99)::int;
    item := (random() * 24)::int;
    IF kind = 0 THEN  -- insert a process
      p := diff_proc();
      a := format('INSERT INTO procs_a VALUES (%L)', p);
      b := format('INSERT INTO procs_b VALUES (%L)', p);
    ELSIF kind = 1 THEN  -- delete a process
      p := diff_proc();
      a := format('DELETE FROM procs_a WHERE id = %L', p);
      b := format('DELETE FROM procs_b WHERE id = %L', p);
    ELSIF kind = 2 THEN  -- re-key a process
      p := diff_proc(); p2 := diff_proc() || 'r';
      a := format('UPDATE procs_a SET id = %L WHERE id = %L', p2, p);
      b := format('UPDATE procs_b SET id = %L WHERE id = %L', p2, p);
    ELSIF kind IN (3, 4) THEN  -- insert one item, or two in one statement
      arr := diff_elems(); arr2 := diff_elems();
      IF kind = 3 THEN
        a := format('INSERT INTO items_a VALUES (%s, %L)', item, arr);
        b := format('INSERT INTO items_b VALUES (%s); INSERT INTO items_b_bp SELECT %s, unnest(%L::text[])', item, item, arr);
      ELSE
        a := format('INSERT INTO items_a VALUES (%s, %L), (%s, %L)', item, arr, item + 100, arr2);
        b := format('INSERT INTO items_b VALUES (%s), (%s); INSERT INTO items_b_bp SELECT %s, unnest(%L::text[]) UNION ALL SELECT %s, unnest(%L::text[])',
                    item, item + 100, item, arr, item + 100, arr2);
      END IF;
    ELSIF kind IN (5, 6) THEN  -- replace an item's elements
      arr := diff_elems();
      a := format('UPDATE items_a SET bps = %L WHERE id = %s', arr, item);
      b := format('DELETE FROM items_b_bp WHERE item_id = %s; INSERT INTO items_b_bp SELECT id, unnest(%L::text[]) FROM items_b WHERE id = %s', item, arr, item);
    ELSE  -- delete an item
      a := format('DELETE FROM items_a WHERE id = %s', item);
      b := format('DELETE FROM items_b WHERE id = %s', item);
    END IF;
    IF deferred THEN  -- queue the deferred checks, then fire them inside the operation's subtransaction
      a := 'SET CONSTRAINTS ALL DEFERRED; ' || a || '; SET CONSTRAINTS ALL IMMEDIATE';
      b := 'SET CONSTRAINTS ALL DEFERRED; ' || b || '; SET CONSTRAINTS ALL IMMEDIATE';
    END IF;
    res := diff_apply(kind::text, a, b);
    IF res = 'same:ok' THEN accepted := accepted + 1;
    ELSIF res LIKE 'same:%' THEN rejected := rejected + 1;
    ELSE mismatches := mismatches || res;
    END IF;
  END LOOP;
END $$;

SQL
[ $? = 0 ] || { tap_ok 1 "set up the differential harness"; tap_done; }

# Each configuration: ON DELETE / ON UPDATE of the reference and of the native FK.
# "deferred": both sides DEFERRABLE INITIALLY DEFERRED, checks fired by SET CONSTRAINTS.
for cfg in "no action:no action:immediate" "cascade:cascade:immediate" "restrict:cascade:immediate" \
           "cascade:no action:immediate" "no action:cascade:deferred"; do
  IFS=: read -r on_delete on_update timing <<<"$cfg"
  deferred=false; fk_deferral=""
  [ "$timing" = deferred ] && { deferred=true; fk_deferral="DEFERRABLE INITIALLY DEFERRED"; }
  psql <<SQL >/dev/null
DROP TABLE IF EXISTS items_a, procs_a, items_b_bp, items_b, procs_b CASCADE;
CREATE TABLE procs_a (id text PRIMARY KEY);
CREATE TABLE items_a (id int PRIMARY KEY, bps text[]);
CREATE INDEX ON items_a USING gin (bps);
CREATE TABLE procs_b (id text PRIMARY KEY);
CREATE TABLE items_b (id int PRIMARY KEY);
CREATE TABLE items_b_bp (item_id int NOT NULL REFERENCES items_b (id) ON DELETE CASCADE,
                         bp_id text NOT NULL REFERENCES procs_b (id) ON DELETE ${on_delete} ON UPDATE ${on_update} ${fk_deferral},
                         PRIMARY KEY (item_id, bp_id));
INSERT INTO procs_a SELECT 'p' || lpad(g::text, 2, '0') FROM generate_series(0, 7) g;
INSERT INTO procs_b SELECT * FROM procs_a;
-- Differences between the final data of the two schemas, elements compared as sets.
CREATE VIEW diff_data AS
WITH a AS (SELECT 'item ' || id AS k, coalesce((SELECT array_agg(e ORDER BY e) FROM unnest(bps) e), '{}') AS v FROM items_a
           UNION ALL SELECT 'proc ' || id, '{}' FROM procs_a),
     b AS (SELECT 'item ' || i.id AS k, coalesce((SELECT array_agg(bp_id ORDER BY bp_id) FROM items_b_bp j WHERE j.item_id = i.id), '{}') AS v FROM items_b i
           UNION ALL SELECT 'proc ' || id, '{}' FROM procs_b)
(SELECT 'only in array schema' AS side, * FROM (SELECT * FROM a EXCEPT SELECT * FROM b) x)
UNION ALL
(SELECT 'only in junction schema', * FROM (SELECT * FROM b EXCEPT SELECT * FROM a) y);
SELECT guard.add_reference('items_a_procs', 'items_a', 'bps', 'procs_a', on_delete => '${on_delete}', on_update => '${on_update}',
                           is_deferrable => ${deferred}, initially_deferred => ${deferred});
SQL
  mism=0; acc=0; rej=0; details=""
  # Several transactions (the verified-key cache lives per transaction), fixed seeds.
  for seed in 1 2 3 4 5 6 7 8; do
    out=$(psql -At -F '|' -c "SELECT cardinality(mismatches), accepted, rejected, array_to_string(mismatches, E'\n')
                               FROM diff_run(0.$seed$((${#on_delete} % 10)), 150, $deferred)") || { mism=$((mism + 1)); continue; }
    IFS='|' read -r m a r d <<<"$out"
    mism=$((mism + m)); acc=$((acc + a)); rej=$((rej + r))
    [ "$m" = 0 ] || details+="$d"$'\n'
  done
  tap_is "$mism" 0 "on delete $on_delete, on update $on_update, $timing: same accept/reject decisions ($acc accepted, $rej rejected)"
  [ -z "$details" ] || printf '# %s\n' "$details" | head -20
  tap_ok $(( acc > 100 && rej > 100 ? 0 : 1 )) "on delete $on_delete, on update $on_update, $timing: the sequence exercised both outcomes"
  diff=$(psql -At -c "SELECT side || ': ' || k || ' ' || v::text FROM diff_data ORDER BY 1")
  tap_is "$diff" "" "on delete $on_delete, on update $on_update, $timing: same final data (elements as sets)"
  viol=$(psql -At -c "SELECT count(*) FROM guard.validate_references()")
  tap_is "$viol" 0 "on delete $on_delete, on update $on_update, $timing: no dangling element left"
done
tap_done
