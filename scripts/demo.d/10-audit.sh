# Demo step (sourced by scripts/demo-run.sh): track a registry table, change it as two
# different JWT users (as PostgREST would set them), and print who changed what.
echo "== audit trail: two JWT users edit a KPI; the audit history says who changed what"
psql -X -v ON_ERROR_STOP=1 -q <<'SQL'
CREATE SCHEMA demo_audit;
CREATE TABLE demo_audit.kpis(id text PRIMARY KEY, name text NOT NULL, thresholds jsonb DEFAULT '[]',
                             updated_at timestamptz DEFAULT now());
-- updated_at changes on every write: ignore it, so a write that changes nothing else is no version.
SELECT audit.enable_tracking('demo_audit.kpis', ARRAY['updated_at']) \g /dev/null

BEGIN;
SET LOCAL request.jwt.claims = '{"sub": "3b241101-e2bb-4255-8caf-4136c566a962", "role": "authenticated", "email": "ana@example.com"}';
INSERT INTO demo_audit.kpis(id, name, thresholds) VALUES ('gross_margin', 'Gross Margin', '[{"green": 30}]');
COMMIT;
BEGIN;
SET LOCAL request.jwt.claims = '{"sub": "9f1c8a52-0d6e-4c7e-9d53-0b9a4d7a1f11", "role": "authenticated", "email": "ben@example.com"}';
UPDATE demo_audit.kpis SET thresholds = '[{"green": 35}]', updated_at = now() WHERE id = 'gross_margin';
UPDATE demo_audit.kpis SET updated_at = now() WHERE id = 'gross_margin';  -- nothing tracked changed
COMMIT;
BEGIN;
SET LOCAL registry_guard.actor = 'registry-sync apply';
UPDATE demo_audit.kpis SET name = 'Gross Margin %' WHERE id = 'gross_margin';
COMMIT;

\echo '-- history of demo_audit.kpis {"id": "gross_margin"}'
SELECT h.op, coalesce(h.jwt_email, h.actor, h.db_role::text) AS who, h.changed_columns AS changed,
       (SELECT string_agg(d.column_name || ': ' || coalesce(d.old_value::text, '-') || ' -> ' || d.new_value::text, '; ')
          FROM audit.diff(h.id) d) AS change
  FROM audit.history('demo_audit', 'kpis', '{"id": "gross_margin"}') h
 ORDER BY h.id;
SELECT audit.seal() AS versions_sealed;
SELECT ok AS chain_verifies, checked FROM audit.verify();
SQL
