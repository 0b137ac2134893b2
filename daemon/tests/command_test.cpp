// The subcommand registry keeps what commands register.
#include <gtest/gtest.h>

#include "command.hpp"

static rgsync::RegisterCommand test_cmd("test-echo-count", "counts its arguments (test only)",
                                        [](const std::vector<std::string> &a) { return static_cast<int>(a.size()); });

TEST(CommandRegistry, RegisteredCommandRunsWithItsArguments) {
  auto it = rgsync::commands().find("test-echo-count");
  ASSERT_NE(it, rgsync::commands().end());
  EXPECT_EQ(it->second.run({"a", "b"}), 2);
}
