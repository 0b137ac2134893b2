// The dispatcher runs the named command of a table with its arguments and maps failures to exit codes.
#include <gtest/gtest.h>

#include <sstream>

#include "cli/command.hpp"

namespace {
const std::vector<rgsync::Command> kTable = {
    {"test-echo-count", "counts its arguments (test only)", [](const std::vector<std::string> &a) { return static_cast<int>(a.size()); }},
    {"test-usage-error", "throws a usage error (test only)",
     [](const std::vector<std::string> &) -> int { throw rgsync::UsageError("bad --flag"); }},
};
}

TEST(CommandTable, NamedCommandRunsWithItsArguments) {
  std::ostringstream out, err;
  EXPECT_EQ(rgsync::dispatch(kTable, {"test-echo-count", "a", "b"}, out, err), 2);
}

TEST(CommandTable, UnknownOrMissingCommandIsAUsageErrorListingTheCommands) {
  std::ostringstream out, err;
  EXPECT_EQ(rgsync::dispatch(kTable, {"nope"}, out, err), rgsync::kUsage);
  EXPECT_NE(err.str().find("unknown command 'nope'"), std::string::npos);
  EXPECT_NE(err.str().find("test-echo-count"), std::string::npos);
  std::ostringstream out2, err2;
  EXPECT_EQ(rgsync::dispatch(kTable, {}, out2, err2), rgsync::kUsage);
}

TEST(CommandTable, ExceptionBecomesItsExitCodeAndMessage) {
  std::ostringstream out, err;
  EXPECT_EQ(rgsync::dispatch(kTable, {"test-usage-error"}, out, err), rgsync::kUsage);
  EXPECT_NE(err.str().find("registry-sync test-usage-error: error: bad --flag"), std::string::npos);
}

TEST(CommandTable, VersionAndCompletion) {
  for (const char *flag : {"--version", "-V"}) {
    std::ostringstream out, err;
    EXPECT_EQ(rgsync::dispatch(kTable, {flag}, out, err), rgsync::kOk);
    EXPECT_EQ(out.str(), std::string("registry-sync ") + rgsync::version() + "\n");
  }
  EXPECT_STRNE(rgsync::version(), "");
  std::ostringstream out, err;
  EXPECT_EQ(rgsync::dispatch(kTable, {"completion", "bash"}, out, err), rgsync::kOk);
  EXPECT_NE(out.str().find("compgen -W \"test-echo-count test-usage-error --help --version\""), std::string::npos);
  EXPECT_NE(out.str().find("complete -o filenames -F _registry_sync registry-sync"), std::string::npos);
  std::ostringstream out2, err2;
  EXPECT_EQ(rgsync::dispatch(kTable, {"completion", "zsh"}, out2, err2), rgsync::kUsage);
}
