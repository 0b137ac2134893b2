-- The backend that started a sync run. The audit trail honours registry_guard.sync_run_id only
-- when it names a running run of the writing session (same backend pid), so a role that can
-- SET the setting cannot credit its changes to a run of the sync daemon. Existing rows keep
-- NULL (none of them is running in a session that could still write).
alter table registry_sync.sync_runs add column backend_pid integer;
alter table registry_sync.sync_runs alter column backend_pid set default pg_backend_pid();
comment on column registry_sync.sync_runs.backend_pid is
  'pg_backend_pid() of the session that started the run (the audit trail checks it)';
