# Throw-away PostgreSQL clusters for tests, the demo and benchmarks (source this file).
#
# The cluster runs from a private, relocated copy of the server (postgres/initdb/pg_ctl
# copied, everything else symlinked) into which registry_guard is installed, so tests never
# touch the system's PostgreSQL installation and several checkouts can test at once.
# As root the server runs as the `postgres` user (PostgreSQL refuses root); otherwise as the
# invoking user. It listens on a Unix socket in its own directory (no TCP port to collide)
# unless PGC_TCP=1, which adds 127.0.0.1 on a free port.
#
#   pgc_start [name]   -> exports PGHOST PGPORT PGUSER PGDATABASE PGC_ROOT PGC_BIN
#   pgc_stop           -> stops the server and removes everything (also called from traps)
#   pgc_as_server CMD  -> runs CMD as the server's OS user

PGC_REPO=${PGC_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PGC_SYS_BIN=$(pg_config --bindir)
PGC_SYS_SHARE=$(pg_config --sharedir)
PGC_SYS_LIB=$(pg_config --pkglibdir)

pgc_as_server() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Builds the relocated server tree under $1 with registry_guard installed in it.
pgc_install_tree() {
  local root=$1 major
  major=$(basename "$(dirname "$PGC_SYS_BIN")")
  local bin="$root/lib/postgresql/$major/bin" lib="$root/lib/postgresql/$major/lib"
  local share="$root/share/postgresql/$major"
  mkdir -p "$bin" "$lib" "$share/extension"
  local b f
  for b in postgres initdb pg_ctl; do cp "$PGC_SYS_BIN/$b" "$bin/"; done
  # bitcode/ (for JIT inlining) is a directory of our own with the system's entries linked
  # in: registry_guard's bitcode goes into it, never through a link into the system's tree.
  for f in "$PGC_SYS_LIB"/*; do [ "$(basename "$f")" = bitcode ] || ln -s "$f" "$lib/"; done
  if [ -d "$PGC_SYS_LIB/bitcode" ]; then
    mkdir -p "$lib/bitcode"
    for f in "$PGC_SYS_LIB"/bitcode/*; do
      case "$(basename "$f")" in registry_guard|registry_guard.index.bc) ;; *) ln -s "$f" "$lib/bitcode/" ;; esac
    done
  fi
  for f in "$PGC_SYS_SHARE"/*; do [ "$(basename "$f")" = extension ] || ln -s "$f" "$share/"; done
  for f in "$PGC_SYS_SHARE"/extension/*; do ln -s "$f" "$share/extension/"; done
  # Our files are copied (not linked): the checkout may not be readable by `postgres`.
  rm -f "$lib/registry_guard.so" "$share/extension/registry_guard"*
  cp "$PGC_REPO/registry_guard.so" "$lib/"
  cp "$PGC_REPO/registry_guard.control" "$PGC_REPO"/sql/registry_guard--*.sql "$share/extension/"
  local bc
  for bc in "$PGC_REPO"/extension/*/*.bc; do
    [ -f "$bc" ] || continue
    mkdir -p "$lib/bitcode/registry_guard/$(dirname "${bc#"$PGC_REPO"/}")"
    cp "$bc" "$lib/bitcode/registry_guard/${bc#"$PGC_REPO"/}"
  done
  chmod -R a+rX "$root"
  PGC_BIN=$bin
}

pgc_free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "pgcluster: no free TCP port found" >&2; return 1
}

pgc_start() {
  local name=${1:-rg}
  # A cluster inherited from a parent (test/check.sh exports PGC_ROOT) is not ours to stop:
  # forget it first, so a failed start's trap (pgc_stop) cannot remove the parent's cluster.
  PGC_ROOT=
  [ -f "$PGC_REPO/registry_guard.so" ] || { echo "pgcluster: registry_guard.so is not built; run make first" >&2; return 1; }
  PGC_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
  chmod 755 "$PGC_ROOT"
  pgc_install_tree "$PGC_ROOT/inst"
  mkdir -p "$PGC_ROOT/run"
  [ "$(id -u)" = 0 ] && chown postgres "$PGC_ROOT/run"
  local port=5432 listen=""
  if [ "${PGC_TCP:-0}" = 1 ]; then port=$(pgc_free_port) || return 1; listen=127.0.0.1; fi
  pgc_as_server "$PGC_BIN/initdb" -D "$PGC_ROOT/run/data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$PGC_ROOT/run/initdb.log" 2>&1 \
    || { cat "$PGC_ROOT/run/initdb.log" >&2; return 1; }
  cat >>"$PGC_ROOT/run/data/postgresql.conf" <<CONF
listen_addresses = '$listen'
port = $port
unix_socket_directories = '$PGC_ROOT/run'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = ${PGC_SHARED_BUFFERS:-256MB}
max_connections = 100
max_prepared_transactions = 10
log_min_messages = warning
CONF
  pgc_as_server "$PGC_BIN/pg_ctl" -D "$PGC_ROOT/run/data" -l "$PGC_ROOT/run/server.log" -w -t 60 start >/dev/null \
    || { cat "$PGC_ROOT/run/server.log" >&2; return 1; }
  export PGHOST="$PGC_ROOT/run" PGPORT=$port PGUSER=postgres PGDATABASE=postgres PGC_ROOT PGC_BIN
  unset PGPASSWORD PGSERVICE DATABASE_URL
}

# Restarts the server (used by fault tests); extra args go to pg_ctl.
pgc_restart() { pgc_as_server "$PGC_BIN/pg_ctl" -D "$PGC_ROOT/run/data" -l "$PGC_ROOT/run/server.log" -w -m fast "$@" restart >/dev/null; }
pgc_pg_ctl() { pgc_as_server "$PGC_BIN/pg_ctl" -D "$PGC_ROOT/run/data" -l "$PGC_ROOT/run/server.log" -w "$@"; }

pgc_stop() {
  [ -n "${PGC_ROOT:-}" ] && [ -d "$PGC_ROOT" ] || return 0
  if [ -f "$PGC_ROOT/run/data/postmaster.pid" ]; then
    pgc_as_server "$PGC_BIN/pg_ctl" -D "$PGC_ROOT/run/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PGC_ROOT"
  PGC_ROOT=
}
