# Demo step (sourced by scripts/demo-run.sh): the registry schema through registry-sync —
# migrate, a second migrate that finds nothing to do, and status.
echo "== registry-sync migrate"
build/daemon/registry-sync migrate --dir "$DEMO_MIGRATIONS"
echo "== registry-sync migrate (again: nothing to do)"
build/daemon/registry-sync migrate --dir "$DEMO_MIGRATIONS"
echo "== registry-sync status"
build/daemon/registry-sync status --dir "$DEMO_MIGRATIONS"
