// The one way registry-sync reads a whole file: with a size limit, from regular files and from
// pipes alike (`--mapping <(...)`), with errors that name the file and what to do.
//
//   std::string text = read_file(path, 16 << 20, "raise --max-file-size to accept it");
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace rgsync {

struct FileReadError : std::runtime_error {
  std::string path;
  std::string detail;  // the message without the "path: " prefix
  FileReadError(const std::string &p, const std::string &d) : std::runtime_error(p + ": " + d), path(p), detail(d) {}
};

// Limits for the kinds of files registry-sync reads whole.
constexpr uint64_t kMaxConfigFileBytes = 16ull << 20;  // config files, mappings, tokens

// Reads all of `path`, refusing more than `max_bytes` ("file is N bytes, over the limit of M
// bytes (<hint>)"). Throws FileReadError when the file cannot be opened or read.
std::string read_file(const std::string &path, uint64_t max_bytes, const std::string &hint = "");

}  // namespace rgsync
