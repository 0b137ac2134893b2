# Minimal TAP helpers for shell test suites under test/suites (source this file).
# Each check prints "ok N - name" or "not ok N - name"; test/check.sh counts them.
TAP_N=0
TAP_FAILED=0
tap_ok() {  # tap_ok <0|non-zero status> <name>
  TAP_N=$((TAP_N + 1))
  if [ "$1" = 0 ]; then echo "ok $TAP_N - $2"; else echo "not ok $TAP_N - $2"; TAP_FAILED=$((TAP_FAILED + 1)); fi
}
tap_is() {  # tap_is <got> <expected> <name>
  if [ "$1" = "$2" ]; then tap_ok 0 "$3"; else tap_ok 1 "$3"; printf '#   got:      %s\n#   expected: %s\n' "$1" "$2" | head -40; fi
}
tap_like() {  # tap_like <got> <extended-regex> <name>
  # A here-string, not a pipe: under `set -o pipefail` grep -q exiting at the first match
  # can kill printf with SIGPIPE and turn a match into a failure.
  if grep -Eq -- "$2" <<<"$1"; then tap_ok 0 "$3"; else tap_ok 1 "$3"; printf '#   got: %s\n#   expected to match: %s\n' "$1" "$2" | head -40; fi
}
tap_done() { exit $((TAP_FAILED > 0)); }
