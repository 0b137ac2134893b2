-- registry_guard 0.1.0: audit trail (schema audit), references and RLS helpers (schema guard).
-- Every object is schema-qualified; no statement depends on search_path.
\echo Use "CREATE EXTENSION registry_guard" to load this file. \quit

CREATE SCHEMA guard;
COMMENT ON SCHEMA guard IS 'registry_guard: references, RLS helpers and operations';

CREATE FUNCTION guard.library_version() RETURNS text
  LANGUAGE c IMMUTABLE PARALLEL SAFE STRICT AS 'MODULE_PATHNAME', 'rg_library_version';

-- ==== audit trail (schema audit) ====

-- ==== end audit trail ====

-- ==== references (schema guard) ====

-- ==== end references ====

-- ==== row-level security helpers (schema guard) ====

-- ==== end row-level security helpers ====
