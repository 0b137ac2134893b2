# Runs the commands of docs/runbooks/*.md from the documents themselves, so a runbook cannot
# drift from what the tests prove (source this file).
#
# A runbook's commands are fenced blocks whose info string names the block:
#   ```sh test:full-backup        (run with bash -euo pipefail)
#   ```sql test:check-verify      (run with psql -X -v ON_ERROR_STOP=1)
#   ```yaml test:new-entry        (a file excerpt; a suite writes it with rb_block)
# A command that cannot run on a test machine is a fenced block marked with the reason instead:
#   ```sh not-run: needs systemd (the test clusters run under pg_ctl)
# Every fenced block in docs/runbooks must carry a name or a not-run reason, every name must be
# run by a suite, and a command written inline in the text (`registry-sync migrate --check`,
# `SELECT ...`) must be one of the document's blocks (test/suites/runbooks.sh checks all three;
# rb_inline_commands lists the inline ones that are not).
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

# Prints "<lang> <name>" for every fenced block of FILE, one a line: name "-" when unnamed,
# "not-run" for a block marked not-run with a reason, "not-run:" when the reason is missing.
rb_list() {
  awk '/^[ \t]*```/ { if (inb) { inb = 0; next } inb = 1; lang = substr($1, 4); name = "-";
                for (i = 2; i <= NF; i++) {
                  if ($i ~ /^test:/) name = substr($i, 6)
                  if ($i ~ /^not-run:/) name = (i < NF || length($i) > 8) ? "not-run" : "not-run:"
                }
                print (lang == "" ? "-" : lang), name }' "$1"
}

# Prints "FILE:LINE: `SPAN`" for every span in backticks in FILE's text (outside fenced blocks)
# that looks like a command (a program with arguments, a SQL statement naming an object) and is
# not written, the same but for blanks, in one of FILE's fenced blocks. `registry-sync NAME`
# alone names a command: NAME must be one of COMMANDS (space separated), or it is listed too.
rb_inline_commands() {
  python3 - "$1" "${2:-}" <<'PY'
import re, sys
path, commands = sys.argv[1], set(sys.argv[2].split())
program = re.compile(r'^(registry-sync|psql|pg_ctl|pg_ctlcluster|pg_dump|pg_restore|pg_isready|pg_basebackup|'
                     r'pg_receivewal|pgbackrest|systemctl|journalctl|sudo|runuser|su|curl|read|export|chmod|chown|'
                     r'install|cp|mv|rm|mkdir|kill|openssl|supabase|apt|apt-get|dpkg|git|promtool|amtool|make)\s+\S')
# A statement naming something (a lower-case name, a quote, a parenthesis, a number); upper-case
# words alone (`CREATE DATABASE`, `ALTER TABLE ... DISABLE TRIGGER`) name a kind of statement.
sql = re.compile(r'^(SELECT|ALTER|CREATE|DROP|UPDATE|INSERT|DELETE|GRANT|REVOKE|SET|RESET|TRUNCATE|LOCK|COPY|'
                 r'BEGIN|VACUUM|REINDEX|CALL|DO|NOTIFY|WITH)\s.*[a-z0-9\'"(*]', re.S)
lines = open(path).read().split('\n')
prose, blocks, inb = [], [], False
for i, l in enumerate(lines, 1):
    if re.match(r'^\s*```', l):
        inb = not inb
        if inb: blocks.append([])
        prose.append((i, ''))
        continue
    (blocks[-1].append(l) if inb else None)
    prose.append((i, '' if inb else l))
norm = lambda t: ' '.join(t.split())
block_text = norm('\n'.join('\n'.join(b) for b in blocks))
# Paragraphs (spans may wrap a line, never a blank line); `` ```sh test:x ``` `` spans are skipped.
para, start = [], None
def check(par, first):
    text = '\n'.join(par)
    text = re.sub(r'(`{2,}).*?\1', lambda m: ' ' * len(m.group(0)), text, flags=re.S)
    for m in re.finditer(r'`([^`]+)`', text):
        span = norm(m.group(1))
        line = first + text.count('\n', 0, m.start())
        words = span.split(' ')
        if words[0] == 'registry-sync' and len(words) == 2 and re.fullmatch(r'[a-z-]+', words[1]):
            if words[1] not in commands:
                print(f'{path}:{line}: `{span}` (registry-sync has no command {words[1]})')
            continue
        if (program.match(span) or sql.match(span)) and span not in block_text:
            print(f'{path}:{line}: `{span}`')
for i, l in prose + [(len(lines) + 1, '')]:
    if l.strip():
        if start is None: start = i
        para.append(l)
    elif para:
        check(para, start); para, start = [], None
PY
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
