-- Self-service: a signed-in principal (JWT sub = principal_profiles.auth_user_id) may update
-- their own profile's preferences, communication and default_filters, and nothing else: a
-- policy picks the row, column privileges pick the columns.
--
-- registry-sync: requires-extension registry_guard

select count(*) as statements
  from guard.rls_self_service('public.principal_profiles', 'auth_user_id',
                              array['preferences', 'communication', 'default_filters']);
