#!/usr/bin/env bash
# registry-sync's GoogleTest unit tests, reported as TAP (one line per test).
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=build/daemon/registry-sync-tests
[ -x "$bin" ] || { echo "not ok 1 - $bin is not built (run make)"; exit 1; }
out=$(mktemp); trap 'rm -f "$out"' EXIT
"$bin" --gtest_output="json:$out" >/dev/null 2>&1
status=$?
python3 - "$out" <<'PY'
import json, sys
n = 0
try:
    data = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"not ok 1 - unit test binary produced no report ({e})"); sys.exit(0)
for suite in data.get("testsuites", []):
    for t in suite.get("testsuite", []):
        n += 1
        name = f'{suite["name"]}.{t["name"]}'
        if t.get("failures"):
            print(f"not ok {n} - {name}")
            for f in t["failures"]:
                for line in f.get("failure", "").splitlines()[:10]:
                    print(f"#   {line}")
        else:
            print(f"ok {n} - {name}")
PY
exit $status
