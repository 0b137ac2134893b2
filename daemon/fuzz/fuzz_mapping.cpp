// libFuzzer target: the registry mapping loader (config/registry-mapping.yaml's reader) and the
// HR mapping loader (config/hr-*.yaml), both from text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "hr/mapping.hpp"
#include "registry/mapping.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  try {
    rgsync::load_mapping_text("fuzz-mapping.yaml", text);
  } catch (const std::exception &) {
  }
  try {
    rgsync::hr::parse_hr_mapping(text, "fuzz-hr.yaml");
  } catch (const std::exception &) {
  }
  return 0;
}
