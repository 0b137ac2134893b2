// Module entry: PG_MODULE_MAGIC, _PG_init (settings of every concern) and guard.library_version().
#include "core/pg_guard.hpp"
#include "audit/audit.hpp"
#include "references/references_meta.hpp"
#include "rls/rls_claims.hpp"
#include "core/settings.hpp"

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
}

void _PG_init(void) {
  rg::define_settings();
  rg::audit::init();  // statement-end flush of audit versions, cache invalidation
  rg::refs::init();   // reference metadata invalidation, per-transaction verified keys
  rg::rls_claims_init();
}

RG_FUNCTION(rg_library_version) { return CStringGetTextDatum(RG_VERSION); }
