// Resolves a declared reference (guard.reference row) into attnums, types and SQL texts, caches
// it per trigger until a relcache invalidation touches one of its tables, and keeps the set of
// keys this transaction has already verified and locked.
#include "references/references_meta.hpp"

#include <cstring>
#include <unordered_map>

namespace rg::refs {

namespace {

// Heap-allocated and never destroyed: no C++ destructor may run at backend exit (it would call
// into PostgreSQL after shutdown has begun).
std::unordered_map<Oid, std::shared_ptr<RefMeta>> &meta_cache() {
  static auto *cache = new std::unordered_map<Oid, std::shared_ptr<RefMeta>>();
  return *cache;
}

std::unordered_map<std::string, std::shared_ptr<VerifiedKeys>> &verified_cache() {
  static auto *cache = new std::unordered_map<std::string, std::shared_ptr<VerifiedKeys>>();
  return *cache;
}

// Metadata dropped from meta_cache by an invalidation, freed (SPI_freeplan) at the next trigger
// call rather than inside the invalidation callback. Never destroyed, as meta_cache.
std::vector<std::shared_ptr<RefMeta>> &retired_meta() {
  static auto *retired = new std::vector<std::shared_ptr<RefMeta>>();
  return *retired;
}

SPIPlanPtr catalog_plan = nullptr;

// Entries of a touched table leave the cache (a dropped trigger's entry would otherwise keep its
// plans for the backend's life); a trigger call still using one holds its own shared_ptr.
void on_relcache_invalidation(Datum, Oid relid) {
  auto &cache = meta_cache();
  for (auto it = cache.begin(); it != cache.end();) {
    RefMeta &m = *it->second;
    if (relid == InvalidOid || relid == m.source_rel || relid == m.target_rel) {
      m.stale = true;
      // No exception may leave a callback PostgreSQL calls: without memory for the move, the
      // stale entry stays and is replaced at its next use.
      try {
        retired_meta().push_back(it->second);
      } catch (...) {
        ++it;
        continue;
      }
      it = cache.erase(it);
    } else {
      ++it;
    }
  }
}

void on_xact(XactEvent event, void *) {
  switch (event) {
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_PARALLEL_COMMIT:
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
    case XACT_EVENT_PREPARE:
      forget_verified_keys();
      break;
    default:
      break;
  }
}

// Row locks taken inside an aborted subtransaction are released: what it verified is void.
void on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId, void *) {
  if (event == SUBXACT_EVENT_ABORT_SUB) forget_verified_keys();
}

Action parse_action(const std::string &s) {
  if (s == "restrict") return Action::Restrict;
  if (s == "cascade") return Action::Cascade;
  if (s == "set null") return Action::SetNull;
  return Action::NoAction;
}

std::string text_or_empty(HeapTuple tuple, TupleDesc desc, int col) {
  bool isnull = false;
  Datum d = SPI_getbinval(tuple, desc, col, &isnull);
  if (isnull) return {};
  char *s = TextDatumGetCString(d);
  std::string out(s);
  pfree(s);
  return out;
}

ColumnType column_type(Oid type) {
  ColumnType t;
  t.type = type;
  get_typlenbyvalalign(type, &t.len, &t.byval, &t.align);
  bool varlena = false;
  getTypeOutputInfo(type, &t.output_fn, &varlena);
  return t;
}

// Attribute number of column col in rel, or an error telling the user to re-declare.
AttrNumber require_attnum(Oid rel, const std::string &col, const std::string &ref) {
  AttrNumber n = get_attnum(rel, col.c_str());
  if (n == InvalidAttrNumber)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                    errmsg("column \"%s\" of reference \"%s\" no longer exists in table \"%s\"", col.c_str(), ref.c_str(),
                           get_rel_name(rel)),
                    errhint("Drop the reference with guard.drop_reference('%s') and declare it again.", ref.c_str())));
  return n;
}

std::string qualified_rel(Oid rel) {
  return quote_qualified_identifier(get_namespace_name(get_rel_namespace(rel)), get_rel_name(rel));
}

std::string qualified_type(Oid type) { return format_type_extended(type, -1, FORMAT_TYPE_FORCE_QUALIFY); }


