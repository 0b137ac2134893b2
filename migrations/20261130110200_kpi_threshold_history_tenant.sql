-- kpi_threshold_history readable through the API, each tenant its own KPIs only.
--
-- The view reads audit.record_version, which no API role may read (it holds every tenant's
-- rows of every table). Granting that, the obvious fix, would show every tenant's thresholds:
-- the view had no tenant filter. Now the view (still security_invoker) reads the KPI versions
-- through registry_private.kpi_threshold_versions(), which runs with its owner's rights and
-- returns only the versions of the request's tenant (guard.client_id(): the JWT claim for API
-- roles), or of every tenant when the calling role may read every tenant anyway (BYPASSRLS,
-- superuser, or SELECT on audit.record_version). Versions written before the multi-tenancy
-- migration carry no client_id: they belong to tenant 'default', where those rows went.
--
-- registry-sync: requires-extension registry_guard

create schema if not exists registry_private;
revoke all on schema registry_private from public;

create function registry_private.kpi_threshold_versions()
returns table (version_id bigint, ts timestamptz, client_id text, kpi_id text, thresholds jsonb)
language sql
stable
security definer
set search_path = ''
as $$
  -- The caller: the SET ROLE role (PostgREST's anon/authenticated/service_role) or, without
  -- one, the session user; inside this function current_user is the owner.
  with caller as (
    select r.rolsuper or r.rolbypassrls or pg_catalog.has_table_privilege(r.oid, 'audit.record_version', 'SELECT') as every_tenant
      from pg_catalog.pg_roles r
     where r.rolname = case when pg_catalog.current_setting('role') = 'none' then session_user::text
                            else pg_catalog.current_setting('role') end
  )
  select v.id,
         v.ts,
         coalesce(coalesce(v.record, v.old_record) ->> 'client_id', 'default'),
         coalesce(v.record, v.old_record) ->> 'id',
         case when v.op in ('INSERT', 'UPDATE') then coalesce(v.record -> 'thresholds', '[]'::jsonb) end
    from audit.record_version v
   where v.table_schema = 'public' and v.table_name = 'kpis' and v.op <> 'TRUNCATE'
     and (coalesce((select every_tenant from caller), false)
          or coalesce(coalesce(v.record, v.old_record) ->> 'client_id', 'default') = guard.client_id())
$$;
revoke all on function registry_private.kpi_threshold_versions() from public;
comment on function registry_private.kpi_threshold_versions() is
  'Versions of public.kpis (id, time, tenant, KPI, thresholds) of the request''s tenant; every tenant for BYPASSRLS, superusers and readers of audit.record_version';

create or replace view public.kpi_threshold_history
with (security_invoker = true)
as
with versions as (
  select v.version_id, v.ts, v.client_id, v.kpi_id, v.thresholds
    from registry_private.kpi_threshold_versions() v
),
numbered as (
  select versions.*,
         lag(thresholds) over w as previous,
         row_number() over w as n
    from versions
  window w as (partition by client_id, kpi_id order by version_id)
),
periods as (
  select client_id, kpi_id, version_id, thresholds, ts as effective_from,
         lead(ts) over (partition by client_id, kpi_id order by version_id) as effective_to
    from numbered
   where n = 1 or thresholds is distinct from previous
)
select p.kpi_id,
       t.value ->> 'comparison_type' as comparison_type,
       case when jsonb_typeof(t.value -> 'green_threshold') = 'number' then (t.value ->> 'green_threshold')::numeric end as green_threshold,
       case when jsonb_typeof(t.value -> 'yellow_threshold') = 'number' then (t.value ->> 'yellow_threshold')::numeric end as yellow_threshold,
       case when jsonb_typeof(t.value -> 'red_threshold') = 'number' then (t.value ->> 'red_threshold')::numeric end as red_threshold,
       case when jsonb_typeof(t.value -> 'inverse_logic') = 'boolean' then (t.value ->> 'inverse_logic')::boolean end as inverse_logic,
       p.effective_from,
       p.effective_to,
       p.version_id,
       p.client_id
  from periods p
  cross join lateral jsonb_array_elements(
         case when jsonb_typeof(p.thresholds) = 'array' then p.thresholds else '[]'::jsonb end) t;

comment on view public.kpi_threshold_history is
  'KPI thresholds over time (green/yellow/red per comparison type) of the request''s tenant, derived from audit.record_version';

revoke all on public.kpi_threshold_history from public, anon, authenticated, service_role, registry_reader;
grant select on public.kpi_threshold_history to authenticated, service_role, registry_reader;
grant execute on function registry_private.kpi_threshold_versions() to authenticated, service_role, registry_reader;
