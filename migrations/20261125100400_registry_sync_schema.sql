-- registry-sync's own bookkeeping, in a schema the API roles (anon, authenticated,
-- service_role) cannot reach: PostgREST never exposes it and guard.rls_report() stays clean.
--   sync_runs   one row per apply / hr / export run: when, who, what, counts, file hashes
--   watermarks  per HR source: incremental sync position and time of the last full sync

create schema registry_sync;
revoke all on schema registry_sync from public;
comment on schema registry_sync is 'registry-sync internal state; not for API roles';

create table registry_sync.sync_runs (
  id bigserial primary key,
  kind text not null,                    -- apply | hr | export | ...
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  status text not null default 'running' check (status in ('running', 'succeeded', 'failed', 'dry_run')),
  tenant text,
  actor text,
  counts jsonb not null default '{}',    -- per table: inserted / updated / deleted / unchanged
  file_hashes jsonb not null default '{}',  -- file -> sha256
  error text,
  dry_run boolean not null default false
);
create index sync_runs_kind_started_at_idx on registry_sync.sync_runs (kind, started_at desc);

create table registry_sync.watermarks (
  source text primary key,
  value text,
  last_full_at timestamptz,
  updated_at timestamptz not null default now()
);

revoke all on all tables in schema registry_sync from public;
revoke all on all sequences in schema registry_sync from public;
