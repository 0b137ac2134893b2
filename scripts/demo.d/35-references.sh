# Demo step: element-wise foreign keys on arrays (guard.add_reference) catch a dangling
# business process id, a report-only reference lists violations without blocking.
echo "== references: array foreign keys"
psql -X -q -v ON_ERROR_STOP=0 <<'SQL'
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE SCHEMA demo_refs;
CREATE TABLE demo_refs.business_processes (id text PRIMARY KEY, name text NOT NULL);
CREATE TABLE demo_refs.data_products (id text PRIMARY KEY);
CREATE TABLE demo_refs.kpis (id text PRIMARY KEY, business_process_ids text[], data_product_id text);
CREATE INDEX ON demo_refs.kpis USING gin (business_process_ids);
INSERT INTO demo_refs.business_processes VALUES ('finance_profitability', 'Profitability Analysis'),
                                                ('finance_cash', 'Cash Management');
\o /dev/null
SELECT guard.add_reference('demo_kpis_processes', 'demo_refs.kpis', 'business_process_ids',
                           'demo_refs.business_processes', on_delete => 'cascade');
SELECT guard.add_reference('demo_kpis_data_product', 'demo_refs.kpis', 'data_product_id',
                           'demo_refs.data_products', report_only => true);
\o
\echo '-- a KPI naming existing processes is accepted:'
INSERT INTO demo_refs.kpis VALUES ('gross_margin', '{finance_profitability,finance_cash}', 'FI_Star_Schema');
\echo '-- expected: a KPI naming a process that does not exist is refused (23503, like a native FK):'
INSERT INTO demo_refs.kpis VALUES ('dso', '{finance_cash,finance_receivables}', 'FI_Star_Schema');
\echo '-- deleting a process removes it from every array (ON DELETE CASCADE):'
DELETE FROM demo_refs.business_processes WHERE id = 'finance_cash';
SELECT id, business_process_ids FROM demo_refs.kpis;
\echo '-- the report-only reference lists what it would reject:'
SELECT * FROM guard.validate_references() WHERE reference LIKE 'demo\_%';
SELECT name, mode, on_delete, has_gin_index FROM guard.references WHERE name LIKE 'demo\_%';
SET client_min_messages = warning;
DROP SCHEMA demo_refs CASCADE;
SQL
