#!/usr/bin/env bash
# Finds secret-looking literals in files: private keys, cloud and service tokens, JWTs, URLs
# with an inline password, secret-named settings assigned a literal. Prints one line per
# finding, "file:line: kind" (never the value), and exits 1 when there is any.
#
#   test/tools/secret-scan.sh [--allow FILE] [PATH...]   (default: the repository's files,
#                                                         tracked and new, not ignored)
# FILE lists allowed literals, one per line, "literal<TAB># why" (test fixtures with fake
# credentials); a finding whose matched text contains an allowed literal is not reported.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
allow=
if [ "${1:-}" = --allow ]; then allow=$2; shift 2; fi
if [ $# -eq 0 ]; then
  cd "$repo"
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files -co --exclude-standard | while IFS= read -r f; do [ -f "$f" ] && echo "$f"; done)
  else
    mapfile -t files < <(find . -type f -not -path './.git/*' -not -path '*/node_modules/*' -not -path './build/*' | sed 's|^\./||')
  fi
else
  files=("$@")
fi
allowed=()
if [ -n "$allow" ]; then
  while IFS= read -r line; do
    line=${line%%$'\t'#*}
    [ -n "$line" ] && [ "${line:0:1}" != "#" ] && allowed+=("$line")
  done <"$allow"
fi

# kind<TAB>extended regex
patterns=$(cat <<'PATTERNS'
private key	-----BEGIN ([A-Z]+ )?PRIVATE KEY-----
AWS access key	(AKIA|ASIA)[0-9A-Z]{16}
GitHub token	gh[pousr]_[A-Za-z0-9]{36,}
GitHub token	github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}
Slack token	xox[abposr]-[A-Za-z0-9-]{10,}
Stripe live key	[sr]k_live_[0-9A-Za-z]{20,}
Google API key	AIza[0-9A-Za-z_-]{35}
Supabase secret key	sb_secret_[A-Za-z0-9_-]{16,}
JWT	eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}
URL with a password	[a-z][a-z0-9+.-]*://[^:/@ "'$]+:[^@ "'$]+@
secret setting with a literal	(^|[^A-Za-z0-9_])(password|passwd|secret|api_?key|access_?key|auth_?token|bearer_?token|cipher[-_]pass)[A-Za-z_-]*["']?[[:space:]]*[:=][[:space:]]*["']?[A-Za-z0-9+/_.~!%^&*-]{8,}
PATTERNS
)
found=0
while IFS=$'\t' read -r kind re; do
  while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    loc=${hit%%:*}; rest=${hit#*:}; line=${rest%%:*}; text=${rest#*:}
    ok=0
    for a in "${allowed[@]+"${allowed[@]}"}"; do
      case "$text" in *"$a"*) ok=1; break ;; esac
    done
    [ $ok = 1 ] && continue
    if [ "$kind" = "secret setting with a literal" ]; then
      # A generated secret mixes letters and digits; prose ("password: database") does not.
      value=${text##*[:=]}; value=${value#"${value%%[![:space:]\"\']*}"}
      [[ $value =~ [0-9] && $value =~ [A-Za-z] ]] || continue
    fi
    echo "$loc:$line: $kind"
    found=1
  done < <(grep -HnoIE -- "$re" "${files[@]}" 2>/dev/null)
done <<<"$patterns"
exit $found
