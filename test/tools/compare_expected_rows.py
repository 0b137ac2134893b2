#!/usr/bin/env python3
"""Compares a database's registry rows with expected-rows/*.json: every row, every column.

usage: compare_expected_rows.py EXPECTED_DIR  (PG* env selects the database)
Prints one line per table ("ok TABLE N rows" or the differences) and exits 1 on any difference.
Glossary tags come from a set (fixture README), so they are compared as sets.
"""
import glob, json, os, subprocess, sys

KEYS = {"council_preset_members": ("preset_id", "persona_id")}
TABLE = {"business_glossary": "business_glossary_terms"}
SET_COLUMNS = {("business_glossary_terms", "tags")}

def rows(table, cols):
    sel = ", ".join('"%s"' % c for c in cols)
    q = "SELECT coalesce(json_agg(row_to_json(x)), '[]') FROM (SELECT %s FROM public.%s) x" % (sel, table)
    out = subprocess.run(["psql", "-X", "-At", "-c", q], check=True, capture_output=True, text=True).stdout
    return json.loads(out)

def norm(table, row):
    return {k: (sorted(v) if (table, k) in SET_COLUMNS and isinstance(v, list) else v) for k, v in row.items()}

bad = 0
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    name = os.path.basename(path)[:-5]
    table = TABLE.get(name, name)
    expected = json.load(open(path))
    cols = sorted({k for r in expected for k in r})
    key = KEYS.get(table, ("id",))
    exp = {tuple(r[k] for k in key): norm(table, r) for r in expected}
    got = {tuple(r[k] for k in key): norm(table, r) for r in rows(table, cols)}
    diffs = []
    for k in sorted(set(exp) | set(got), key=str):
        if k not in got: diffs.append("missing row %s" % (k,))
        elif k not in exp: diffs.append("unexpected row %s" % (k,))
        else:
            for c in cols:
                if exp[k].get(c) != got[k].get(c):
                    diffs.append("%s.%s: expected %r, got %r" % (k, c, exp[k].get(c), got[k].get(c)))
    if diffs:
        bad += 1
        print("DIFF %s:" % table)
        for d in diffs[:20]: print("  " + d)
    else:
        print("ok %s %d rows" % (table, len(exp)))
sys.exit(1 if bad else 0)
