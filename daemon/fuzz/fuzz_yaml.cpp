// libFuzzer target: the one YAML reader (yaml/tree) and what is built on it: scalar
// resolution and JSON rendering (registry rows), the JSON view (HR mapping) and the config file.
// Errors (YamlError, UsageError) are the expected answer to bad input; memory errors, undefined
// behaviour, hangs and crashes are what the fuzzer looks for.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/config_file.hpp"
#include "yaml/json_reader.hpp"
#include "yaml/scalar.hpp"
#include "yaml/tree.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  try {
    rgsync::ParseOptions o;
    o.max_bytes = 1 << 20;
    rgsync::Node n = rgsync::parse_yaml_text("fuzz.yaml", text, o);
    std::string json;
    rgsync::append_json(json, "fuzz.yaml", n);
  } catch (const std::exception &) {
  }
  try {
    rgsync::hr::load_yaml_string(text, "fuzz.yaml");
  } catch (const std::exception &) {
  }
  try {
    rgsync::ConfigFile::parse(text, "fuzz.yaml");
  } catch (const std::exception &) {
  }
  return 0;
}
