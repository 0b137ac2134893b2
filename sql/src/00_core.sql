-- Core: the guard schema and the library's identity. Install script part 00 (see sql/README.md).
CREATE SCHEMA guard;
COMMENT ON SCHEMA guard IS 'registry_guard: references, RLS helpers and operations';

CREATE FUNCTION guard.library_version() RETURNS text
  LANGUAGE c IMMUTABLE PARALLEL SAFE STRICT AS 'MODULE_PATHNAME', 'rg_library_version';


-- Whether an ALTER TABLE command reported to an event trigger attaches or detaches a partition.
CREATE FUNCTION guard.ddl_changes_partitions(pg_ddl_command) RETURNS boolean
  LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'rg_ddl_changes_partitions';
REVOKE ALL ON FUNCTION guard.ddl_changes_partitions(pg_ddl_command) FROM PUBLIC;