// OPERATOR(schema.=) for the type's default equality operator: the generated SQL must not
// depend on search_path, and types outside pg_catalog (citext) have their own.
std::string equality_operator(Oid type, const std::string &ref) {
  TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_EQ_OPR);
  if (!OidIsValid(tc->eq_opr))
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_FUNCTION),
                    errmsg("type %s of reference \"%s\" has no default equality operator", format_type_be(type), ref.c_str())));
  Oid argtypes[1] = {OIDOID};
  Datum values[1] = {ObjectIdGetDatum(tc->eq_opr)};
  int rc = SPI_execute_with_args(
      "SELECT pg_catalog.format('OPERATOR(%I.%s)', n.nspname, o.oprname) FROM pg_catalog.pg_operator o "
      "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) o.oprnamespace WHERE o.oid OPERATOR(pg_catalog.=) $1",
      1, argtypes, values, nullptr, true, 1);
  if (rc != SPI_OK_SELECT || SPI_processed != 1) elog(ERROR, "registry_guard: equality operator %u not found", tc->eq_opr);
  return text_or_empty(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

// SQL text naming a source row s by its primary key: "(id)=(kpi_1)", or by ctid without one.
// Built by one query so no C++ string lives across a call that can ereport. The generated text
// calls functions only (no operators): it runs as the source table's owner, and an unqualified
// operator would resolve through the caller's search_path.
std::string row_label_sql(Oid rel) {
  Oid argtypes[1] = {OIDOID};
  Datum values[1] = {ObjectIdGetDatum(rel)};
  int rc = SPI_execute_with_args(
      "SELECT COALESCE(pg_catalog.format('pg_catalog.concat(%L, pg_catalog.concat_ws('', '', %s), '')'')', "
      "  pg_catalog.concat('(', pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.ord), ')=('), "
      "  pg_catalog.string_agg(pg_catalog.concat('s.', pg_catalog.quote_ident(a.attname), '::pg_catalog.text'), ', ' ORDER BY k.ord)), "
      "  'pg_catalog.concat(''(ctid)=('', s.ctid::pg_catalog.text, '')'')') "
      "FROM pg_catalog.pg_index i "
      "CROSS JOIN LATERAL pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
      "JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid AND a.attnum OPERATOR(pg_catalog.=) k.attnum "
      "WHERE i.indrelid OPERATOR(pg_catalog.=) $1 AND i.indisprimary",
      1, argtypes, values, nullptr, true, 1);
  if (rc != SPI_OK_SELECT || SPI_processed != 1) elog(ERROR, "registry_guard: reading the primary key of relation %u failed", rel);
  return text_or_empty(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

Oid rel_owner(Oid rel) {
  Relation r = table_open(rel, AccessShareLock);
  Oid owner = r->rd_rel->relowner;
  table_close(r, AccessShareLock);
  return owner;
}

// Owner of guard.reference: the catalog is read as that role, since the user whose INSERT fires
// a check needs no USAGE on schema guard (API roles have none).
Oid catalog_owner() {
  return pg([] {
    Oid nsp = get_namespace_oid("guard", false);
    Oid rel = get_relname_relid("reference", nsp);
    if (!OidIsValid(rel))
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("registry_guard: table guard.reference is missing"),
                      errhint("Restore guard.reference from a backup (pg_dump includes its rows). Do not reinstall "
                              "the extension: DROP EXTENSION would also destroy the audit trail.")));
    return rel_owner(rel);
  });
}

// Reads the catalog row and resolves it; runs inside its own SPI connection.
std::shared_ptr<RefMeta> build_meta(const std::string &name) {
  auto m = std::make_shared<RefMeta>();
  m->name = name;
  AsOwner as(catalog_owner());
  pg([&] {
    SPI_connect();
    const int nest = pin_search_path();
    if (catalog_plan == nullptr) {
      Oid argtypes[1] = {TEXTOID};
      SPIPlanPtr p = SPI_prepare(
          "SELECT r.source_table::pg_catalog.oid, r.source_column::pg_catalog.text, r.target_table::pg_catalog.oid, "
          "r.target_column::pg_catalog.text, r.tenant_column::pg_catalog.text, r.target_tenant_column::pg_catalog.text, "
          "r.on_delete, r.on_update FROM guard.reference r WHERE r.name OPERATOR(pg_catalog.=) $1",
          1, argtypes);
      if (p == nullptr) elog(ERROR, "registry_guard: preparing the reference catalog query failed: %s", SPI_result_code_string(SPI_result));
      SPI_keepplan(p);
      catalog_plan = p;
    }
    Datum values[1] = {CStringGetTextDatum(name.c_str())};
    // Under the latest snapshot: the trigger that runs this reference exists (catalog
    // snapshot), so its catalog row must be found also by a REPEATABLE READ transaction that
    // began before guard.add_reference() committed; the result is cached beyond it.
    Snapshot latest = RegisterSnapshot(GetLatestSnapshot());
    int rc = SPI_execute_snapshot(catalog_plan, values, nullptr, latest, InvalidSnapshot, true, false, 1);
    UnregisterSnapshot(latest);
    if (rc != SPI_OK_SELECT) elog(ERROR, "registry_guard: reading guard.reference failed: %s", SPI_result_code_string(rc));
    if (SPI_processed != 1)
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                      errmsg("reference \"%s\" is not declared in guard.reference", name.c_str()),
                      errhint("A trigger of an undeclared reference is left over: drop it, or declare the reference with guard.add_reference().")));
    HeapTuple t = SPI_tuptable->vals[0];
    TupleDesc d = SPI_tuptable->tupdesc;
    bool isnull = false;
    m->source_rel = DatumGetObjectId(SPI_getbinval(t, d, 1, &isnull));
    m->source_col = text_or_empty(t, d, 2);
    m->target_rel = DatumGetObjectId(SPI_getbinval(t, d, 3, &isnull));
    m->target_col = text_or_empty(t, d, 4);
    m->tenant_col = text_or_empty(t, d, 5);
    m->target_tenant_col = text_or_empty(t, d, 6);
    m->on_delete = parse_action(text_or_empty(t, d, 7));
    m->on_update = parse_action(text_or_empty(t, d, 8));
    m->tenant_scoped = !m->tenant_col.empty();

    m->source_attnum = require_attnum(m->source_rel, m->source_col, name);
    m->target_attnum = require_attnum(m->target_rel, m->target_col, name);
    Oid source_type = getBaseType(get_atttype(m->source_rel, m->source_attnum));
    Oid elem_type = get_element_type(source_type);
    m->source_is_array = OidIsValid(elem_type);
    m->elem = column_type(m->source_is_array ? elem_type : source_type);
    if (m->tenant_scoped) {
      m->tenant_attnum = require_attnum(m->source_rel, m->tenant_col, name);
      m->target_tenant_attnum = require_attnum(m->target_rel, m->target_tenant_col, name);
      m->tenant = column_type(get_atttype(m->source_rel, m->tenant_attnum));
    }
    m->source_label = get_rel_name(m->source_rel);
    m->target_label = get_rel_name(m->target_rel);
    m->source_sql = qualified_rel(m->source_rel);
    m->target_sql = qualified_rel(m->target_rel);
    m->source_owner = rel_owner(m->source_rel);
    m->target_owner = rel_owner(m->target_rel);
    m->elem_eq = equality_operator(m->elem.type, name);
    if (m->tenant_scoped) m->tenant_eq = equality_operator(m->tenant.type, name);
    m->elem_type_sql = qualified_type(m->elem.type);
    m->elem_array_sql = qualified_type(get_array_type(m->elem.type));
    if (m->tenant_scoped) {
      m->tenant_type_sql = qualified_type(m->tenant.type);
      m->tenant_array_sql = qualified_type(get_array_type(m->tenant.type));
    }
    m->source_key_sql = row_label_sql(m->source_rel);
    AtEOXact_GUC(true, nest);
    SPI_finish();
  });
  return m;
}

}  // namespace

