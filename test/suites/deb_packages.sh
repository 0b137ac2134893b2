#!/usr/bin/env bash
# The Debian packages from `make deb`: lintian finds no error and no warning without a written
# override; `dpkg -i` installs both on this machine; the extension is created from the installed
# files in a fresh cluster of the system's PostgreSQL (and 0.1.0 upgrades to the current
# version); `registry-sync migrate` runs from /usr/share/registry-sync/migrations; `serve` runs
# as systemd would run the unit (its ExecStart as its User, with its Environment, EnvironmentFile,
# WorkingDirectory and LoadCredential emulated: no systemd in a container) and answers
# /healthz and /readyz with the installed config, reading the database password from the
# credential; `dpkg --purge` leaves no file, directory, user or group behind.
#
# Needs root (CI runs as root; otherwise `sudo -n`). It installs into the system's directories:
# files of the packages that already existed there and belong to no package (e.g. from an
# earlier `make install`) are saved first and put back after the purge; if a package of the same
# name is already installed, or a file belongs to another package, the suite stops without
# touching anything. Other suites do not use the system's registry_guard (test/lib/pgcluster.sh
# runs a private copy of the server with the checkout's build).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
repo=$(pwd)

as_root=()
if [ "$(id -u)" != 0 ]; then
  if sudo -n true 2>/dev/null; then as_root=(sudo -n)
  else echo "ok 1 - # SKIP not root and sudo -n is not possible: dpkg -i/--purge need root (CI runs as root)"; exit 0; fi
