// Implements the hand-over of a captured C++ failure to PostgreSQL's ereport.
#include "core/pg_guard.hpp"

#include <cstdio>

namespace rg {

static void copy_text(char *dst, size_t cap, const std::string &src) {
  snprintf(dst, cap, "%s", src.c_str());
}

CppFailure &failure_slot() noexcept {
  static CppFailure slot;
  return slot;
}

void capture_failure(CppFailure &out) noexcept {
  out = CppFailure{};
  try {
    throw;
  } catch (const PgError &e) {
    if (e.edata()) {
      out.edata = e.edata();
    } else {
      out.sqlstate = e.sqlstate();
      copy_text(out.message, sizeof out.message, e.what());
      copy_text(out.detail, sizeof out.detail, e.detail());
      copy_text(out.hint, sizeof out.hint, e.hint());
    }
  } catch (const std::bad_alloc &) {
    out.sqlstate = ERRCODE_OUT_OF_MEMORY;
    copy_text(out.message, sizeof out.message, "registry_guard: out of memory");
  } catch (const std::exception &e) {
    out.sqlstate = ERRCODE_INTERNAL_ERROR;
    snprintf(out.message, sizeof out.message, "registry_guard: %s", e.what());
  } catch (...) {
    out.sqlstate = ERRCODE_INTERNAL_ERROR;
    copy_text(out.message, sizeof out.message, "registry_guard: unknown C++ exception");
  }
}

void report_failure(const CppFailure &f) {
  if (f.edata) ReThrowError(f.edata);
  ereport(ERROR, (errcode(f.sqlstate), errmsg("%s", f.message),
                  f.detail[0] ? errdetail("%s", f.detail) : 0, f.hint[0] ? errhint("%s", f.hint) : 0));
  pg_unreachable();
}

}  // namespace rg
