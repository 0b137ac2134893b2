// Whole-file reads with a size limit (see file_reader.hpp).
#include "common/file_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rgsync {

namespace {
struct Fd {
  int fd;
  ~Fd() { if (fd >= 0) ::close(fd); }
};
std::string over(uint64_t size, bool exact, uint64_t max, const std::string &hint) {
  return std::string("file is ") + (exact ? std::to_string(size) + " bytes" : "larger than that") + ", over the limit of " +
         std::to_string(max) + " bytes" + (hint.empty() ? "" : " (" + hint + ")");
}
}  // namespace

std::string read_file(const std::string &path, uint64_t max_bytes, const std::string &hint) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw FileReadError(path, std::string("cannot open the file (") + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw FileReadError(path, std::string("cannot read the file (") + std::strerror(errno) + ")");
  if (S_ISDIR(st.st_mode)) throw FileReadError(path, "is a directory, not a file");
  std::string out;
  if (S_ISREG(st.st_mode)) {
    auto size = static_cast<uint64_t>(st.st_size);
    if (size > max_bytes) throw FileReadError(path, over(size, true, max_bytes, hint));
    out.reserve(size);
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw FileReadError(path, std::string("cannot read the file (") + std::strerror(errno) + ")");
    }
    if (n == 0) break;
    if (out.size() + static_cast<uint64_t>(n) > max_bytes) throw FileReadError(path, over(0, false, max_bytes, hint));
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace rgsync
