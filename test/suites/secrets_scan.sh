#!/usr/bin/env bash
# No secret-looking literal is committed: test/tools/secret-scan.sh over the tree (tracked and
# new files, not ignored ones) finds nothing beyond test/secrets-allowlist.txt. First it must
# catch a planted example of every kind it looks for (built here from pieces, so this file
# holds none), and must not report an allowed literal or a mention without a value.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
scan=test/tools/secret-scan.sh

plant() {  # plant <kind> <file name> <content>
  printf '%s\n' "$3" >"$work/$2"
  out=$("$scan" "$work/$2"); rc=$?
  tap_is "$rc" 1 "a planted $1 is found"
  tap_like "$out" "$2:1: $1\$" "and named by file:line and kind"
  tap_ok "$(grep -c -- "$4" <<<"$out")" "without printing the value"
}
b64=$(head -c 30 /dev/urandom | base64 | tr -d '/+=' | cut -c1-36)
plant "private key" key.pem "-----BEGIN RSA ""PRIVATE KEY-----" "PRIVATE KEY-----"
plant "AWS access key" aws.env "AWS_ACCESS_KEY_ID=AKIA""IOSFODNN7EXAMPLE" "IOSFODNN7EXAMPLE"
plant "GitHub token" gh.txt "token ghp""_${b64}" "$b64"
plant "Slack token" slack.txt "xoxb""-123456789012-abcdefghij" "abcdefghij"
plant "JWT" jwt.txt "Authorization: Bearer eyJ""hbGciOiJIUzI1NiJ9.eyJ""yb2xlIjoic2VydmljZV9yb2xlIn0.${b64}" "$b64"
plant "URL with a password" url.yaml "database_url: postgresql://sync:Tr0ub4dor-${b64:0:8}@db.internal/registry" "Tr0ub4dor"
plant "secret setting with a literal" conf.ini "repo1-cipher-pass=${b64}" "$b64"
plant "secret setting with a literal" app.yaml "  api_key: \"${b64}\"" "$b64"

printf 'password: database unchanged\ntoken_env: HR_SCIM_TOKEN\npassword_file: /etc/registry-sync/secrets/db-password\n' >"$work/prose.md"
"$scan" "$work/prose.md" >/dev/null; tap_is "$?" 0 "prose, variable names and file paths are not findings"
printf 'url: postgresql://u:''fixture123@h/db\n' >"$work/fixture.sh"
printf 'u:fixture123@\t# a test fixture\n' >"$work/allow.txt"
"$scan" --allow "$work/allow.txt" "$work/fixture.sh" >/dev/null; tap_is "$?" 0 "an allowed literal is not reported"

out=$("$scan" --allow test/secrets-allowlist.txt); rc=$?
tap_is "$rc" 0 "no secret-looking literal in the tree (outside test/secrets-allowlist.txt)"
[ "$rc" = 0 ] || sed 's/^/#   /' <<<"$out"
tap_done
