# COPY per API role and registry table (source this file; copy_cells DB prints the matrix).
# COPY cannot run inside a function, so each cell is a psql session: SET LOCAL ROLE and the
# request's claims as PostgREST sets them, then COPY table TO STDOUT (rows seen, per tenant)
# and an empty COPY table FROM STDIN (privileges and row-level security are checked before
# any row is read), rolled back.
copy_cells() {
  local db=$1 persona role claims app t to from
  local -a personas=(
    'anon|anon|{"role": "anon", "app_metadata": {"client_id": "acme"}}|'
    'self-service (Ann, acme)|authenticated|{"sub": "a0000000-0000-4000-8000-00000000000a", "role": "authenticated", "email": "ann@acme.example", "app_metadata": {"client_id": "acme"}}|'
    'service_role|service_role|{"role": "service_role"}|'
    'registry_reader|registry_reader||acme')
  local tables="business_glossary_terms business_processes principal_profiles kpis data_products consulting_personas council_presets council_preset_members registry_documents principal_directory"
  local entry
  for entry in "${personas[@]}"; do
    IFS='|' read -r persona role claims app <<<"$entry"
    for t in $tables; do
      to=$(psql -X -q -At -d "$db" -c "BEGIN" \
             -c "SELECT set_config('request.jwt.claims', '$claims', true), set_config('app.client_id', '$app', true)" \
             -c "SET LOCAL ROLE $role" -c "COPY public.$t (client_id) TO STDOUT" -c "ROLLBACK" 2>&1 | tail -n +2)
      from=$(psql -X -q -At -d "$db" -c "BEGIN" \
             -c "SELECT set_config('request.jwt.claims', '$claims', true), set_config('app.client_id', '$app', true)" \
             -c "SET LOCAL ROLE $role" -c "COPY public.$t (client_id) FROM STDIN" -c "ROLLBACK" </dev/null 2>&1 | tail -n +2)
      printf '%s | %s | copy to: %s | copy from: %s\n' "$persona" "$t" "$(copy_outcome "$to")" "$(copy_outcome "$from")"
    done
  done
}
copy_outcome() {
  case "$1" in
    *"permission denied"*) echo "denied (privilege)" ;;
    *ERROR*) echo "error: $(grep -m1 ERROR <<<"$1" | sed 's/^.*ERROR: *//')" ;;
    "") echo "ok, no rows" ;;
    *) sort <<<"$1" | uniq -c | awk '{printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1}'; echo ;;
  esac
}
