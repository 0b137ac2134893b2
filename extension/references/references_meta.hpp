// Declared references as the C++ triggers see them: metadata resolved from guard.reference,
// cached per trigger with its SPI plans, plus the per-transaction set of verified keys.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/pg_guard.hpp"

namespace rg::refs {

enum class Action { NoAction, Restrict, Cascade, SetNull };

// How a value of one column is turned into bytes (cache keys) and back into SQL parameters.
struct ColumnType {
  Oid type = InvalidOid;
  int16 len = 0;
  bool byval = false;
  char align = 'i';
  Oid output_fn = InvalidOid;
};

struct RefMeta {
  std::string name;
  Oid source_rel = InvalidOid, target_rel = InvalidOid;
  std::string source_label, target_label;  // unqualified relation names, as native FK messages use
  std::string source_sql, target_sql;      // schema-qualified, quoted, for queries
  std::string source_col, target_col, tenant_col, target_tenant_col;
  AttrNumber source_attnum = 0, tenant_attnum = 0, target_attnum = 0, target_tenant_attnum = 0;
  bool source_is_array = true;
  bool tenant_scoped = false;
  ColumnType elem, tenant;
  Action on_delete = Action::NoAction, on_update = Action::NoAction;
  Oid source_owner = InvalidOid, target_owner = InvalidOid;
  std::string source_key_sql;  // SQL text of "(pk cols)=(values)" for a row s of the source
  std::string elem_eq, tenant_eq;  // OPERATOR(schema.=) of the element / tenant type
  std::string elem_type_sql, elem_array_sql, tenant_type_sql, tenant_array_sql;  // qualified type names

  // Prepared on first use and kept (SPI_keepplan); freed with the metadata.
  SPIPlanPtr check_plan = nullptr;       // source side: which of $1 (elements) are missing; locks the rest
  SPIPlanPtr key_exists_plan = nullptr;  // target side: does the key still exist (NO ACTION)
  SPIPlanPtr referenced_plan = nullptr;  // target side: first referencing row, via the GIN index
  SPIPlanPtr remove_plan = nullptr;      // target side: ON DELETE CASCADE
  SPIPlanPtr set_null_plan = nullptr;    // target side: SET NULL
  SPIPlanPtr rewrite_plan = nullptr;     // target side: ON UPDATE CASCADE

  bool stale = false;  // set by the relcache callback; the next trigger call rebuilds
  ~RefMeta();
};

void init();

// The metadata for the reference a trigger belongs to (argument 0 is the reference name).
// Must run inside SPI_connect.
std::shared_ptr<RefMeta> meta_for_trigger(const Trigger *trigger);

// Throws unless rel, the table trigger fired on, is the reference's referencing table
// (source_side) or referenced table, or a partition of it with the columns at the same places:
// the metadata's attribute numbers and types index its tuples (a trigger created by hand on
// another table would read its columns as the wrong types).
void require_trigger_relation(const RefMeta &m, const Trigger *trigger, Relation rel, bool source_side);

// Keys (tenant + element bytes) verified and locked FOR KEY SHARE by this transaction; valid
// until the transaction ends, a subtransaction aborts, or a target row changes in this backend.
class VerifiedKeys {
public:
  bool contains(std::string_view key) const { return keys_.count(key) != 0; }
  void add(std::string_view key) {
    if (contains(key)) return;
    // Bounded memory in huge transactions: forgetting only costs a repeated look-up.
    if (keys_.size() >= kMaxKeys) clear();
    store_.emplace_back(key);
    keys_.insert(std::string_view(store_.back()));
  }
  void clear() noexcept {
    keys_.clear();
    store_.clear();
  }

private:
  static constexpr size_t kMaxKeys = 1u << 18;
  std::deque<std::string> store_;
  std::unordered_set<std::string_view> keys_;
};
// Shared: a subtransaction aborting while a check runs (a user-defined equality function with an
// EXCEPTION block) forgets every set, and the check still holds its own until it ends.
std::shared_ptr<VerifiedKeys> verified_keys(const RefMeta &meta);
void forget_verified_keys() noexcept;

// Appends the cache-key bytes of datum d of type t to out.
void append_key_bytes(std::string &out, Datum d, const ColumnType &t);
// Text form of a datum, for messages (may ereport: call inside rg::pg).
std::string output_text(Datum d, const ColumnType &t);

// Runs f as the owner of a relation with row security not forced, like native FK checks do:
// a check must see every target row, whatever the inserting user may see.
class AsOwner {
public:
  explicit AsOwner(Oid owner) {
    GetUserIdAndSecContext(&saved_user_, &saved_context_);
    SetUserIdAndSecContext(owner, saved_context_ | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
  }
  ~AsOwner() { SetUserIdAndSecContext(saved_user_, saved_context_); }
  AsOwner(const AsOwner &) = delete;
  AsOwner &operator=(const AsOwner &) = delete;

private:
  Oid saved_user_ = InvalidOid;
  int saved_context_ = 0;
};

// Sets search_path to "pg_catalog, pg_temp" in a new GUC nest level and returns the level; undo
// with AtEOXact_GUC(true, level) (an error undoes it with the (sub)transaction). Every query of
// the triggers is prepared and run so: they run as table owners, and an operator or function of
// the caller's search_path must never run with the owner's rights; a kept plan is re-analysed
// under the search_path of the execution, so pinning only the prepare is not enough.
// Call inside rg::pg.
int pin_search_path();

// quote_identifier / get_array_type through rg::pg: both can ereport (palloc, syscache), and
// their callers hold C++ strings.
std::string quoted(const std::string &ident);
Oid array_type_of(Oid elem);

// Prepares sql with the given argument types (search_path pinned) and keeps the plan.
SPIPlanPtr keep_plan(const std::string &sql, const std::vector<Oid> &argtypes);

}  // namespace rg::refs