RefMeta::~RefMeta() {
  for (SPIPlanPtr p : {check_plan, key_exists_plan, referenced_plan, remove_plan, set_null_plan, rewrite_plan})
    if (p != nullptr) SPI_freeplan(p);
}

void init() {
  CacheRegisterRelcacheCallback(on_relcache_invalidation, (Datum)0);
  RegisterXactCallback(on_xact, nullptr);
  RegisterSubXactCallback(on_subxact, nullptr);
}

std::shared_ptr<RefMeta> meta_for_trigger(const Trigger *trigger) {
  if (trigger->tgnargs < 1)
    throw PgError(ERRCODE_INVALID_PARAMETER_VALUE,
                  std::string("trigger \"") + trigger->tgname + "\" calls a registry_guard reference function without a reference name",
                  {}, "Declare references with guard.add_reference(); do not create these triggers by hand.");
  retired_meta().clear();  // ~RefMeta: SPI_freeplan reports failures by return code, never ereport
  auto &cache = meta_cache();
  auto it = cache.find(trigger->tgoid);
  if (it != cache.end() && !it->second->stale) return it->second;
  auto m = build_meta(trigger->tgargs[0]);
  cache[trigger->tgoid] = m;
  return m;
}

void require_trigger_relation(const RefMeta &m, const Trigger *trigger, Relation rel, bool source_side) {
  const Oid expected = source_side ? m.source_rel : m.target_rel;
  const Oid relid = RelationGetRelid(rel);
  if (relid == expected) return;
  const AttrNumber attnums[2] = {source_side ? m.source_attnum : m.target_attnum,
                                 source_side ? m.tenant_attnum : m.target_tenant_attnum};
  bool partition = false;
  const bool same_layout_partition = pg([&] {
    if (!get_rel_relispartition(relid) || !list_member_oid(get_partition_ancestors(relid), expected)) return false;
    partition = true;
    TupleDesc desc = RelationGetDescr(rel);
    for (AttrNumber a : attnums) {
      if (a == 0) continue;
      if (a > desc->natts) return false;
      Form_pg_attribute att = TupleDescAttr(desc, a - 1);
      if (att->attisdropped || att->atttypid != get_atttype(expected, a)) return false;
    }
    return true;
  });
  if (same_layout_partition) return;
  const std::string &declared = source_side ? m.source_label : m.target_label;
  if (partition)
    throw PgError(ERRCODE_FEATURE_NOT_SUPPORTED,
                  std::string("partition \"") + RelationGetRelationName(rel) + "\" of table \"" + declared +
                      "\" has the columns of reference \"" + m.name + "\" at other positions than its parent",
                  {}, "Recreate the partition with CREATE TABLE ... PARTITION OF, which keeps the parent's column order.");
  throw PgError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                std::string("trigger \"") + trigger->tgname + "\" on table \"" + RelationGetRelationName(rel) +
                    "\" runs reference \"" + m.name + "\", which belongs to table \"" + declared + "\"",
                {}, std::string("Drop trigger \"") + trigger->tgname +
                        "\"; guard.add_reference() creates the triggers of a reference on its own tables.");
}

