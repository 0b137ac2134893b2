-- Registry content that is not a list of entries (kpi_defaults in the KPI file, roles in the
-- principal file, principal_affinity and debate_config in the personas file): one jsonb
-- document per file and top-level key, so nothing is lost and export can write it back.

create table public.registry_documents (
  file text not null,
  key text not null,
  document jsonb not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (file, key)
);

comment on table public.registry_documents is
  'Top-level YAML content that is not a list of entries, one jsonb value per (file, key)';

create trigger update_registry_documents_updated_at
  before update on public.registry_documents
  for each row execute function public.update_updated_at_column();
