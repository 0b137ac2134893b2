#!/usr/bin/env bash
# Builds registry_guard for a PostgreSQL whose C++ runtime we do not control (the supabase/postgres
# image's server is built with Nix): libstdc++ and libgcc linked statically, no LLVM bitcode, and
# installs the files (PGXS install) under OUTDIR/lib and OUTDIR/extension, ready to be copied into
# another image's `pg_config --pkglibdir` and `pg_config --sharedir`/extension.
# Run by packaging/docker/Dockerfile's build stage and by test/suites/docker_paths.sh (which
# compares the file set with the Debian package's).
# Usage: build-extension.sh OUTDIR   (in a copy holding pgxs.mk, registry_guard.control, extension/,
# sql/: it cleans and rebuilds there, so never run it in a checkout you build with make)
set -euo pipefail
out=${1:?usage: build-extension.sh OUTDIR}
PG_CONFIG=${PG_CONFIG:-pg_config}
if [ -e Makefile ] || [ -e .git ]; then
  echo "build-extension: $(pwd) looks like a checkout; run it in a copy (see the Dockerfile)" >&2; exit 2
fi
make_args=(-f pgxs.mk PG_CONFIG="$PG_CONFIG" with_llvm=no
           SHLIB_LINK='-Wl,-Bstatic -lstdc++ -Wl,-Bdynamic -static-libgcc -Wl,--exclude-libs,ALL')
# from scratch: clean also removes the generated install/upgrade scripts (pgxs.mk EXTRA_CLEAN)
make -s "${make_args[@]}" clean >/dev/null
make -s "${make_args[@]}" >/dev/null
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
make -s "${make_args[@]}" install DESTDIR="$stage" >/dev/null
mkdir -p "$out/lib" "$out/extension"
cp "$stage$("$PG_CONFIG" --pkglibdir)"/registry_guard.so "$out/lib/"
cp "$stage$("$PG_CONFIG" --sharedir)"/extension/registry_guard* "$out/extension/"
# The image's server must not need a libstdc++ of ours.
if readelf -d "$out/lib/registry_guard.so" | grep -q 'NEEDED.*libstdc++'; then
  echo "build-extension: registry_guard.so still needs libstdc++.so" >&2; exit 1
fi
