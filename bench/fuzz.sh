#!/usr/bin/env bash
# Fuzzes registry-sync's input readers with libFuzzer (on demand, not part of the test command):
#   fuzz_yaml     the YAML reader, scalar rules, JSON view and config file
#   fuzz_mapping  the registry mapping and HR mapping loaders
#   fuzz_hr_csv   the HR CSV reader and row mapping
#   fuzz_hr_json  the SCIM / Workday / SuccessFactors JSON readers
# Each runs for FUZZ_SECONDS (default 60) under AddressSanitizer + UndefinedBehaviorSanitizer,
# seeded from the test fixtures; the corpus grows in build/fuzz-corpus/<target> between runs.
# A crash, leak, UB report or hang leaves its input in build/fuzz-artifacts/<target>/ and makes
# the script exit 1. Usage: bench/fuzz.sh [target...]   (FUZZ_SECONDS=600 bench/fuzz.sh fuzz_yaml)
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
seconds=${FUZZ_SECONDS:-60}
build=build/sanitize
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_yaml fuzz_mapping fuzz_hr_csv fuzz_hr_json)
command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing (scripts/deps.sh installs clang-14)" >&2; exit 2; }
cmake -S daemon -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DRGSYNC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null || exit 2
cmake --build "$build" -j "${JOBS:-2}" --target fuzzers >/dev/null || { echo "fuzz: build failed" >&2; exit 2; }

# seed DIR FILE...: copies seed files (once; later runs keep the grown corpus).
seed() { local d=$1; shift; mkdir -p "$d"; local f; for f in "$@"; do [ -f "$f" ] && cp -n "$f" "$d/seed-$(basename "$f")"; done; }
corpus=build/fuzz-corpus
seed $corpus/fuzz_yaml config/*.yaml test/fixtures/registry-2026-01/*.yaml $(find test/corpus/sync_apply -name '*.yaml' | head -200)
seed $corpus/fuzz_mapping config/registry-mapping.yaml examples/registry-contracts/registry-mapping.yaml config/hr-*.yaml
seed $corpus/fuzz_hr_csv test/fixtures/hr/*.csv
mkdir -p $corpus/fuzz_hr_json
# fuzz_hr_json's first byte picks the reader: 0 SCIM page, 1 Workday report, 2 SuccessFactors.
[ -f $corpus/fuzz_hr_json/seed-workday ] || { printf '\001' | cat - test/fixtures/hr/workday-report.json > $corpus/fuzz_hr_json/seed-workday; }
for f in test/fixtures/hr/sf-page*.json; do
  [ -f "$corpus/fuzz_hr_json/seed-$(basename "$f")" ] || { printf '\002' | cat - "$f" > "$corpus/fuzz_hr_json/seed-$(basename "$f")"; }
done
[ -f $corpus/fuzz_hr_json/seed-scim ] || printf '\000%s' '{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"startIndex":1,"itemsPerPage":1,"Resources":[{"id":"u1","userName":"ann","displayName":"Ann Lee","active":true,"title":"CFO","emails":[{"value":"ann@example.com","primary":true}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E1","department":"Finance","manager":{"value":"u2"}},"meta":{"lastModified":"2026-01-01T00:00:00Z"}}]}' > $corpus/fuzz_hr_json/seed-scim

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=0
printf '%-14s %8s %10s %8s  %s\n' target seconds runs corpus result
for t in "${targets[@]}"; do
  mkdir -p build/fuzz-artifacts/$t
  log=build/fuzz-artifacts/$t/last-run.log
  "$build/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix=build/fuzz-artifacts/$t/ $corpus/$t >"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  size=$(ls $corpus/$t | wc -l)
  if [ $rc = 0 ]; then result=ok; else result="FAILED (exit $rc; see $log)"; failed=1; fi
  printf '%-14s %8s %10s %8s  %s\n' "$t" "$seconds" "${runs:-?}" "$size" "$result"
done
exit $failed
