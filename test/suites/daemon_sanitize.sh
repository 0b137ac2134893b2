#!/usr/bin/env bash
# registry-sync's unit tests again, built with AddressSanitizer + UndefinedBehaviorSanitizer
# (clang when available, else gcc) in build/sanitize: a memory error, a leak or undefined
# behaviour anywhere the unit tests reach fails this suite. TAP: the build, one line per test,
# and one for the sanitizers' verdict.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=build/sanitize
cxx=$(command -v clang++ || command -v g++)
n=1
if cmake -S daemon -B $build -DCMAKE_CXX_COMPILER="$cxx" -DRGSYNC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >$build.log 2>&1 &&
   cmake --build $build -j "${JOBS:-2}" --target registry-sync-tests >>$build.log 2>&1; then
  echo "ok 1 - sanitizer build of the unit tests ($(basename "$cxx"))"
else
  echo "not ok 1 - sanitizer build of the unit tests ($(basename "$cxx"))"
  tail -20 $build.log | sed 's/^/#   /'
  exit 1
fi
out=$(mktemp); err=$(mktemp); trap 'rm -f "$out" "$err"' EXIT
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  $build/registry-sync-tests --gtest_output="json:$out" >/dev/null 2>"$err"
status=$?
python3 - "$out" <<'PY'
import json, sys
n = 1
try:
    data = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"not ok 2 - unit test binary produced no report (a sanitizer stopped it? {e})"); sys.exit(0)
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
count=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(len(s.get("testsuite",[])) for s in d.get("testsuites",[])))' "$out" 2>/dev/null || echo 1)
if grep -qE 'runtime error:|ERROR: (Address|Leak|UndefinedBehavior)Sanitizer' "$err" || [ "$status" != 0 ]; then
  echo "not ok $((count + 2)) - no sanitizer report (exit $status)"
  grep -E -A12 'runtime error:|ERROR: (Address|Leak|UndefinedBehavior)Sanitizer' "$err" | head -40 | sed 's/^/#   /'
  exit 1
fi
echo "ok $((count + 2)) - no sanitizer report"
