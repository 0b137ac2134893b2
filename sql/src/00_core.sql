-- Core: the guard schema and the library's identity. Install script part 00 (see sql/README.md).
CREATE SCHEMA guard;
COMMENT ON SCHEMA guard IS 'registry_guard: references, RLS helpers and operations';

CREATE FUNCTION guard.library_version() RETURNS text
  LANGUAGE c IMMUTABLE PARALLEL SAFE STRICT AS 'MODULE_PATHNAME', 'rg_library_version';

