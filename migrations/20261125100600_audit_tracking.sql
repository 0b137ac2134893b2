-- Audit trail of every registry table: who changed what and when (audit.record_version).
--
-- registry-sync: requires-extension registry_guard
-- registry-sync: feature audit trail of the registry tables (audit.record_version, kpi_threshold_history)
-- audit.enable_tracking is supa_audit's interface (triggers audit_i_u_d and audit_t); rows
-- that exist already get their first version with their next change.

select audit.enable_tracking('public.business_glossary_terms'::regclass);
select audit.enable_tracking('public.business_processes'::regclass);
select audit.enable_tracking('public.principal_profiles'::regclass);
select audit.enable_tracking('public.kpis'::regclass);
select audit.enable_tracking('public.data_products'::regclass);
select audit.enable_tracking('public.consulting_personas'::regclass);
select audit.enable_tracking('public.council_presets'::regclass);
select audit.enable_tracking('public.council_preset_members'::regclass);
select audit.enable_tracking('public.registry_documents'::regclass);
