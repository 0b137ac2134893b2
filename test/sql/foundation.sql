-- The extension installs into its own schemas and its C++ entry points answer.
CREATE EXTENSION registry_guard CASCADE;
SELECT guard.library_version() = extversion AS library_matches_sql
  FROM pg_extension WHERE extname = 'registry_guard';
SELECT nspname FROM pg_namespace WHERE nspname IN ('audit', 'guard') ORDER BY 1;
-- A bad value for a setting is refused with a message saying what is expected.
SET registry_guard.sync_run_id = 'abc';
SET registry_guard.sync_run_id = '42';
SHOW registry_guard.sync_run_id;
DROP EXTENSION registry_guard;
