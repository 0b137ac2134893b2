// Recognises a database built by the January 2026 migrations 0001-0005 (the registry tables
// without HR columns, documents, personas/presets or sync bookkeeping), so `migrate` can
// adopt it in place: check the existing tables' columns, then run the idempotent baseline.
#pragma once

#include <pqxx/transaction_base>
#include <string>
#include <vector>

namespace rgsync {

struct LegacySchemaCheck {
  std::vector<std::string> present_tables;  // registry tables that already exist
  std::vector<std::string> problems;        // "public.kpis: column thresholds is text, expected jsonb"
  bool any_present() const { return !present_tables.empty(); }
  bool adoptable() const { return problems.empty(); }
};

// Compares the existing registry tables with the January 2026 shape (extra columns are fine;
// missing ones or different types are problems).
LegacySchemaCheck check_legacy_schema(pqxx::transaction_base &tx);

// The January 2026 migrations as the Supabase CLI recorded them (version, name): such history
// rows are superseded by the baseline, not "unknown".
bool is_january_2026_migration(const std::string &version, const std::string &name);

}  // namespace rgsync
