#!/usr/bin/env bash
# make install DESTDIR=... PREFIX=/usr: the tree holds the extension, the binary, the migrations
# (byte-identical), the mapping, the examples, the systemd unit and the bash completion where
# the README and serve look; the installed binary answers --version / -V and, run outside a
# checkout, finds the installed migrations by itself.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
repo=$(pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
root=$work/root
out=$(make -s install DESTDIR="$root" PREFIX=/usr 2>&1); rc=$?
tap_is "$rc" 0 "make install DESTDIR=... PREFIX=/usr succeeds"
[ "$rc" = 0 ] || echo "$out" | tail -5 | sed 's/^/# /'
share=$root/usr/share/registry-sync
tap_ok "$([ -x "$root/usr/bin/registry-sync" ]; echo $?)" "bin/registry-sync is installed and executable"
n_repo=$(ls migrations/*.sql | wc -l)
tap_is "$(ls "$share"/migrations/*.sql 2>/dev/null | wc -l)" "$n_repo" "every migration is installed under /usr/share/registry-sync/migrations"
tap_ok "$(diff -r migrations "$share/migrations" >/dev/null; echo $?)" \
  "installed migrations are byte-identical (checksums match what migrate records)"
tap_ok "$([ -x "$share/examples/ci/registry-ci.sh" ] && cmp -s examples/ci/github-actions.yml "$share/examples/ci/github-actions.yml"; echo $?)" "the CI example (workflow and its executable script) is installed"
tap_ok "$(cmp -s config/registry-mapping.yaml "$share/registry-mapping.yaml"; echo $?)" "the registry mapping is installed"
tap_ok "$(cmp -s examples/registry-2026-01/kpi_registry.yaml "$share/examples/registry-2026-01/kpi_registry.yaml"; echo $?)" "the example registry is installed"
tap_ok "$([ -f "$share/examples/hr-workday.yaml" ] && [ -f "$share/examples/registry-sync.service" ]; echo $?)" "HR mapping examples and the systemd unit are installed as examples"
tap_is "$(grep '^ExecStart=' "$share/examples/registry-sync.service")" "ExecStart=/usr/bin/registry-sync serve --config /etc/registry-sync/registry-sync.yaml" \
  "the installed unit runs PREFIX/bin/registry-sync (PREFIX=/usr)"
out=$(make -s install DESTDIR="$work/local" PREFIX=/usr/local 2>&1)
tap_is "$(grep '^ExecStart=' "$work/local/usr/local/share/registry-sync/examples/registry-sync.service" 2>&1)" \
  "ExecStart=/usr/local/bin/registry-sync serve --config /etc/registry-sync/registry-sync.yaml" "with PREFIX=/usr/local: /usr/local/bin/registry-sync"
tap_like "$(grep 'migrations_dir:' "$work/local/usr/local/share/registry-sync/examples/registry-sync.yaml" 2>&1)" \
  "migrations_dir: /usr/local/share/registry-sync/migrations" "and its example config names PREFIX's migrations"
tap_ok "$([ -f "$root$(pg_config --sharedir)/extension/registry_guard.control" ]; echo $?)" "the extension control file is installed under DESTDIR"
tap_ok "$([ -f "$root$(pg_config --pkglibdir)/registry_guard.so" ]; echo $?)" "the extension library is installed under DESTDIR"
comp=$root/usr/share/bash-completion/completions/registry-sync
tap_ok "$([ -s "$comp" ] && bash -n "$comp"; echo $?)" "a bash completion script is installed and parses"
tap_is "$(bash -c ". '$comp'; complete -p registry-sync" 2>&1)" "complete -o filenames -F _registry_sync registry-sync" "it registers for registry-sync"
# completion of commands from the command table, and of a command's options from its --help
tap_is "$(bash -c ". '$comp'; COMP_WORDS=(registry-sync mi); COMP_CWORD=1; _registry_sync; echo \${COMPREPLY[*]}")" "migrate" "completes command names"
tap_like "$(bash -c ". '$comp'; COMP_WORDS=('$root/usr/bin/registry-sync' migrate --ch); COMP_CWORD=2; _registry_sync; echo \${COMPREPLY[*]}")" "^--check$" "completes a command's options"

rs=$root/usr/bin/registry-sync
tap_is "$("$rs" --version 2>&1)" "registry-sync $(sed -n 's/^project(registry_sync VERSION \([0-9.]*\).*/\1/p' daemon/CMakeLists.txt)" "--version prints the release"
tap_is "$("$rs" -V 2>&1)" "$("$rs" --version)" "-V is --version"
tap_is "$("$rs" --version >/dev/null 2>&1; echo $?)" 0 "--version exits 0"
db=install_tree_$$
psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null
out=$(cd "$work" && "$rs" status --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "status outside a checkout runs"
tap_is "$(grep -c "^  pending " <<<"$out")" "$n_repo" "and finds the installed migrations by itself (all pending)"
tap_like "$out" "^migrations in $share/migrations: " "naming the installed directory"

# the example serve config (what the Debian package installs as /etc/registry-sync/registry-sync.yaml)
# is accepted by serve: it starts its jobs and answers /healthz (the database from the environment,
# which overrides the config's database_url per libpq parameter; only the listen address given)
ex=$share/examples/registry-sync.yaml
tap_is "$(grep -c "$root" "$ex")" 0 "the example config names no DESTDIR path"
tap_like "$(grep 'migrations_dir:' "$ex")" "migrations_dir: /usr/share/registry-sync/migrations" "and the installed migrations of PREFIX"
# (its snapshot job writes under /var/lib/registry-sync: here into the scratch directory instead)
sed "s|/var/lib/registry-sync/snapshot|$work/snapshot|" "$ex" > "$work/serve.yaml"
tap_is "$(diff "$ex" "$work/serve.yaml" | grep -c '^>')" 1 "(the copy differs from the example in the snapshot directory only)"
port=$( . test/lib/pgcluster.sh; pgc_free_port )
(cd "$work" && PGDATABASE=$db exec "$rs" serve --config "$work/serve.yaml" --listen "127.0.0.1:$port") > "$work/serve.log" 2>&1 &
spid=$!
code=
for _ in $(seq 1 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" 2>/dev/null)
  [ "$code" = 200 ] && break
  kill -0 "$spid" 2>/dev/null || break
  sleep 0.1
done
tap_is "$code" 200 "serve accepts the example config (config/registry-sync.yaml) and answers /healthz"
tap_like "$(cat "$work/serve.log")" "serve: listening on 127.0.0.1:$port, 2 job\(s\)" "with its two jobs (seal, snapshot)"
kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null
tap_done
