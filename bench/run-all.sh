#!/usr/bin/env bash
# Runs every benchmark (bench/*.sh except this one); each prints ratios against its own baseline.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for b in bench/*.sh; do
  [ "$(basename "$b")" = run-all.sh ] && continue
  echo "== $b"
  bash "$b" || status=1
done
exit $status
