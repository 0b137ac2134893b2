#!/usr/bin/env bash
# packaging/docker/Dockerfile (self-hosted Supabase: supabase/postgres 15 plus registry_guard)
# cannot be built here (no container engine, no registry). So that it does not rot, this suite
# checks what can be checked without one:
#  - the final stage copies into the image's own `pg_config --pkglibdir` and `--sharedir`/extension,
#    from a supabase/postgres 15 base;
#  - the build stage's COPY sources exist, and its script, run on a copy holding only those
#    sources (the Docker build context minus .dockerignore) with this machine's PostgreSQL 15
#    (the same Debian 12 base as the build stage's), builds;
#  - the files it installs are exactly the extension files `make install` installs (and the
#    Debian package ships) into pkglibdir and sharedir/extension, without bitcode;
#  - that library needs no libstdc++.so (the image's server does not look in Debian's library
#    directories) and works: CREATE EXTENSION and an audited write in a throw-away cluster.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/pgcluster.sh
repo=$(pwd)
df=packaging/docker/Dockerfile
work=$(mktemp -d)
trap 'pgc_stop; rm -rf "$work"' EXIT
chmod 755 "$work"

tap_like "$(grep -E '^ARG SUPABASE_POSTGRES=' "$df")" "=supabase/postgres:15\.[0-9.]+$" "the final stage's base is a pinned supabase/postgres 15 image"
tap_like "$(grep -E '^FROM ' "$df" | tail -1)" '^FROM \$\{SUPABASE_POSTGRES\}$' "the last stage is FROM that image"
final=$(sed -n '/^FROM \${SUPABASE_POSTGRES}/,$p' "$df")
tap_like "$final" 'lib=\$\(pg_config --pkglibdir\)' "the final stage asks the image's pg_config for pkglibdir"
tap_like "$final" 'share=\$\(pg_config --sharedir\)/extension' "and for sharedir/extension"
tap_like "$final" 'install -m 755 /tmp/registry_guard/lib/registry_guard\.so "\$lib/"' "and installs the library there"
tap_like "$final" 'install -m 644 /tmp/registry_guard/extension/\* "\$share/"' "and the control file and SQL scripts"

# The build stage's context: its COPY lines (repo-relative sources), minus .dockerignore.
build=$(sed -n '/^FROM .* AS build$/,/^FROM /p' "$df")
missing=
while read -r line; do
  read -r -a words <<<"${line#COPY }"
  unset 'words[-1]'
  for f in "${words[@]}"; do [ -e "$f" ] || missing="$missing $f"; done
done < <(grep -E '^COPY ' <<<"$build")
tap_is "$missing" "" "every source the build stage copies exists"
# assemble /src as the Dockerfile does (COPY a b ./ puts a and b into /src; COPY d ./d keeps d)
src=$work/src; mkdir -p "$src"
while read -r line; do
  read -r -a words <<<"${line#COPY }"
  dest=${words[-1]}; unset 'words[-1]'
  for s in "${words[@]}"; do
    if [ "$dest" = ./ ]; then cp -a "$s" "$src/"; else cp -a "$s" "$src/${dest#./}"; fi
  done
done < <(grep -E '^COPY ' <<<"$build")
while read -r pat; do
  case "$pat" in ''|'#'*) continue ;; '**/'*) find "$src" -name "${pat#\*\*/}" -exec rm -rf {} + ;; *) rm -rf "$src"/$pat ;; esac
done < packaging/docker/Dockerfile.dockerignore
run=$(grep -E '^RUN .*build-extension\.sh' <<<"$build")
tap_like "$run" 'PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config \./build-extension\.sh /out$' "the build stage runs build-extension.sh with PostgreSQL 15's pg_config"
sys_pg_config=/usr/lib/postgresql/15/bin/pg_config
[ -x "$sys_pg_config" ] || sys_pg_config=$(command -v pg_config)
out=$(cd "$src" && PG_CONFIG=$sys_pg_config ./build-extension.sh "$work/out" 2>&1); rc=$?
tap_is "$rc" 0 "build-extension.sh builds from the build stage's sources alone"
[ "$rc" = 0 ] || echo "$out" | tail -20 | sed 's/^/# /'
out=$(cd "$repo" && ./packaging/docker/build-extension.sh "$work/x" 2>&1); rc=$?
tap_is "$rc" 2 "build-extension.sh refuses to run in a checkout (it cleans where it runs)"

# the same files as make install's (what the Debian package ships), bitcode aside
inst=$work/inst
make -s -f pgxs.mk install DESTDIR="$inst" >/dev/null 2>&1
libdir=$(pg_config --pkglibdir); sharedir=$(pg_config --sharedir)
want=$( (cd "$inst$libdir" && ls -p | grep -v /$ | sed 's|^|lib/|'; cd "$inst$sharedir/extension" && ls | sed 's|^|extension/|') | sort)
got=$( (cd "$work/out" && find . -type f | sed 's|^\./||') | sort)
tap_like "$want" "lib/registry_guard.so" "make install puts registry_guard.so into pkglibdir"
tap_is "$got" "$want" "the image gets exactly the files make install puts into pkglibdir and sharedir/extension"
for f in extension/registry_guard.control extension/registry_guard--0.1.0.sql; do
  tap_ok "$(cmp -s "$work/out/$f" "$inst$sharedir/${f}"; echo $?)" "$f is the same as make install's"
done
tap_is "$(readelf -d "$work/out/lib/registry_guard.so" 2>/dev/null | grep -c 'NEEDED.*libstdc++')" 0 \
  "the image's library does not need libstdc++.so"

# and it works: a throw-away cluster with this library instead of the checkout's
pgc_start rg-docker || { tap_ok 1 "a cluster starts"; tap_done; }
major=$(basename "$(dirname "$PGC_SYS_BIN")")
cp "$work/out/lib/registry_guard.so" "$PGC_ROOT/inst/lib/postgresql/$major/lib/registry_guard.so"
cp "$work/out/extension/"* "$PGC_ROOT/inst/share/postgresql/$major/extension/"
out=$(psql -X -At -v ON_ERROR_STOP=1 <<'SQL' 2>&1
CREATE EXTENSION registry_guard;
CREATE TABLE public.t (id int PRIMARY KEY, v text);
SELECT audit.enable_tracking('public.t'::regclass);
INSERT INTO public.t VALUES (1, 'a');
UPDATE public.t SET v = 'b';
SELECT count(*) FROM audit.record_version WHERE table_name = 't';
SQL
)
tap_like "$out" "^2$" "the statically linked library creates the extension and records audited writes"
[[ $out =~ (^|$'\n')2$ ]] || echo "$out" | sed 's/^/# /'
tap_done
