// Passwords never survive redaction: DSNs in every form, registered secrets in free text.
#include <gtest/gtest.h>

#include "common/redact.hpp"

using rgsync::redact;
using rgsync::redact_dsn;

TEST(Redact, UriPasswordIsReplaced) {
  EXPECT_EQ(redact_dsn("postgresql://sync:s3cr%40t@db.example:5432/registry"),
            "postgresql://sync:***@db.example:5432/registry");
  EXPECT_EQ(redact_dsn("postgres://u:p@h/db?sslmode=require"), "postgres://u:***@h/db?sslmode=require");
}

TEST(Redact, UriWithoutPasswordIsUnchanged) {
  EXPECT_EQ(redact_dsn("postgresql://sync@db/registry"), "postgresql://sync@db/registry");
  EXPECT_EQ(redact_dsn("postgresql:///registry?host=/tmp"), "postgresql:///registry?host=/tmp");
}

TEST(Redact, UriQueryPasswordIsReplaced) {
  EXPECT_EQ(redact_dsn("postgresql://h/db?user=u&password=hunter22&sslmode=disable"),
            "postgresql://h/db?user=u&password=***&sslmode=disable");
}

TEST(Redact, KeywordValuePasswordIsReplaced) {
  EXPECT_EQ(redact_dsn("host=h password=hunter22 dbname=d"), "host=h password=*** dbname=d");
  EXPECT_EQ(redact_dsn("host=h password = 'a b\\'c' dbname=d"), "host=h password = *** dbname=d");
  EXPECT_EQ(redact_dsn("PGPASSWORD=hunter22 psql"), "PGPASSWORD=*** psql");
}

TEST(Redact, OrdinaryMessagesAreUnchanged) {
  const char *m = "FATAL:  password authentication failed for user \"sync\"";
  EXPECT_EQ(redact(m), m);
}

TEST(Redact, RegisteredSecretIsRemovedFromAnyText) {
  rgsync::clear_secrets();
  rgsync::register_secret("Tr0ub4dor&3");
  EXPECT_EQ(redact("invalid value \"Tr0ub4dor&3\" for option"), "invalid value \"***\" for option");
  EXPECT_EQ(redact("twice Tr0ub4dor&3 Tr0ub4dor&3"), "twice *** ***");
  rgsync::clear_secrets();
}

TEST(Redact, ShortSecretsAreReplacedOnlyAsWholeTokens) {
  rgsync::clear_secrets();
  rgsync::register_secret("ab");
  EXPECT_EQ(redact("table abc: value ab"), "table abc: value ***");
  rgsync::clear_secrets();
}

TEST(Redact, JsonAndYamlPasswordsAreReplaced) {
  EXPECT_EQ(redact("{\"password\": \"x y\"}"), "{\"password\": ***}");
  EXPECT_EQ(redact("password: hunter22"), "password: ***");
}
