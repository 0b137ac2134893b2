// Connection settings: flags > environment > config file, per parameter; errors redacted.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "cli/options.hpp"
#include "common/config_file.hpp"
#include "common/connection_settings.hpp"
#include "db/connection.hpp"
#include "common/errors.hpp"
#include "common/redact.hpp"
#include "yaml/scalar.hpp"

namespace po = boost::program_options;

namespace {
struct FakeEnv {
  std::map<std::string, std::string> vars;
  std::function<const char *(const char *)> fn() const {
    return [this](const char *n) -> const char * {
      auto it = vars.find(n);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

po::variables_map parse(const std::vector<std::string> &args) {
  po::options_description opts;
  rgsync::add_common_options(opts);
  rgsync::add_connection_options(opts);
  rgsync::CommandHelp help{"test", "registry-sync test", "test", {}};
  return *rgsync::parse_command_line(args, opts, help);
}

rgsync::ConfigFile yaml(const std::string &text) { return rgsync::ConfigFile::parse(text, "sync.yaml"); }
}  // namespace

TEST(ConnectionSettings, ConfigFileAloneIsUsed) {
  FakeEnv env;
  auto cfg = yaml("database_url: postgresql://cfguser@cfghost:6000/cfgdb\nsslmode: disable\n");
  auto s = rgsync::resolve_connection_settings(parse({}), &cfg, env.fn());
  EXPECT_EQ(s.get("host"), "cfghost");
  EXPECT_EQ(s.get("port"), "6000");
  EXPECT_EQ(s.get("user"), "cfguser");
  EXPECT_EQ(s.get("dbname"), "cfgdb");
  EXPECT_EQ(s.get("sslmode"), "disable");
  EXPECT_NE(s.origin("host").find("sync.yaml:1"), std::string::npos);
}

TEST(ConnectionSettings, EnvironmentOverridesConfigFilePerParameter) {
  FakeEnv env{{{"PGHOST", "envhost"}}};
  auto cfg = yaml("database_url: postgresql://cfguser@cfghost:6000/cfgdb\n");
  auto s = rgsync::resolve_connection_settings(parse({}), &cfg, env.fn());
  EXPECT_EQ(s.get("host"), "envhost");
  EXPECT_EQ(s.get("dbname"), "cfgdb");  // untouched by the environment
  EXPECT_EQ(s.origin("host"), "environment PGHOST");
}

TEST(ConnectionSettings, DatabaseUrlWinsOverPgVariablesInTheEnvironment) {
  FakeEnv env{{{"DATABASE_URL", "postgresql://urluser@urlhost/urldb"}, {"PGHOST", "pghost"}, {"PGPORT", "7777"}}};
  auto s = rgsync::resolve_connection_settings(parse({}), nullptr, env.fn());
  EXPECT_EQ(s.get("host"), "urlhost");
  EXPECT_EQ(s.get("port"), "7777");  // the URL leaves the port open
  EXPECT_EQ(s.get("user"), "urluser");
}

TEST(ConnectionSettings, FlagsOverrideEnvironmentAndConfigFile) {
  FakeEnv env{{{"DATABASE_URL", "postgresql://envuser@envhost/envdb"}}};
  auto cfg = yaml("host: cfghost\ndbname: cfgdb\n");
  auto s = rgsync::resolve_connection_settings(
      parse({"--database-url", "postgresql://flaguser@flaghost/flagdb", "--port", "5999"}), &cfg, env.fn());
  EXPECT_EQ(s.get("host"), "flaghost");
  EXPECT_EQ(s.get("dbname"), "flagdb");
  EXPECT_EQ(s.get("user"), "flaguser");
  EXPECT_EQ(s.get("port"), "5999");
  EXPECT_EQ(s.origin("port"), "flag --port");
}

TEST(ConnectionSettings, SingleFlagsOverrideTheFlagUrl) {
  FakeEnv env;
  auto s = rgsync::resolve_connection_settings(parse({"--database-url", "postgresql://u@h1/db", "--host", "h2"}),
                                               nullptr, env.fn());
  EXPECT_EQ(s.get("host"), "h2");
}

TEST(ConnectionSettings, IniConfigFileWorks) {
  FakeEnv env;
  auto cfg = rgsync::ConfigFile::parse("# comment\nhost = inihost\nport=6100\n[hr]\nsource = csv\n", "sync.ini");
  auto s = rgsync::resolve_connection_settings(parse({}), &cfg, env.fn());
  EXPECT_EQ(s.get("host"), "inihost");
  EXPECT_EQ(s.get("port"), "6100");
  EXPECT_EQ(cfg.get("hr.source"), "csv");
}

TEST(ConnectionSettings, PasswordsFromEverySourceAreRegisteredAsSecrets) {
  rgsync::clear_secrets();
  FakeEnv env{{{"PGPASSWORD", "envsecret1"}}};
  auto cfg = yaml("database_url: postgresql://u:cfgsecret2@h/db\n");
  auto s = rgsync::resolve_connection_settings(parse({}), &cfg, env.fn());
  EXPECT_EQ(s.get("password"), "envsecret1");
  EXPECT_EQ(rgsync::redact("a envsecret1 b cfgsecret2 c"), "a *** b *** c");
  EXPECT_EQ(s.describe().find("envsecret1"), std::string::npos);
  rgsync::clear_secrets();
}

TEST(ConnectionSettings, MalformedUrlIsAUsageErrorWithoutThePassword) {
  FakeEnv env;
  try {
    rgsync::resolve_connection_settings(parse({"--database-url", "postgresql://u:pw1234@h:notaport/db?bogus=1"}),
                                        nullptr, env.fn());
    FAIL() << "expected UsageError";
  } catch (const rgsync::UsageError &e) {
    std::string m = e.what();
    EXPECT_EQ(m.find("pw1234"), std::string::npos) << m;
    EXPECT_NE(m.find("--database-url"), std::string::npos) << m;
  }
}

TEST(ConnectionSettings, SettingsValueFollowsFlagEnvConfigOrder) {
  FakeEnv env{{{"REGISTRY_SYNC_LOG_LEVEL", "warn"}}};
  auto vm = parse({});
  rgsync::Settings s;
  s.vm = vm;
  s.getenv_fn = env.fn();
  s.config = yaml("log_level: debug\n");
  EXPECT_EQ(s.value("log-level", "REGISTRY_SYNC_LOG_LEVEL", "log_level"), "warn");
  env.vars.clear();
  EXPECT_EQ(s.value("log-level", "REGISTRY_SYNC_LOG_LEVEL", "log_level"), "debug");
  s.vm = parse({"--log-level", "error"});
  EXPECT_EQ(s.value("log-level", "REGISTRY_SYNC_LOG_LEVEL", "log_level"), "error");
}

TEST(ConfigFile, YamlErrorsNameFileAndLine) {
  try {
    yaml("host: a\n  bad: [\n");
    FAIL() << "expected UsageError";
  } catch (const rgsync::UsageError &e) {
    EXPECT_NE(std::string(e.what()).find("sync.yaml:"), std::string::npos) << e.what();
  }
}

// The config file reads through the one YAML reader: duplicate keys are refused (the old
// reader kept the last), values stay text as written and booleans read by PyYAML's words.
TEST(ConfigFile, OneReaderDuplicateKeysAndBooleans) {
  try {
    yaml("serve:\n  listen: a\n  listen: b\n");
    FAIL() << "accepted a duplicate key";
  } catch (const rgsync::UsageError &e) {
    EXPECT_NE(std::string(e.what()).find("sync.yaml:3:3: duplicate key 'listen'"), std::string::npos) << e.what();
  }
  auto cfg = yaml("a: yes\nb: 0123\nc: Off\n");
  EXPECT_EQ(cfg.get("a"), "yes");
  EXPECT_EQ(cfg.get("b"), "0123");
  EXPECT_EQ(rgsync::yaml_bool(*cfg.get("a")), std::optional<bool>(true));
  EXPECT_EQ(rgsync::yaml_bool(*cfg.get("c")), std::optional<bool>(false));
  EXPECT_EQ(rgsync::yaml_bool("y"), std::nullopt);
}

TEST(ConfigFile, NestedKeysAndLists) {
  auto cfg = yaml("hr:\n  source: scim\n  attrs: [a, b]\nempty:\n");
  EXPECT_EQ(cfg.get("hr.source"), "scim");
  EXPECT_EQ(cfg.get_list("hr.attrs"), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(cfg.get("empty").has_value());
}

TEST(ConnectionFailure, AuthenticationFailureSaysWhereThePasswordCameFrom) {
  rgsync::ConnectionSettings s;
  s.set("host", "h", "flag --host");
  s.set("password", "zz-secret-zz", "environment PGPASSWORD");
  std::string m = rgsync::explain_connection_failure(
      s, "connection to server at \"h\" failed: FATAL:  password authentication failed for user \"u\"\n");
  EXPECT_NE(m.find("authentication failed"), std::string::npos) << m;
  EXPECT_NE(m.find("PGPASSWORD"), std::string::npos) << m;
  EXPECT_EQ(m.find("zz-secret-zz"), std::string::npos) << m;
  rgsync::clear_secrets();
}

TEST(ConnectionFailure, RefusedConnectionSaysServerUnreachable) {
  rgsync::ConnectionSettings s;
  std::string m = rgsync::explain_connection_failure(
      s, "could not connect to server: Connection refused\n\tIs the server running on host \"x\"");
  EXPECT_NE(m.find("not reachable"), std::string::npos) << m;
}

// The systemd unit tells operators where secrets go: every config key it names must be one
// the config file really understands (a libpq keyword there).
TEST(Packaging, UnitFileNamesOnlyConfigKeysThatExist) {
  std::ifstream in(std::string(RGSYNC_SOURCE_DIR) + "/../packaging/registry-sync.service");
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  std::regex re("config's `?([a-z_]+)");
  int named = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) {
    std::string key = (*it)[1];
    ++named;
    auto file = rgsync::ConfigFile::parse(key + ": /etc/registry-sync/x\n", "registry-sync.yaml");
    auto layer = rgsync::config_file_layer(file);
    EXPECT_TRUE(layer.params.count(key)) << "packaging/registry-sync.service names the config key '" << key
                                         << "', which the config file does not understand";
  }
  EXPECT_GT(named, 0);
}

TEST(SessionDefaults, KeepalivesAddedUnlessConfigured) {
  rgsync::SessionTimeouts t;
  rgsync::ConnectionSettings s;
  auto k = rgsync::with_keepalives(s, t);
  EXPECT_EQ(k.get("keepalives").value_or(""), "1");
  EXPECT_EQ(k.get("keepalives_idle").value_or(""), "30");
  EXPECT_EQ(k.get("keepalives_count").value_or(""), "3");
  s.set("keepalives_idle", "5", "test");
  EXPECT_EQ(rgsync::with_keepalives(s, t).get("keepalives_idle").value_or(""), "5");
}
