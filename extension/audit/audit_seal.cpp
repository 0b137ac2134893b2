// The seal boundary's clock: the next transaction id to be assigned (see audit.seal()).
#include "audit/audit.hpp"
#include "core/pg_guard.hpp"

// audit.next_xact_id(): ReadNextFullTransactionId(), without assigning one to the caller
// (pg_current_xact_id() would, and pg_current_snapshot()'s xmax is only the last completed
// transaction + 1: running transactions can have ids at or above it).
RG_FUNCTION(rg_audit_next_xact_id) {
  return rg::pg([&] { return FullTransactionIdGetDatum(ReadNextFullTransactionId()); });
}
