// libFuzzer target: the HR CSV reader (RFC 4180, header row, UTF-8 check) and the mapping of
// its rows onto principal profile columns.
#include <cstddef>
#include <cstdint>
#include <string>

#include "hr/mapping.hpp"
#include "hr/sources/fetch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const rgsync::hr::HrMapping m = rgsync::hr::parse_hr_mapping(
      "source: {kind: csv, name: fuzz, file: fuzz.csv}\n"
      "fields: {employee_id: employee_id, email: email, name: \"{first_name} {last_name}\", title: title, department: department, manager_id: manager}\n"
      "active: {field: status, values: [active]}\n",
      "fuzz-hr.yaml");
  std::string text(reinterpret_cast<const char *>(data), size);
  char delim = size > 0 && data[0] == ';' ? ';' : ',';
  try {
    auto rows = rgsync::hr::parse_csv(text, delim, "fuzz.csv");
    for (auto &row : rows) {
      row.erase("__line");
      try {
        rgsync::hr::map_record(m, row, "row");
      } catch (const std::exception &) {
      }
    }
  } catch (const std::exception &) {
  }
  return 0;
}
