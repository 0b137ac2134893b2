// Password redaction for DSNs and free text (see redact.hpp).
#include "common/redact.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <regex>
#include <set>
#include <vector>

namespace rgsync {

namespace {
std::mutex secrets_mutex;
std::set<std::string> &secrets() {
  static std::set<std::string> s;
  return s;
}

const std::regex &uri_userinfo() {
  // scheme://user:password@  (the password may not contain '@' unencoded, or whitespace)
  static const std::regex re(R"(((?:postgres|postgresql)://[^:/@\s]*:)[^@\s]*@)", std::regex::icase);
  return re;
}
const std::regex &uri_query() {
  // Query parameters that carry secrets in DSNs and in HTTP URLs (SuccessFactors, Workday and
  // SCIM deployments put API keys and signed-URL signatures there).
  static const std::regex re(
      R"(([?&](?:password|passwd|pwd|token|access_token|refresh_token|id_token|api_key|apikey|api-key|key|secret|)"
      R"(client_secret|sig|signature|x-amz-signature|code|auth|session|sessionid|jwt)=)[^&\s#"']*)",
      std::regex::icase);
  return re;
}
const std::regex &keyword_value() {
  // password=secret, password = 'sec ret', PGPASSWORD=secret (not "password authentication")
  static const std::regex re(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s'&]+))", std::regex::icase);
  return re;
}
const std::regex &json_or_yaml() {
  // "password": "secret"  /  password: secret
  static const std::regex re(R"(("?password"?\s*:\s*)("(?:[^"\\]|\\.)*"?|\S+))", std::regex::icase);
  return re;
}

bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Short secrets would mangle every message if replaced everywhere: replace them only where
// they stand as a whole token.
void replace_secret(std::string &text, const std::string &secret) {
  const bool whole_token_only = secret.size() < 4;
  size_t pos = 0;
  while ((pos = text.find(secret, pos)) != std::string::npos) {
    size_t end = pos + secret.size();
    bool bounded = (pos == 0 || !is_word(text[pos - 1])) && (end >= text.size() || !is_word(text[end]));
    if (whole_token_only && !bounded) {
      pos = end;
      continue;
    }
    text.replace(pos, secret.size(), kRedacted);
    pos += std::char_traits<char>::length(kRedacted);
  }
}
}  // namespace

std::string redact_dsn(std::string_view dsn) {
  std::string s(dsn);
  s = std::regex_replace(s, uri_userinfo(), std::string("$1") + kRedacted + "@");
  s = std::regex_replace(s, uri_query(), std::string("$1") + kRedacted);
  s = std::regex_replace(s, keyword_value(), std::string("$1") + kRedacted);
  return s;
}

void register_secret(const std::string &secret) {
  if (secret.empty()) return;
  std::lock_guard<std::mutex> lock(secrets_mutex);
  secrets().insert(secret);
}

void clear_secrets() {
  std::lock_guard<std::mutex> lock(secrets_mutex);
  secrets().clear();
}

std::string redact(std::string_view text) {
  std::string s = redact_dsn(text);
  s = std::regex_replace(s, json_or_yaml(), std::string("$1") + kRedacted);
  std::lock_guard<std::mutex> lock(secrets_mutex);
  // Longest first, so a secret containing a shorter one is removed whole.
  std::vector<std::string> ordered(secrets().begin(), secrets().end());
  std::sort(ordered.begin(), ordered.end(), [](const auto &a, const auto &b) { return a.size() > b.size(); });
  for (const auto &secret : ordered) replace_secret(s, secret);
  return s;
}

}  // namespace rgsync