fi
root() { "${as_root[@]}" "$@"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/rg-deb-suite.XXXXXX")
chmod 755 "$work"
serve_pid=; pg_bin=$(pg_config --bindir); pgdata=$work/pg/data; installed=0
cleanup() {
  [ -n "$serve_pid" ] && root kill "$serve_pid" 2>/dev/null
  [ -f "$pgdata/postmaster.pid" ] && root runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pgdata" -m immediate -w stop >/dev/null 2>&1
  if [ "$installed" = 1 ]; then root dpkg --purge registry-sync "$ext_pkg" >/dev/null 2>&1; fi
  [ -s "$work/saved.tar" ] && root tar -C / -xpf "$work/saved.tar"
  root rm -rf "$work"
}
trap cleanup EXIT

# ---- build (make deb into a scratch directory)
out=$(make -s deb DEB_OUT="$work/debs" 2>&1); rc=$?
tap_is "$rc" 0 "make deb builds the packages"
[ "$rc" = 0 ] || { echo "$out" | tail -20 | sed 's/^/# /'; tap_done; }
pg_major=$(pg_config --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
ext_pkg=postgresql-$pg_major-registry-guard
ext_version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" registry_guard.control)
rs_version=$(sed -n 's/^project(registry_sync VERSION \([0-9.]*\).*/\1/p' daemon/CMakeLists.txt)
ext_deb=$(ls "$work"/debs/"${ext_pkg}"_*.deb 2>/dev/null)
rs_deb=$(ls "$work"/debs/registry-sync_*.deb 2>/dev/null)
tap_ok "$([ -f "$ext_deb" ] && [ -f "$rs_deb" ]; echo $?)" "two packages: $(basename "${ext_deb:-none}") and $(basename "${rs_deb:-none}")"
[ -f "$ext_deb" ] && [ -f "$rs_deb" ] || tap_done
tap_is "$(dpkg-deb -f "$ext_deb" Version)" "$ext_version-1" "the extension package's version is the extension's (registry_guard.control)"
tap_is "$(dpkg-deb -f "$rs_deb" Version)" "$rs_version-1" "registry-sync's version is the daemon's (daemon/CMakeLists.txt)"
tap_like "$(dpkg-deb -f "$ext_deb" Depends)" "^postgresql-$pg_major, .*libc6" "the extension depends on postgresql-$pg_major and its libraries"
tap_like "$(dpkg-deb -f "$rs_deb" Depends)" "^adduser, .*libpq" "registry-sync depends on adduser and its libraries"

# ---- contents
ext_files=$(dpkg-deb -c "$ext_deb" | awk '{print $6}' | sed 's|^\./|/|')
rs_files=$(dpkg-deb -c "$rs_deb" | awk '{print $6}' | sed 's|^\./|/|')
libdir=$(pg_config --pkglibdir); sharedir=$(pg_config --sharedir)
for f in "$libdir/registry_guard.so" "$sharedir/extension/registry_guard.control" \
         "$sharedir/extension/registry_guard--0.1.0.sql" "$sharedir/extension/registry_guard--$ext_version.sql" \
         "$sharedir/extension/registry_guard--0.1.0--$ext_version.sql" "/usr/share/doc/$ext_pkg/copyright"; do
  tap_ok "$(grep -qxF "$f" <<<"$ext_files"; echo $?)" "$ext_pkg contains $f"
done
for f in /usr/bin/registry-sync /lib/systemd/system/registry-sync.service /etc/registry-sync/registry-sync.yaml \
         /etc/registry-sync/environment /usr/share/registry-sync/registry-mapping.yaml \
         /usr/share/man/man1/registry-sync.1.gz /usr/share/bash-completion/completions/registry-sync \
         /usr/share/doc/registry-sync/copyright /usr/share/doc/registry-sync/changelog.Debian.gz; do
  tap_ok "$(grep -qxF "$f" <<<"$rs_files"; echo $?)" "registry-sync contains $f"
done
tap_is "$(grep -c '^/usr/share/registry-sync/migrations/.*\.sql$' <<<"$rs_files")" "$(ls migrations/*.sql | wc -l)" \
  "registry-sync contains every migration under /usr/share/registry-sync/migrations"
dpkg-deb -e "$rs_deb" "$work/rs-control"
tap_is "$(cat "$work/rs-control/conffiles")" "$(printf '/etc/registry-sync/environment\n/etc/registry-sync/registry-sync.yaml')" \
  "the files in /etc/registry-sync are conffiles"
tap_like "$(dpkg-deb -c "$rs_deb" | grep ' ./etc/registry-sync/environment$')" "^-rw-r----- root/root" \
  "the environment file (may hold tokens) is not world-readable"
man_text=$(dpkg-deb --fsys-tarfile "$rs_deb" | tar -xOf - ./usr/share/man/man1/registry-sync.1.gz | gzip -dc)
for c in $(build/daemon/registry-sync --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'); do
  tap_like "$man_text" "^\.SS \"registry-sync $c\"" "the man page has a section for '$c' (from its --help)"
done
tap_like "$(MANWIDTH=100 man -l - 2>&1 <<<"$man_text" | grep -A3 'registry-sync migrate' | head -4)" "usage: registry-sync migrate" \
  "the man page renders the help texts"

# ---- lintian: no error, no warning without an override (each override file says why per line)
if command -v lintian >/dev/null; then
  lint=$(lintian --fail-on error,warning --display-level '>=warning' "$ext_deb" "$rs_deb" 2>&1); rc=$?
  tap_is "$rc" 0 "lintian passes both packages (no E:, no W: without an override)"
  tap_is "$(grep -E '^[EW]: ' <<<"$lint")" "" "lintian reports no error or warning"
  for ov in packaging/deb/*.lintian-overrides; do
    [ -f "$ov" ] || continue
    # every override line follows a comment line giving the reason
    tap_is "$(awk '/^[^#[:space:]]/ && prev !~ /^#/ {print FILENAME":"NR": "$0} {prev=$0}' "$ov")" "" "every override in $ov has a reason"
  done
else
  tap_ok 1 "lintian is installed (scripts/deps.sh installs it)"
fi

# ---- install (only on a machine where that replaces nothing of somebody else's); another
# checkout running this suite at the same time waits here (one system, one installation)
# (opened read-only, created world-readable: root and a sudo user share it in sticky /tmp)
lock=/tmp/rg-deb-packages.lock
[ -e "$lock" ] || (umask 022; : >"$lock") 2>/dev/null
exec 9<"$lock"
flock -w 600 9 || { tap_ok 1 "the machine-wide lock of this suite is free within 10 minutes"; tap_done; }
for p in "$ext_pkg" registry-sync; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed'; then
    echo "ok $((TAP_N + 1)) - # SKIP $p is already installed here: the suite does not replace or purge a real installation"
    tap_done
  fi
done
if getent passwd registry-sync >/dev/null || getent group registry-sync >/dev/null; then
  echo "ok $((TAP_N + 1)) - # SKIP a user or group registry-sync exists without the package: not ours to remove"
  tap_done
fi
: > "$work/saved.list"
while read -r f; do
  [ -n "$f" ] && [ ! -d "$f" ] && { [ -e "$f" ] || [ -L "$f" ]; } || continue
  if dpkg -S "$f" >/dev/null 2>&1; then
    tap_ok 1 "$f belongs to another package ($(dpkg -S "$f" 2>/dev/null | cut -d: -f1)): not installing over it"; tap_done
  fi
  echo "${f#/}" >> "$work/saved.list"
done <<<"$(printf '%s\n%s\n' "$ext_files" "$rs_files")"
# files in the packages' directories that are not the packages' (e.g. bitcode of an older
# `make install`): dpkg --purge rightly leaves those directories, with a warning
printf '%s\n%s\n' "$ext_files" "$rs_files" | while read -r d; do
  case "$d" in *registry*) ;; *) continue ;; esac
  [ "${d%/}" != "$d" ] && [ -d "$d" ] && find "$d" -maxdepth 1 ! -type d 2>/dev/null
done | sort -u | grep -vxF -f <(printf '%s\n%s\n' "$ext_files" "$rs_files") > "$work/foreign.list"
if [ -s "$work/saved.list" ]; then
  echo "# saving $(wc -l < "$work/saved.list") file(s) that exist here without a package, to put back after the purge"
  root tar -C / -cpf "$work/saved.tar" -T "$work/saved.list"
fi
dpkg_root() {  # dpkg may wait for a concurrent apt-get (scripts/deps.sh) to release its lock
  local i o rc
  for i in $(seq 1 30); do
    o=$(root dpkg "$@" 2>&1); rc=$?
    grep -q 'lock' <<<"$o" && [ "$rc" != 0 ] || { echo "$o"; return $rc; }
    sleep 2
  done
  echo "$o"; return $rc
}
installed=1
out=$(dpkg_root -i "$ext_deb" "$rs_deb"); rc=$?
tap_is "$rc" 0 "dpkg -i installs both packages"
[ "$rc" = 0 ] || { echo "$out" | sed 's/^/# /'; tap_done; }
tap_like "$(getent passwd registry-sync)" "^registry-sync:x:[0-9]+:[0-9]+:[^:]*:/var/lib/registry-sync:/usr/sbin/nologin$" \
  "postinst created the system user registry-sync (home /var/lib/registry-sync, no login shell)"
uid=$(id -u registry-sync 2>/dev/null || echo 99999)
tap_ok "$([ "$uid" -lt 1000 ]; echo $?)" "it is a system user (uid $uid)"
tap_is "$(stat -c '%U:%G %a' /var/lib/registry-sync 2>&1)" "registry-sync:registry-sync 750" "its state directory belongs to it"
tap_is "$(stat -c '%U:%G %a' /etc/registry-sync/environment 2>&1)" "root:registry-sync 640" "the environment file is readable by the service's group only"
tap_is "$(stat -c '%U:%G %a' /etc/registry-sync/secrets 2>&1)" "root:root 700" "postinst created the root-only secrets directory (the unit's LoadCredential)"
tap_is "$(registry-sync --version 2>&1)" "registry-sync $rs_version" "/usr/bin/registry-sync runs"
unit=/lib/systemd/system/registry-sync.service
if command -v systemd-analyze >/dev/null; then
  man_opt=(); command -v man >/dev/null || man_opt=(--man=no)
  out=$(systemd-analyze verify "${man_opt[@]}" "$unit" 2>&1); rc=$?
  tap_is "$rc" 0 "systemd-analyze verify accepts the installed unit (ExecStart binary and man page exist)"
  [ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
else
  tap_ok 1 "systemd-analyze is installed (package systemd, scripts/deps.sh)"
fi

# ---- the extension from the installed files, in a fresh cluster of the system's PostgreSQL
mkdir -p "$work/pg"; root chown postgres "$work/pg"
as_pg() { root runuser -u postgres -- "$@"; }
as_pg "$pg_bin/initdb" -D "$pgdata" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null 2>&1
cat > "$work/pg.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work/pg'
fsync = off
CONF
as_pg sh -c "cat '$work/pg.conf' >> '$pgdata/postgresql.conf'"
# password only for registry_syncer (the daemon's role), trust for the rest
as_pg sh -c "printf 'local all registry_syncer scram-sha-256\nlocal all all trust\n' > '$pgdata/pg_hba.conf'"
as_pg "$pg_bin/pg_ctl" -D "$pgdata" -l "$work/pg/server.log" -w start >/dev/null
tap_ok $? "a fresh cluster of the system's PostgreSQL $pg_major starts"
export PGHOST=$work/pg PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
unset PGPASSWORD PGSERVICE DATABASE_URL
psql -X -q -c "CREATE DATABASE registry" -c "CREATE DATABASE upgraded" >/dev/null
out=$(psql -X -q -At -d registry -c "CREATE SCHEMA extensions" -c "CREATE EXTENSION registry_guard WITH SCHEMA extensions" \
      -c "SELECT extversion FROM pg_extension WHERE extname = 'registry_guard'" 2>&1)
tap_is "$out" "$ext_version" "CREATE EXTENSION registry_guard from the installed files gives $ext_version"
tap_is "$(psql -X -At -d registry -c "SELECT probin FROM pg_proc WHERE probin LIKE '%registry_guard' LIMIT 1")" '$libdir/registry_guard' \
  "its functions load \$libdir/registry_guard (the installed library)"
out=$(psql -X -q -At -d upgraded -c "CREATE EXTENSION registry_guard VERSION '0.1.0'" -c "ALTER EXTENSION registry_guard UPDATE" \
      -c "SELECT extversion FROM pg_extension WHERE extname = 'registry_guard'" 2>&1)
tap_is "$out" "$ext_version" "0.1.0 from the installed scripts upgrades to $ext_version"

# ---- registry-sync migrate from the installed migrations
out=$(cd "$work" && registry-sync migrate --dir /usr/share/registry-sync/migrations --dbname registry 2>&1); rc=$?
tap_is "$rc" 0 "registry-sync migrate --dir /usr/share/registry-sync/migrations succeeds"
[ "$rc" = 0 ] || echo "$out" | tail -10 | sed 's/^/# /'
out=$(cd "$work" && registry-sync status --dbname registry 2>&1)
tap_like "$out" "^migrations in /usr/share/registry-sync/migrations: " "status, outside a checkout, uses the installed migrations"
tap_like "$out" "summary: $(ls migrations/*.sql | wc -l) applied, 0 pending, 0 unavailable, 0 edited" "and finds every one applied"

# ---- serve as the unit runs it
pw=deb-suite-$RANDOM$RANDOM
psql -X -q -d registry -c "ALTER ROLE registry_syncer LOGIN PASSWORD '$pw'" >/dev/null
port=$( . test/lib/pgcluster.sh; pgc_free_port )
# what an administrator does: the database and listen address in the config and the
# environment file, the password in the secrets directory (a credential for the unit)
root sed -i "s|^  listen: 127.0.0.1:9187 |  listen: 127.0.0.1:$port |" /etc/registry-sync/registry-sync.yaml
tap_like "$(grep '^  listen:' /etc/registry-sync/registry-sync.yaml)" "127.0.0.1:$port" "the installed config's listen address can be edited"
root sh -c "printf 'PGHOST=%s\nPGPORT=5432\nPGDATABASE=registry\n' '$work/pg' >> /etc/registry-sync/environment"
root sh -c "umask 077; printf '*:*:*:registry_syncer:%s\n' '$pw' > /etc/registry-sync/secrets/pgpass"
unit_get() { sed -n "s/^$1=//p" "$unit"; }
u_user=$(unit_get User); u_group=$(unit_get Group); u_wd=$(unit_get WorkingDirectory); u_exec=$(unit_get ExecStart)
tap_is "$u_exec" "/usr/bin/registry-sync serve --config /etc/registry-sync/registry-sync.yaml" "the unit runs /usr/bin/registry-sync serve with the installed config"
# LoadCredential=ID:DIR: every file of DIR as ID_FILE in a directory only the service reads (%d)
cred=$work/credentials; root install -d -o "$u_user" -m 500 "$cred"
while IFS=: read -r id path; do
  if [ -d "$path" ]; then
    for f in $(root find "$path" -maxdepth 1 -type f -printf '%f\n'); do
      root install -o "$u_user" -m 400 "$path/$f" "$cred/${id}_$f"
    done
  else
    root install -o "$u_user" -m 400 "$path" "$cred/$id"
  fi
done < <(unit_get LoadCredential)
env_args=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$u_wd" CREDENTIALS_DIRECTORY="$cred")
while read -r kv; do [ -n "$kv" ] && env_args+=("${kv//%d/$cred}"); done < <(unit_get Environment)
envfile=$(unit_get EnvironmentFile); envfile=${envfile#-}
while IFS= read -r line; do
  case "$line" in ''|'#'*) ;; *) env_args+=("$line") ;; esac
done < <(root cat "$envfile" 2>/dev/null)
read -r -a exec_argv <<<"$u_exec"
# setpriv execs (no child process), so $! is serve itself (or sudo, which relays signals)
"${as_root[@]}" env -i "${env_args[@]}" /bin/bash -c 'cd "$1" && shift && exec setpriv --reuid="$1" --regid="$2" --init-groups -- "${@:3}"' \
  bash "$u_wd" "$u_user" "$u_group" "${exec_argv[@]}" > "$work/serve.log" 2>&1 &
serve_pid=$!
sleep 0.2
[ "$(id -u)" = 0 ] && tap_is "$(readlink "/proc/$serve_pid/exe" 2>&1)" /usr/bin/registry-sync "the started process is /usr/bin/registry-sync itself (exec chain)"
health=; ready=
for _ in $(seq 1 100); do
  health=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" 2>/dev/null)
  ready=$(curl -s "http://127.0.0.1:$port/readyz" 2>/dev/null)
  [ "$health" = 200 ] && [[ $ready == ready:* ]] && break
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 0.2
done
tap_is "$health" 200 "serve, run as the unit runs it, answers /healthz"
tap_like "$ready" "^ready: database reachable, migrations current" "and /readyz: the database (as registry_syncer, password from the credential) and the installed migrations"
tap_ok "$(pgrep -u registry-sync -x registry-sync >/dev/null; echo $?)" "it runs as the unit's user"
for _ in $(seq 1 50); do root test -e /var/lib/registry-sync/snapshot/current/SHA256SUMS && break; sleep 0.2; done
tap_ok "$(root test -e /var/lib/registry-sync/snapshot/current/SHA256SUMS; echo $?)" "the installed config's export job writes its snapshot into the state directory"
tap_is "$(root stat -c %U /var/lib/registry-sync/snapshot/current/ 2>&1)" "registry-sync" "owned by the service's user"
tap_like "$(psql -X -At -d registry -c "SELECT usename FROM pg_stat_activity WHERE application_name LIKE 'registry-sync%' LIMIT 1")" "^registry_syncer$" \
  "its sessions log in as registry_syncer"
tap_is "$(grep -c -- "$pw" "$work/serve.log")" 0 "the password is not in serve's log"
root kill -TERM "$serve_pid"
wait "$serve_pid"; rc=$?; serve_pid=
tap_is "$rc" 0 "SIGTERM (the unit's KillSignal) stops it cleanly"
[ "$rc" = 0 ] || tail -20 "$work/serve.log" | sed 's/^/# /'
as_pg "$pg_bin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null

# ---- reinstall (postinst again, with an existing user and edited conffiles), remove, purge
out=$(dpkg_root -i "$ext_deb" "$rs_deb"); rc=$?
tap_is "$rc" 0 "dpkg -i again (reinstall) succeeds"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
tap_like "$(grep '^  listen:' /etc/registry-sync/registry-sync.yaml)" "127.0.0.1:$port" "it keeps the administrator's edit of the config (a conffile)"
tap_is "$(id -u registry-sync 2>&1)" "$uid" "and the same user"
tap_ok "$(root test -f /etc/registry-sync/secrets/pgpass; echo $?)" "and the secret"
out=$(dpkg_root -r registry-sync); rc=$?
tap_is "$rc" 0 "dpkg -r registry-sync (remove, not purge) succeeds"
tap_ok "$([ ! -e /usr/bin/registry-sync ] && [ -f /etc/registry-sync/registry-sync.yaml ] && getent passwd registry-sync >/dev/null; echo $?)" \
  "remove takes the program away and keeps the configuration and the user"

# ---- purge: nothing left
out=$(dpkg_root --purge registry-sync "$ext_pkg"); rc=$?
tap_is "$rc" 0 "dpkg --purge removes both packages"
[ "$rc" = 0 ] && installed=0
unexpected=$(grep -i 'warning' <<<"$out" | while read -r w; do
  d=$(sed -n "s/.*directory '\(.*\)' not empty so not removed.*/\1/p" <<<"$w")
  if [ -n "$d" ] && grep -q "^$d/" "$work/foreign.list"; then echo "# expected: $w (it held files of no package before)" >&2
  else echo "$w"; fi
done)
tap_is "$unexpected" "" "without a warning, apart from directories that held other files before"
left=$(printf '%s\n%s\n' "$ext_files" "$rs_files" | while read -r f; do
  [ -n "$f" ] || continue
  if [ -d "$f" ]; then case "$f" in /etc/registry-sync/*|/usr/share/registry-sync/*|/usr/share/doc/registry-sync*|/usr/share/doc/"$ext_pkg"*) echo "$f" ;; esac
  elif [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi
done)
tap_is "$left" "" "no file of the packages is left (and none of their own directories)"
tap_is "$(pgrep -u registry-sync 2>/dev/null)" "" "no process of the service's user is left"
tap_ok "$([ ! -e /etc/registry-sync ] && [ ! -e /var/lib/registry-sync ]; echo $?)" "/etc/registry-sync (with the secret added there) and /var/lib/registry-sync are gone"
tap_ok "$(! getent passwd registry-sync >/dev/null && ! getent group registry-sync >/dev/null; echo $?)" "the user and group registry-sync are gone"
tap_is "$(dpkg-query -W -f='${Package} ${Status}\n' registry-sync "$ext_pkg" 2>/dev/null | grep -E 'ok (installed|config-files|half)')" "" \
  "dpkg lists neither package as installed nor with config files left"
tap_done
