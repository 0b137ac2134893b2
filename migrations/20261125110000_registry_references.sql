-- Declares the registry's references (ARCHITECTURE.md "References to enforce"):
--   principal_profiles.business_process_ids[]      -> business_processes.id  enforced
--   kpis.business_process_ids[]                    -> business_processes.id  enforced
--   data_products.related_business_processes[]     -> business_processes.id  enforced
--   kpis.data_product_id                           -> data_products.id       report-only
-- The enforced ones are DEFERRABLE INITIALLY DEFERRED so a sync can load the registries in any
-- order inside one transaction; deleting a business process removes it from the arrays
-- (ON DELETE CASCADE) and renaming one follows (ON UPDATE CASCADE). kpis.data_product_id names
-- data products by contract name in the real data, so it is only reported by
-- guard.validate_references(). council_preset_members uses native FKs (its own migration).
--
-- Adoption: a database may already hold dangling elements (the old seed scripts dropped the
-- known ones, but hand edits may have added others). This migration must not fail on them:
-- each reference is declared NOT VALID (new writes are checked from now on), then validated;
-- if validation fails, a WARNING gives the count and the reference stays NOT VALID until the
-- data is fixed and guard.validate_reference(name) is run.
--
-- registry-sync: requires-extension registry_guard
-- registry-sync: feature array references (element-wise foreign keys, validate_references report)

do $$
declare
  ref record;
  n bigint;
begin
  for ref in
    select * from (values
      ('principal_profiles_business_processes', 'public.principal_profiles', 'business_process_ids', 'public.business_processes', false),
      ('kpis_business_processes', 'public.kpis', 'business_process_ids', 'public.business_processes', false),
      ('data_products_business_processes', 'public.data_products', 'related_business_processes', 'public.business_processes', false),
      ('kpis_data_product', 'public.kpis', 'data_product_id', 'public.data_products', true)
    ) as r(name, source_table, source_column, target_table, report_only)
  loop
    continue when exists (select 1 from guard.reference g where g.name = ref.name);
    if ref.report_only then
      perform guard.add_reference(ref.name, ref.source_table::regclass, ref.source_column::name,
                                  ref.target_table::regclass, 'id', report_only => true);
      continue;
    end if;
    perform guard.add_reference(ref.name, ref.source_table::regclass, ref.source_column::name,
                                ref.target_table::regclass, 'id',
                                on_delete => 'cascade', on_update => 'cascade',
                                is_deferrable => true, initially_deferred => true, not_valid => true);
    select count(*) into n from guard.validate_references(ref.name);
    if n = 0 then
      perform guard.validate_reference(ref.name);
    else
      raise warning 'reference %: % element(s) of %.% name no row of %; new writes are checked, existing ones are not',
                    ref.name, n, ref.source_table, ref.source_column, ref.target_table
        using hint = format('SELECT * FROM guard.validate_references(%L) lists them; fix them, then SELECT guard.validate_reference(%L).',
                            ref.name, ref.name);
    end if;
  end loop;
end $$;
