#!/usr/bin/env bash
# The README's test command: installs dependencies, builds everything, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
make -s all
exec test/check.sh "$@"
