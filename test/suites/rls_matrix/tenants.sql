-- Two client tenants next to the default one (written by the owner, as registry-sync does).
insert into public.business_processes (client_id, id, name, domain) values
  ('acme', 'bp_fin', 'Finance: Profitability Analysis', 'Finance'),
  ('globex', 'bp_fin', 'Finance: Profitability Analysis', 'Finance'),
  ('globex', 'bp_gx_only', 'Globex: Special', 'Finance'),
  ('acme', 'bp_ops', 'Operations', 'Operations'), ('globex', 'bp_ops', 'Operations', 'Operations');
insert into public.business_glossary_terms (client_id, id, term) values
  ('acme', 'gross_margin', 'Gross Margin'), ('globex', 'gross_margin', 'Gross Margin');
insert into public.principal_profiles (client_id, id, name, business_process_ids, auth_user_id, email) values
  ('acme', 'cfo', 'Ann', '{bp_fin}', 'a0000000-0000-4000-8000-00000000000a', 'ann@acme.example'),
  ('acme', 'coo', 'Bob', '{bp_fin}', NULL, 'bob@acme.example'),
  ('globex', 'cfo', 'Gil', '{bp_fin,bp_gx_only}', 'b0000000-0000-4000-8000-00000000000b', 'gil@globex.example');
insert into public.data_products (client_id, id, name, domain, owner) values
  ('acme', 'dp_1', 'FI Star', 'Finance', 'Finance Team'), ('globex', 'dp_1', 'FI Star', 'Finance', 'Finance Team');
insert into public.kpis (client_id, id, name, domain, data_product_id, business_process_ids) values
  ('acme', 'gross_margin', 'Gross Margin', 'Finance', 'dp_1', '{bp_fin}'),
  ('globex', 'gross_margin', 'Gross Margin', 'Finance', 'dp_1', '{bp_fin,bp_ops}');
insert into public.consulting_personas (client_id, id, name) values
  ('acme', 'persona_1', 'Strategist'), ('acme', 'persona_2', 'Skeptic'),
  ('globex', 'persona_1', 'Strategist'), ('globex', 'persona_2', 'Skeptic'), ('globex', 'persona_gx', 'Insider');
insert into public.council_presets (client_id, id, name) values ('acme', 'preset_1', 'Board'), ('globex', 'preset_1', 'Board');
insert into public.council_preset_members (client_id, preset_id, persona_id, position) values
  ('acme', 'preset_1', 'persona_1', 1), ('globex', 'preset_1', 'persona_1', 1);
insert into public.registry_documents (client_id, file, key, document) values
  ('acme', 'kpi_registry.yaml', 'kpi_defaults', '{}'), ('globex', 'kpi_registry.yaml', 'kpi_defaults', '{}');
