// Internal interface of the audit trail (schema audit): record ids, the write buffer, contexts.
//
// Everything declared here is C-style code that may ereport: it is called from inside one
// rg::pg(...) per SQL call, holds no C++ object with a destructor, and keeps its state in
// PostgreSQL memory contexts.
#pragma once

#include "core/pg.hpp"

namespace rg::audit {

// OIDs of the extension's own objects in this database (looked up once, reset when dropped).
struct Catalog {
  Oid schema;
  Oid version_log;
  Oid change_context;
  Oid tracked_table;
  Oid id_seq;
  Oid op_enum[4];  // audit.operation labels INSERT, UPDATE, DELETE, TRUNCATE
};
enum Op { OP_INSERT = 0, OP_UPDATE = 1, OP_DELETE = 2, OP_TRUNCATE = 3 };

const Catalog &catalog();

// supa_audit 0.3.1's record id: UUID v5 (namespace fd62bc3d-...) over the text of
// jsonb_build_array(to_jsonb(oid)) || jsonb_agg(rec->>col). `overlay` (may be NULL) takes
// precedence over `rec` for the key columns (old values of an UPDATE).
void record_id(Oid relid, int nkeys, char *const *keys, JsonbContainer *rec, JsonbContainer *overlay,
               pg_uuid_t *out);
void random_uuid(pg_uuid_t *out);

// One buffered version; written to audit.version_log at statement end (see audit_buffer.cpp).
struct PendingVersion {
  Op op;
  int64 context_id;
  bool has_record_id, has_old_record_id;
  bool has_tenant;   // the image can hold client_id (the table has that column, not ignored)
  pg_uuid_t record_id, old_record_id;
  Jsonb *image;      // NULL for TRUNCATE
  Jsonb *old_delta;  // UPDATE only
};
void buffer_add(const PendingVersion &v);
void buffer_flush();

// The audit.change_context row for changes to `rel` by the current actor (inserted when new).
int64 context_id(Relation rel);
void contexts_at_xact_end(bool committed);  // committed=false: (sub)transaction aborted
void forget_contexts();
// From invalidation callbacks: marks the cache stale; it is emptied on the next context_id()
// (a callback can run inside context_id(), which must not lose its table under it).
void invalidate_contexts();

// Invalidation and transaction hooks of the audit trail (installed from _PG_init).
void init();
// Bumped whenever a new statement may have begun: cached per-statement values are stale.
extern uint64 statement_generation;
void forget_relation(Oid relid);
void sweep_relations();  // at transaction end: frees the invalidated relation entries

// SQL the audit C++ runs through SPI (as the audit tables' owner) resolves names under
// "pg_catalog, pg_temp", never under the caller's search_path (an operator or function of the
// caller's would otherwise run as the owner). Pair each call with unpin_search_path(level);
// an error in between is undone by the transaction abort.
inline int pin_search_path() {
  int level = NewGUCNestLevel();
  (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                          false);
  return level;
}
inline void unpin_search_path(int level) { AtEOXact_GUC(true, level); }

}  // namespace rg::audit
