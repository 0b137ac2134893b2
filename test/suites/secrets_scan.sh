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
# alnum N: N (>= 2) random letters and digits with at least one of each: the shape of a GitHub
# token's body (gh[pousr]_ + 36 alphanumerics) and of a generated secret (the "secret setting"
# rule wants letters and digits). Built from exactly that alphabet, so it never comes out short
# (random base64 with /+= removed sometimes did, and the scanner rightly missed the token).
chars=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789
alnum() {
  local s= i p
  for ((i = 0; i < $1 - 2; i++)); do s+=${chars:RANDOM % 62:1}; done
  p=$((RANDOM % ($1 - 1))); s=${s:0:p}${chars:52 + RANDOM % 10:1}${s:p}  # a digit somewhere
  p=$((RANDOM % $1)); s=${s:0:p}${chars:RANDOM % 52:1}${s:p}             # a letter somewhere
  printf '%s' "$s"
}
bad=0; : >"$work/many.txt"
for ((n = 0; n < 2000; n++)); do
  t=$(alnum 36); printf 'token ghp''_%s\n' "$t" >>"$work/many.txt"
  [[ $t =~ ^[A-Za-z0-9]{36}$ && $t =~ [0-9] && $t =~ [A-Za-z] ]] || { bad=$((bad + 1)); echo "#   bad: $t"; }
done
tap_is "$bad" 0 "2000 generated token bodies all have 36 letters and digits, at least one of each"
tap_is "$("$scan" "$work/many.txt" | grep -c ': GitHub token$')" 2000 "the scanner finds every one of 2000 planted GitHub tokens"
tok=$(alnum 36)
plant "private key" key.pem "-----BEGIN RSA ""PRIVATE KEY-----" "PRIVATE KEY-----"
plant "AWS access key" aws.env "AWS_ACCESS_KEY_ID=AKIA""IOSFODNN7EXAMPLE" "IOSFODNN7EXAMPLE"
plant "GitHub token" gh.txt "token ghp""_${tok}" "$tok"
for k in o u s r; do t=$(alnum 36); plant "GitHub token" gh$k.txt "GH_TOKEN=gh$k""_$t" "$t"; done
fine=$(alnum 22)_$(alnum 59)  # a fine-grained personal access token: github_pat_ + 22 + _ + 59
plant "GitHub token" ghpat.txt "token: github""_pat_$fine" "$fine"
printf 'see ghp''_%s\n' "$(alnum 35)" >"$work/short.txt"
"$scan" "$work/short.txt" >/dev/null; tap_is "$?" 0 "a ghp_ word with 35 characters (not a token's shape) is not reported"
plant "Slack token" slack.txt "xoxb""-123456789012-abcdefghij" "abcdefghij"
plant "JWT" jwt.txt "Authorization: Bearer eyJ""hbGciOiJIUzI1NiJ9.eyJ""yb2xlIjoic2VydmljZV9yb2xlIn0.${tok}" "$tok"
plant "URL with a password" url.yaml "database_url: postgresql://sync:Tr0ub4dor-${tok:0:8}@db.internal/registry" "Tr0ub4dor"
plant "secret setting with a literal" conf.ini "repo1-cipher-pass=${tok}" "$tok"
plant "secret setting with a literal" app.yaml "  api_key: \"${tok}\"" "$tok"

printf 'password: database unchanged\ntoken_env: HR_SCIM_TOKEN\npassword_file: /etc/registry-sync/secrets/db-password\n' >"$work/prose.md"
"$scan" "$work/prose.md" >/dev/null; tap_is "$?" 0 "prose, variable names and file paths are not findings"
printf 'url: postgresql://u:''fixture123@h/db\n' >"$work/fixture.sh"
printf 'u:fixture123@\t# a test fixture\n' >"$work/allow.txt"
"$scan" --allow "$work/allow.txt" "$work/fixture.sh" >/dev/null; tap_is "$?" 0 "an allowed literal is not reported"

out=$("$scan" --allow test/secrets-allowlist.txt); rc=$?
tap_is "$rc" 0 "no secret-looking literal in the tree (outside test/secrets-allowlist.txt)"
[ "$rc" = 0 ] || sed 's/^/#   /' <<<"$out"
tap_done
