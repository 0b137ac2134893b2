// The boundary between the two error regimes: C++ exceptions and PostgreSQL's ereport/longjmp.
//
// Rules (see README "Error regimes"):
//  * Every SQL-callable function is a thin PG_FUNCTION_INFO_V1 wrapper whose body runs in
//    rg::call_cpp(); a C++ exception never propagates into PostgreSQL: it is caught, copied,
//    and re-reported with ereport *after* the catch block has been left.
//  * Every call from C++ into PostgreSQL that can ereport goes through rg::pg(), which turns
//    the longjmp into an rg::PgError exception so C++ destructors run.
#pragma once

#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "core/pg.hpp"

namespace rg {

// An error raised by PostgreSQL (captured by pg()) or by our own code with an SQLSTATE.
class PgError : public std::exception {
public:
  // Captured from ereport: keeps the whole ErrorData so it can be re-thrown unchanged.
  explicit PgError(ErrorData *edata) : edata_(edata), message_(edata && edata->message ? edata->message : "") {}
  // Raised by our code.
  PgError(int sqlstate, std::string message, std::string detail = {}, std::string hint = {})
      : sqlstate_(sqlstate), message_(std::move(message)), detail_(std::move(detail)), hint_(std::move(hint)) {}

  const char *what() const noexcept override { return message_.c_str(); }
  ErrorData *edata() const { return edata_; }
  int sqlstate() const { return sqlstate_; }
  const std::string &detail() const { return detail_; }
  const std::string &hint() const { return hint_; }

private:
  ErrorData *edata_ = nullptr;
  int sqlstate_ = ERRCODE_INTERNAL_ERROR;
  std::string message_, detail_, hint_;
};

// Run f (which may ereport) and convert a PostgreSQL error into rg::PgError.
template <typename F> auto pg(F &&f) -> decltype(f()) {
  using R = decltype(f());
  MemoryContext ctx = CurrentMemoryContext;
  ErrorData *volatile edata = nullptr;
  // A C++ exception must not unwind through PG_TRY's frame (PG_exception_stack would be left
  // pointing at it): it is caught inside and re-thrown after PG_END_TRY.
  std::exception_ptr cpp_error;
  if constexpr (std::is_void_v<R>) {
    PG_TRY();
    {
      try {
        f();
      } catch (...) {
        // f may have switched memory contexts before throwing: back to the caller's, as after
        // an ereport.
        MemoryContextSwitchTo(ctx);
        cpp_error = std::current_exception();
      }
    }
    PG_CATCH();
    {
      MemoryContextSwitchTo(ctx);
      edata = CopyErrorData();
      FlushErrorState();
    }
    PG_END_TRY();
    if (edata) throw PgError(edata);
    if (cpp_error) std::rethrow_exception(cpp_error);
  } else {
    std::optional<R> result;
    PG_TRY();
    {
      try {
        result.emplace(f());
      } catch (...) {
        // f may have switched memory contexts before throwing: back to the caller's, as after
        // an ereport.
        MemoryContextSwitchTo(ctx);
        cpp_error = std::current_exception();
      }
    }
    PG_CATCH();
    {
      MemoryContextSwitchTo(ctx);
      edata = CopyErrorData();
      FlushErrorState();
    }
    PG_END_TRY();
    if (edata) throw PgError(edata);
    if (cpp_error) std::rethrow_exception(cpp_error);
    return std::move(*result);
  }
}

// What a failed C++ body left behind, as plain C data that survives leaving the catch block.
struct CppFailure {
  ErrorData *edata = nullptr;  // a PostgreSQL error to re-throw unchanged
  int sqlstate = 0;
  char message[1024] = {0};
  char detail[1024] = {0};
  char hint[512] = {0};
};

// The backend's one failure slot (a backend runs one thread, and a failure is reported right
// after it is captured). Not a local of call_cpp: zeroing 2.5 kB per call would dominate cheap
// functions called per row (RLS claim helpers).
CppFailure &failure_slot() noexcept;
void capture_failure(CppFailure &out) noexcept;  // call only inside a catch block; resets out first
[[noreturn]] void report_failure(const CppFailure &f);

// Body of every SQL-callable function: body() must return a Datum.
template <typename F> Datum call_cpp(F &&body) {
  bool failed = false;
  try {
    return body();
  } catch (...) {
    capture_failure(failure_slot());
    failed = true;
  }
  // Outside the catch block: no live C++ exception, safe to longjmp.
  if (failed) report_failure(failure_slot());
  return (Datum)0;
}

}  // namespace rg

// Declares the C entry point NAME and its C++ body NAME_cpp(FunctionCallInfo).
#define RG_FUNCTION(NAME)                                                       \
  static Datum NAME##_cpp(FunctionCallInfo fcinfo);                             \
  extern "C" {                                                                  \
  PG_FUNCTION_INFO_V1(NAME);                                                    \
  Datum NAME(PG_FUNCTION_ARGS) { return rg::call_cpp([&] { return NAME##_cpp(fcinfo); }); } \
  }                                                                             \
  static Datum NAME##_cpp(FunctionCallInfo fcinfo)
