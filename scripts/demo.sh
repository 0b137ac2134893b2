#!/usr/bin/env bash
# The README's main command: the whole job on a throw-away local cluster, start to finish.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
make -s all
exec scripts/demo-run.sh
