# Runs the commands of docs/runbooks/*.md from the documents themselves, so a runbook cannot
# drift from what the tests prove (source this file).
#
# A runbook's commands are fenced blocks whose info string names the block:
#   ```sh test:full-backup        (run with bash -euo pipefail)
#   ```sql test:check-verify      (run with psql -X -v ON_ERROR_STOP=1)
#   ```yaml test:new-entry        (a file excerpt; a suite writes it with rb_block)
# Every fenced block in docs/runbooks must carry such a name and every name must be run by a
# suite (test/suites/runbooks.sh checks both).
#
#   rb_use FILE              selects the runbook (path from the repository root)
#   rb_block NAME            prints the block's body (fails unless exactly one block has NAME)
#   rb_run NAME [psql args]  runs the block as the current user; output on stdout/stderr
#   rb_run_as_server NAME    runs an sh block as the database server's OS user (pgc_as_server)
RB_REPO=${RB_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
RB_FILE=

rb_use() {
  RB_FILE=$RB_REPO/$1
  [ -f "$RB_FILE" ] || { echo "runbook: $1 not found" >&2; return 1; }
}

# Prints "<lang> <name>" for every fenced block of FILE (name "-" when unnamed), one a line.
rb_list() {
  awk '/^[ \t]*```/ { if (inb) { inb = 0; next } inb = 1; lang = substr($1, 4); name = "-";
                for (i = 2; i <= NF; i++) if ($i ~ /^test:/) name = substr($i, 6);
                print (lang == "" ? "-" : lang), name }' "$1"
}

rb_block() {
  local name=$1 n
  n=$(rb_list "$RB_FILE" | awk -v n="$name" '$2 == n' | wc -l)
  [ "$n" = 1 ] || { echo "runbook: ${RB_FILE#"$RB_REPO"/} has $n blocks named test:$name (needs exactly 1)" >&2; return 1; }
  # Blocks may be indented (inside a list): the fence's indentation is removed from the body.
  awk -v n="$name" '
    /^[ \t]*```/ { if (inb) { inb = 0; next }
             inb = 1; take = 0; indent = match($0, /[^ \t]/) - 1
             for (i = 2; i <= NF; i++) if ($i == "test:" n) take = 1; next }
    inb && take { print substr($0, indent + 1) }' "$RB_FILE"
}

rb_lang() { rb_list "$RB_FILE" | awk -v n="$1" '$2 == n { print $1; exit }'; }

rb_run() {
  local name=$1 body lang; shift
  body=$(rb_block "$name") || return 1
  lang=$(rb_lang "$name")
  case "$lang" in
    sh|bash) bash -euo pipefail -c "$body" ;;
    sql) psql -X -v ON_ERROR_STOP=1 "$@" <<<"$body" ;;
    *) echo "runbook: block test:$name has language '$lang' (sh or sql)" >&2; return 1 ;;
  esac
}

rb_run_as_server() {
  local body
  body=$(rb_block "$1") || return 1
  [ "$(rb_lang "$1")" = sh ] || { echo "runbook: test:$1 is not an sh block" >&2; return 1; }
  pgc_as_server bash -euo pipefail -c "$body"
}
