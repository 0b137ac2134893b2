// libFuzzer target: the JSON readers of the HR sources. The first byte picks the reader:
//   0: a SCIM ListResponse page's users mapped with the SCIM defaults (enterprise extension,
//      emails / manager paths, active);
//   1: a Workday RaaS report (Report_Entry) read from a file source;
//   2: a SuccessFactors OData v2 response (d.results) read from a file source.
// The rest of the input is the payload.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "hr/mapping.hpp"
#include "hr/sources/fetch.hpp"

namespace {

std::string temp_file() {
  static std::string path = [] {
    const char *dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/rgsync-fuzz-hr-" + std::to_string(::getpid()) + ".json";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace rgsync::hr;
  static const HrMapping scim = parse_hr_mapping("source: {kind: scim, name: fuzz, url: 'https://hr.example/scim'}\n", "fuzz-scim.yaml");
  static const HrMapping workday = parse_hr_mapping(
      "source: {kind: workday, name: fuzz, file: " + temp_file() + "}\n"
      "fields: {employee_id: Employee_ID, email: Primary_Work_Email, name: \"{Legal_Name_First} {Legal_Name_Last}\", "
      "title: Business_Title, department: Cost_Center, manager_id: Manager_Employee_ID}\n"
      "active: {field: Worker_Status, values: [active]}\n",
      "fuzz-workday.yaml");
  static const HrMapping sf = parse_hr_mapping(
      "source: {kind: successfactors, name: fuzz, file: " + temp_file() + "}\n"
      "fields: {employee_id: userId, email: email, name: \"{firstName} {lastName}\", title: title, department: department, "
      "manager_id: manager.userId}\n"
      "active: {field: status, values: [active]}\n",
      "fuzz-sf.yaml");
  if (size == 0) return 0;
  int kind = data[0] % 3;
  std::string body(reinterpret_cast<const char *>(data + 1), size - 1);
  try {
    if (kind == 0) {
      auto page = nlohmann::json::parse(body);
      if (page.is_object() && page.contains("Resources") && page["Resources"].is_array())
        for (const auto &u : page["Resources"]) {
          try {
            map_record(scim, u, "user");
          } catch (const std::exception &) {
          }
        }
    } else {
      FILE *f = std::fopen(temp_file().c_str(), "wb");
      if (!f) return 0;
      std::fwrite(body.data(), 1, body.size(), f);
      std::fclose(f);
      fetch_hr_users(kind == 1 ? workday : sf, {});
    }
  } catch (const std::exception &) {
  }
  return 0;
}
