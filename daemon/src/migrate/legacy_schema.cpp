// The January 2026 registry schema and its comparison with a live database (see legacy_schema.hpp).
#include "migrate/legacy_schema.hpp"

#include <pqxx/result>

#include <map>
#include <utility>

namespace rgsync {

namespace {
using Columns = std::vector<std::pair<const char *, const char *>>;  // name, format_type()

// What migrations 0001-0005 created (see migrations/*_registry_tables.sql, the baseline).
const std::vector<std::pair<const char *, Columns>> &january_tables() {
  static const char *T = "text", *TA = "text[]", *J = "jsonb", *TS = "timestamp with time zone";
  static const std::vector<std::pair<const char *, Columns>> tables = {
      {"business_glossary_terms",
       {{"id", T}, {"term", T}, {"definition", T}, {"aliases", TA}, {"tags", TA}, {"metadata", J},
        {"created_at", TS}, {"updated_at", TS}}},
      {"business_processes",
       {{"id", T}, {"name", T}, {"domain", T}, {"description", T}, {"owner_role", T}, {"stakeholder_roles", TA},
        {"display_name", T}, {"tags", TA}, {"metadata", J}, {"created_at", TS}, {"updated_at", TS}}},
      {"principal_profiles",
       {{"id", T}, {"name", T}, {"title", T}, {"first_name", T}, {"last_name", T}, {"role", T}, {"department", T},
        {"source", T}, {"description", T}, {"responsibilities", TA}, {"business_process_ids", TA},
        {"default_filters", J}, {"typical_timeframes", TA}, {"principal_groups", TA}, {"persona_profile", J},
        {"preferences", J}, {"permissions", TA}, {"time_frame", J}, {"communication", J}, {"metadata", J},
        {"created_at", TS}, {"updated_at", TS}}},
      {"kpis",
       {{"id", T}, {"name", T}, {"domain", T}, {"description", T}, {"unit", T}, {"data_product_id", T},
        {"view_name", T}, {"business_process_ids", TA}, {"sql_query", T}, {"filters", J}, {"thresholds", J},
        {"dimensions", J}, {"tags", TA}, {"synonyms", TA}, {"owner_role", T}, {"stakeholder_roles", TA},
        {"metadata", J}, {"created_at", TS}, {"updated_at", TS}}},
      {"data_products",
       {{"id", T}, {"name", T}, {"domain", T}, {"description", T}, {"owner", T}, {"version", T},
        {"related_business_processes", TA}, {"tags", TA}, {"metadata", J}, {"tables", J}, {"views", J},
        {"yaml_contract_path", T}, {"output_path", T}, {"last_updated", "date"}, {"reviewed", "boolean"},
        {"language", T}, {"documentation", T}, {"created_at", TS}, {"updated_at", TS}}},
  };
  return tables;
}
}  // namespace

LegacySchemaCheck check_legacy_schema(pqxx::transaction_base &tx) {
  LegacySchemaCheck check;
  for (const auto &[table, columns] : january_tables()) {
    std::string qualified = std::string("public.") + table;
    auto r = tx.exec("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                     "WHERE a.attrelid = to_regclass(" + tx.quote(qualified) + ") AND a.attnum > 0 AND NOT a.attisdropped");
    bool exists = !tx.exec1("SELECT to_regclass(" + tx.quote(qualified) + ") IS NULL")[0].as<bool>();
    if (!exists) continue;
    check.present_tables.push_back(qualified);
    std::map<std::string, std::string> actual;
    for (const auto &row : r) actual[row[0].as<std::string>()] = row[1].as<std::string>();
    for (const auto &[col, type] : columns) {
      auto it = actual.find(col);
      if (it == actual.end())
        check.problems.push_back(qualified + ": column " + col + " (" + type + ") is missing");
      else if (it->second != type)
        check.problems.push_back(qualified + ": column " + col + " is " + it->second + ", expected " + type);
    }
  }
  return check;
}

bool is_january_2026_migration(const std::string &version, const std::string &name) {
  static const std::map<std::string, std::string> january = {{"0001", "business_glossary"},
                                                             {"0002", "principal_profiles"},
                                                             {"0003", "kpis"},
                                                             {"0004", "business_processes"},
                                                             {"0005", "data_products"}};
  auto it = january.find(version);
  return it != january.end() && (name.empty() || name == it->second);
}

}  // namespace rgsync
