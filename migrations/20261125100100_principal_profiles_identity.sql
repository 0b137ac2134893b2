-- principal_profiles: HR identity columns (for `registry-sync hr`), the Supabase auth link
-- for self-service editing, and the full-text index over name, title, description and
-- responsibilities.
--
-- HR columns (names are a contract with the HR sync and the mapping file):
--   employee_id      the HR system's employee number; unique when present
--   email            work e-mail (HR-owned when linked, else from YAML)
--   manager_id       the manager's employee_id (not a profile id: HR knows employees)
--   status           active | inactive (HR deactivation never deletes a profile)
--   hr_source        which HR source owns the HR columns; NULL = not linked to HR
--   hr_created       the profile was created by HR sync (apply --prune never deletes it)
--   last_hr_sync_at  last time an HR sync confirmed this profile

-- IF NOT EXISTS throughout: adopted databases may already have some of these (the real
-- project later added email on its own).
alter table public.principal_profiles
  add column if not exists employee_id text,
  add column if not exists email text,
  add column if not exists manager_id text,
  add column if not exists status text not null default 'active',
  add column if not exists hr_source text,
  add column if not exists hr_created boolean not null default false,
  add column if not exists last_hr_sync_at timestamptz,
  add column if not exists auth_user_id uuid;

alter table public.principal_profiles drop constraint if exists principal_profiles_status_check;
alter table public.principal_profiles
  add constraint principal_profiles_status_check check (status in ('active', 'inactive'));

create unique index if not exists principal_profiles_employee_id_key
  on public.principal_profiles (employee_id) where employee_id is not null;
create index if not exists principal_profiles_email_idx on public.principal_profiles (lower(email));
create index if not exists principal_profiles_manager_id_idx on public.principal_profiles (manager_id);
create unique index if not exists principal_profiles_auth_user_id_key
  on public.principal_profiles (auth_user_id) where auth_user_id is not null;

-- The January index covered name and title only; the plan's search covers four columns.
-- array_to_string is only STABLE, so the expression uses an IMMUTABLE wrapper.
create or replace function public.principal_profiles_search_text(
  p_name text, p_title text, p_description text, p_responsibilities text[])
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select coalesce(p_name, '') || ' ' || coalesce(p_title, '') || ' ' ||
         coalesce(p_description, '') || ' ' ||
         coalesce(pg_catalog.array_to_string(p_responsibilities, ' '), '')
$$;

drop index if exists public.principal_profiles_search_idx;
create index principal_profiles_search_idx on public.principal_profiles using gin (
  to_tsvector('english'::regconfig,
              public.principal_profiles_search_text(name, title, description, responsibilities)));

comment on column public.principal_profiles.employee_id is 'HR employee number; unique when present';
comment on column public.principal_profiles.manager_id is 'employee_id of the manager (HR-owned)';
comment on column public.principal_profiles.status is 'active | inactive; HR deactivates, never deletes';
comment on column public.principal_profiles.hr_source is 'HR source that owns the HR columns; NULL = not linked to HR';
comment on column public.principal_profiles.hr_created is 'created by HR sync; apply --prune never deletes it';
comment on column public.principal_profiles.auth_user_id is 'Supabase auth.users.id of the principal, for self-service editing';
