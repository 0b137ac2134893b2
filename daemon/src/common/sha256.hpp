// SHA-256 digests (OpenSSL EVP) as lower-case hex, for file hashes and migration checksums.
#pragma once

#include <string>
#include <string_view>

namespace rgsync {

// Hex digest of bytes.
std::string sha256_hex(std::string_view data);

// Hex digest of a file's bytes, streamed. Throws std::runtime_error naming the file when it
// cannot be read.
std::string sha256_file_hex(const std::string &path);

}  // namespace rgsync
