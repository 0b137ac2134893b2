-- registry-sync apply's memory of its last successful run per tenant: the input hashes and
-- options it applied, the row counts it left and its transaction id. A re-apply with the same
-- inputs skips the diff only when every table still has those counts and no row is newer than
-- that transaction (so an edit made in the database since is always seen and repaired).
create table registry_sync.apply_state (
  tenant text primary key,
  sync_run_id bigint not null references registry_sync.sync_runs (id),
  options text not null,            -- dangling policy and mapping hash the run used
  file_hashes jsonb not null,       -- file -> sha256, as in sync_runs.file_hashes
  row_counts jsonb not null,        -- table -> rows of this tenant after the run
  xid_text text not null,           -- the run's transaction id (32-bit xid, as text)
  applied_at timestamptz not null default now()
);

revoke all on registry_sync.apply_state from public;
