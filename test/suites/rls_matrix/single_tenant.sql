-- A single-tenant registry as it exists before the multi-tenancy migration (no client_id).
insert into public.business_processes (id, name, domain) values ('bp_fin', 'Finance: Profitability Analysis', 'Finance');
insert into public.business_glossary_terms (id, term) values ('gross_margin', 'Gross Margin');
insert into public.principal_profiles (id, name, business_process_ids, auth_user_id)
  values ('cfo', 'Dee', '{bp_fin}', '11111111-1111-4111-8111-111111111111');
insert into public.data_products (id, name, domain, owner) values ('dp_1', 'FI Star', 'Finance', 'Finance Team');
insert into public.kpis (id, name, domain, data_product_id, business_process_ids)
  values ('gross_margin', 'Gross Margin', 'Finance', 'FI_Star_Schema', '{bp_fin}');
insert into public.consulting_personas (id, name) values ('persona_1', 'Strategist'), ('persona_2', 'Skeptic');
insert into public.council_presets (id, name) values ('preset_1', 'Board');
insert into public.council_preset_members (preset_id, persona_id, position) values ('preset_1', 'persona_1', 1);
insert into public.registry_documents (file, key, document) values ('kpi_registry.yaml', 'kpi_defaults', '{"unit": "%"}');