std::shared_ptr<VerifiedKeys> verified_keys(const RefMeta &meta) {
  std::string id = std::to_string(meta.target_rel) + ":" + std::to_string(meta.target_attnum) + ":" +
                   std::to_string(meta.target_tenant_attnum);
  auto &keys = verified_cache()[id];
  if (!keys) keys = std::make_shared<VerifiedKeys>();
  return keys;
}

void forget_verified_keys() noexcept { verified_cache().clear(); }

void append_key_bytes(std::string &out, Datum d, const ColumnType &t) {
  if (t.byval) {
    out.append(reinterpret_cast<const char *>(&d), sizeof(Datum));
  } else if (t.len == -1) {
    const struct varlena *v = reinterpret_cast<const struct varlena *>(DatumGetPointer(d));
    out.append(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
  } else if (t.len == -2) {
    const char *s = DatumGetCString(d);
    out.append(s, std::strlen(s));
  } else {
    out.append(reinterpret_cast<const char *>(DatumGetPointer(d)), t.len);
  }
}

std::string output_text(Datum d, const ColumnType &t) {
  char *s = OidOutputFunctionCall(t.output_fn, d);
  std::string out(s);
  pfree(s);
  return out;
}

std::string quoted(const std::string &ident) {
  return pg([&] { return std::string(quote_identifier(ident.c_str())); });
}

Oid array_type_of(Oid elem) {
  return pg([&] { return get_array_type(elem); });
}

int pin_search_path() {
  const int nest = NewGUCNestLevel();
  (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
  return nest;
}

SPIPlanPtr keep_plan(const std::string &sql, const std::vector<Oid> &argtypes) {
  return pg([&] {
    const int nest = pin_search_path();
    SPIPlanPtr p = SPI_prepare(sql.c_str(), static_cast<int>(argtypes.size()), const_cast<Oid *>(argtypes.data()));
    if (p == nullptr) elog(ERROR, "registry_guard: preparing \"%s\" failed: %s", sql.c_str(), SPI_result_code_string(SPI_result));
    SPI_keepplan(p);
    AtEOXact_GUC(true, nest);
    return p;
  });
}

}  // namespace rg::refs
