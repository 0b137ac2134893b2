# Demo step (sourced by scripts/demo-run.sh): HR sync from a CSV export into principal_profiles
# (the registry schema from migrations/, tenant 'default'): a dry-run plan, the sync, an HR
# change a day later, and the audit trail showing the HR source as the actor of every change.
echo "== HR sync: CSV export -> principal_profiles, audited with the HR source as actor"
demo_registry_schema
demo_expect_key public.principal_profiles client_id,id
demo_expect_tracked public.principal_profiles
hr_demo=$(mktemp -d)
cp test/fixtures/hr/users.csv "$hr_demo/users.csv"
short() { sed "s#$hr_demo/##g"; }
sed "s|file: /var/lib/registry-sync/hr/users.csv|file: $hr_demo/users.csv|" config/hr-csv.yaml >"$hr_demo/hr-csv.yaml"
psql -X -v ON_ERROR_STOP=1 -q <<'SQL'
-- A principal maintained in the YAML registry (tenant 'default', where registry-sync writes),
-- with registry-owned preferences; HR knows her by e-mail.
INSERT INTO public.principal_profiles (client_id, id, name, title, email, preferences)
VALUES ('default', 'coo_priya', 'Priya Nair', 'COO', 'priya.nair@example.com', '{"default_view": "operations"}')
ON CONFLICT (client_id, id) DO NOTHING;
SQL
echo "-- registry-sync hr --dry-run (the plan; nothing written):"
build/daemon/registry-sync hr --mapping "$hr_demo/hr-csv.yaml" --dry-run | short
echo "-- registry-sync hr:"
build/daemon/registry-sync hr --mapping "$hr_demo/hr-csv.yaml"
echo "-- a day later HR promotes Chloé and Kwame leaves the company:"
sed -i -e 's/^41003,Chloé,Martin,Financial Analyst,/41003,Chloé,Martin,Senior Financial Analyst,/' -e '/^41004,/d' "$hr_demo/users.csv"
build/daemon/registry-sync hr --mapping "$hr_demo/hr-csv.yaml" --dry-run | short
demo_expect "the run is refused: 1 of 5 HR-managed profiles deactivated is above the 10% threshold"
build/daemon/registry-sync hr --mapping "$hr_demo/hr-csv.yaml" || echo "(exit status $?: nothing written)"
echo "-- after checking, an operator allows it:"
build/daemon/registry-sync hr --mapping "$hr_demo/hr-csv.yaml" --allow-mass-deactivation
echo "-- and the same file again: nothing to do"
build/daemon/registry-sync hr --mapping "$hr_demo/hr-csv.yaml"
psql -X -v ON_ERROR_STOP=1 -q <<'SQL'
\echo '-- principal profiles after the syncs (preferences stay the registry''s):'
SELECT id, name, title, department, manager_id, status, hr_source, preferences
  FROM public.principal_profiles WHERE hr_source IS NOT NULL ORDER BY id;
\echo '-- the audit trail of those changes:'
SELECT v.id, v.op, v.record->>'id' AS profile, v.actor, v.sync_run_id AS run,
       array_to_string(v.changed_columns, ',') AS changed,
       CASE WHEN v.op = 'UPDATE' THEN (SELECT string_agg(k || ': ' || coalesce(v.old_record->>k, 'NULL') || ' -> ' || coalesce(v.record->>k, 'NULL'), '; ')
                                         FROM unnest(v.changed_columns) k
                                        WHERE k NOT IN ('updated_at', 'last_hr_sync_at')) END AS change
  FROM audit.record_version v
 WHERE v.table_name = 'principal_profiles' AND v.actor LIKE 'registry-sync hr:%'
 ORDER BY v.id;
\echo '-- the runs:'
SELECT id, status, dry_run, counts->>'created' AS created, counts->>'updated' AS updated,
       counts->>'deactivated' AS deactivated, counts->>'rows_written' AS written
  FROM registry_sync.sync_runs WHERE kind = 'hr' ORDER BY id;
SQL
rm -rf "$hr_demo"
