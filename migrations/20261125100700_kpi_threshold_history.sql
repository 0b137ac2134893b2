-- kpi_threshold_history: the plan's KPI threshold history as a view over the audit trail
-- (which already versions kpis.thresholds), so it can never drift from what happened.
-- One row per KPI, comparison type and period during which those thresholds held:
-- effective_from is when a version set them, effective_to when the next version changed
-- or removed them (NULL = still in force). Versions that leave thresholds unchanged do not
-- start a new period; a DELETE ends the period. TRUNCATE versions carry no row and are
-- not reflected.
--
-- registry-sync: requires-extension registry_guard
-- registry-sync: feature audit trail of the registry tables (audit.record_version, kpi_threshold_history)

create view public.kpi_threshold_history
with (security_invoker = true)
as
with versions as (
  select v.id as version_id,
         v.ts,
         coalesce(v.record, v.old_record) ->> 'client_id' as client_id,  -- NULL until tenancy
         coalesce(v.record, v.old_record) ->> 'id' as kpi_id,
         case when v.op in ('INSERT', 'UPDATE') then coalesce(v.record -> 'thresholds', '[]'::jsonb) end as thresholds
    from audit.record_version v
   where v.table_schema = 'public' and v.table_name = 'kpis' and v.op <> 'TRUNCATE'
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
  'KPI thresholds over time (green/yellow/red per comparison type), derived from audit.record_version';
