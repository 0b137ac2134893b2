-- The five registry tables of January 2026 (glossary, business processes, principal
-- profiles, KPIs, data products) with their updated_at trigger and lookup indexes.
--
-- registry-sync: baseline
-- This file is the baseline for adoption: a database already built by the January 2026
-- migrations 0001-0005 holds exactly these tables. Every statement is idempotent (IF NOT
-- EXISTS / OR REPLACE), so `registry-sync migrate` can run it over such a database after
-- checking the tables' columns, without touching a row, and then apply the later files.

create or replace function public.update_updated_at_column()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at = now();
  return new;
end;
$$;

comment on function public.update_updated_at_column() is
  'Trigger function: sets updated_at to now() on every UPDATE of a registry row.';

create table if not exists public.business_glossary_terms (
  id text primary key,
  term text not null,
  definition text,
  aliases text[] default '{}',
  tags text[] default '{}',
  metadata jsonb default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists public.business_processes (
  id text primary key,
  name text not null,
  domain text not null,
  description text,
  owner_role text,
  stakeholder_roles text[] default '{}',
  display_name text,
  tags text[] default '{}',
  metadata jsonb default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists public.principal_profiles (
  id text primary key,
  name text not null,
  title text,
  first_name text,
  last_name text,
  role text,
  department text,
  source text,
  description text,
  responsibilities text[] default '{}',
  business_process_ids text[] default '{}',
  default_filters jsonb default '{}',
  typical_timeframes text[] default '{}',
  principal_groups text[] default '{}',
  persona_profile jsonb default '{}',
  preferences jsonb default '{}',
  permissions text[] default '{}',
  time_frame jsonb default '{}',
  communication jsonb default '{}',
  metadata jsonb default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists public.kpis (
  id text primary key,
  name text not null,
  domain text not null,
  description text,
  unit text,
  data_product_id text not null,
  view_name text,
  business_process_ids text[] default '{}',
  sql_query text,
  filters jsonb default '{}',
  thresholds jsonb default '[]',
  dimensions jsonb default '[]',
  tags text[] default '{}',
  synonyms text[] default '{}',
  owner_role text,
  stakeholder_roles text[] default '{}',
  metadata jsonb default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists public.data_products (
  id text primary key,
  name text not null,
  domain text not null,
  description text,
  owner text not null,
  version text default '1.0.0',
  related_business_processes text[] default '{}',
  tags text[] default '{}',
  metadata jsonb default '{}',
  tables jsonb default '{}',
  views jsonb default '{}',
  yaml_contract_path text,
  output_path text,
  last_updated date,
  reviewed boolean default false,
  language text default 'EN',
  documentation text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- updated_at triggers (the January glossary had none: created here for every table).
drop trigger if exists update_business_glossary_terms_updated_at on public.business_glossary_terms;
create trigger update_business_glossary_terms_updated_at
  before update on public.business_glossary_terms
  for each row execute function public.update_updated_at_column();

drop trigger if exists update_business_processes_updated_at on public.business_processes;
create trigger update_business_processes_updated_at
  before update on public.business_processes
  for each row execute function public.update_updated_at_column();

drop trigger if exists update_principal_profiles_updated_at on public.principal_profiles;
create trigger update_principal_profiles_updated_at
  before update on public.principal_profiles
  for each row execute function public.update_updated_at_column();

drop trigger if exists update_kpis_updated_at on public.kpis;
create trigger update_kpis_updated_at
  before update on public.kpis
  for each row execute function public.update_updated_at_column();

drop trigger if exists update_data_products_updated_at on public.data_products;
create trigger update_data_products_updated_at
  before update on public.data_products
  for each row execute function public.update_updated_at_column();

-- GIN indexes on the array reference columns: reference checks and "who uses process X"
-- lookups (including restrict/cascade on delete of a process) go through them.
create index if not exists principal_profiles_business_process_ids_idx
  on public.principal_profiles using gin (business_process_ids);
create index if not exists kpis_business_process_ids_idx
  on public.kpis using gin (business_process_ids);
create index if not exists idx_data_products_related_bps
  on public.data_products using gin (related_business_processes);

-- Lookup indexes the registries are queried by.
create index if not exists business_glossary_terms_aliases_idx
  on public.business_glossary_terms using gin (aliases);
create index if not exists idx_business_processes_domain on public.business_processes (domain);
create index if not exists kpis_domain_idx on public.kpis (domain);
create index if not exists kpis_data_product_id_idx on public.kpis (data_product_id);
create index if not exists kpis_tags_idx on public.kpis using gin (tags);
create index if not exists idx_data_products_domain on public.data_products (domain);
create index if not exists principal_profiles_role_idx on public.principal_profiles (role);
