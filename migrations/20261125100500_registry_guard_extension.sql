-- Installs the registry_guard extension (audit trail, array references, RLS helpers).
--
-- registry-sync: requires-extension registry_guard
-- registry-sync: feature registry_guard extension (audit trail, array references, RLS claim helpers)
-- Where the extension is not installable (managed Supabase loads no third-party C
-- extensions) `registry-sync migrate` skips this file and every file that requires the
-- extension, with a notice; `registry-sync status` lists the features as unavailable.

create extension if not exists registry_guard;
