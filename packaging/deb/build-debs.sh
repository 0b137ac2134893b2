#!/usr/bin/env bash
# Builds the two Debian packages from an already built tree (`make deb` runs `make all` first):
#   postgresql-<major>-registry-guard  the extension (.so, bitcode, control file, SQL scripts) in
#                                     pg_config's pkglibdir / sharedir
#   registry-sync                     the daemon: /usr/bin/registry-sync, the systemd unit, the
#                                     system user (postinst), /etc/registry-sync (conffiles),
#                                     migrations, mapping and examples under /usr/share/registry-sync,
#                                     the man page (help2man, from the help texts) and bash completion
# with dpkg-deb (no debhelper: the packages are assembled from `make install DESTDIR=...`, the
# same tree the install_tree suite checks). Versions: the extension's default_version
# (registry_guard.control) and the daemon's project VERSION (daemon/CMakeLists.txt), Debian
# revision DEB_REVISION (default 1).
# Usage: packaging/deb/build-debs.sh [OUTDIR]   (default build/deb; prints the .deb paths)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
here=packaging/deb
out=${1:-build/deb}
PG_CONFIG=${PG_CONFIG:-pg_config}
rev=${DEB_REVISION:-1}

die() { echo "build-debs: $*" >&2; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps help2man gzip strip; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/deps.sh installs it)"
done
[ -f registry_guard.so ] && [ -x build/daemon/registry-sync ] || die "build first (make all)"

ext_version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" registry_guard.control)
rs_version=$(sed -n 's/^project(registry_sync VERSION \([0-9.]*\).*/\1/p' daemon/CMakeLists.txt)
[ -n "$ext_version" ] && [ -n "$rs_version" ] || die "cannot read the versions (registry_guard.control, daemon/CMakeLists.txt)"
pg_major=$("$PG_CONFIG" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
arch=$(dpkg --print-architecture)
pkglibdir=$("$PG_CONFIG" --pkglibdir)
sharedir=$("$PG_CONFIG" --sharedir)
ext_pkg=postgresql-$pg_major-registry-guard
# Reproducible: dates from the last commit (or SOURCE_DATE_EPOCH), not from the clock.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
maintainer=$(sed -n 's/^Maintainer: //p' "$here/maintainer")

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/rg-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
stage=$work/stage
make -s install DESTDIR="$stage" PREFIX=/usr PG_CONFIG="$PG_CONFIG" >/dev/null

# doc_dir <root> <package> <version>: copyright and changelog.Debian.gz (Debian policy 12.5, 12.7)
doc_dir() {
  local root=$1 pkg=$2 version=$3 doc
  doc=$root/usr/share/doc/$pkg
  install -d "$doc"
  install -m 644 "$here/copyright" "$doc/copyright"
  {
    echo "registry-guard ($version) unstable; urgency=medium"
    echo
    echo "  * Built from the registry-guard tree by make deb"
    echo "    (packaging/deb/build-debs.sh); the changes are in its git history."
    echo
    echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
  } | gzip -9n > "$doc/changelog.Debian.gz"
}

# finish <root> <package> <version> <depends> <description file>: DEBIAN/control, md5sums, build
finish() {
  local root=$1 pkg=$2 version=$3 depends=$4 descr=$5 size
  find "$root" -type d -exec chmod 755 {} +   # normal modes whatever the umask
  size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
  install -d -m 755 "$root/DEBIAN"
  {
    echo "Package: $pkg"
    echo "Source: registry-guard"
    echo "Version: $version"
    echo "Architecture: $arch"
    echo "Maintainer: $maintainer"
    echo "Installed-Size: $size"
    echo "Depends: $depends"
    echo "Section: database"
    echo "Priority: optional"
    cat "$descr"
  } > "$root/DEBIAN/control"
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0r md5sum) > "$root/DEBIAN/md5sums"
  chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
  dpkg-deb --root-owner-group -Zxz --build "$root" "$out/${pkg}_${version}_${arch}.deb" >/dev/null
  echo "$out/${pkg}_${version}_${arch}.deb"
}

# shlibdeps <binary...>: the shared-library dependencies (dpkg-shlibdeps wants a debian/control)
shlibdeps() {
  local d=$work/shlibdeps
  mkdir -p "$d/debian"
  printf 'Source: registry-guard\n\nPackage: x\nArchitecture: any\n' > "$d/debian/control"
  (cd "$d" && dpkg-shlibdeps -O "$@" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
}

strip_elf() {  # as dh_strip does
  local f
  for f in "$@"; do
    case "$f" in
      *.so) strip --remove-section=.comment --remove-section=.note --strip-unneeded "$f" ;;
      *) strip --remove-section=.comment --remove-section=.note "$f" ;;
    esac
  done
}

# ---- the extension
ext_version_deb=$ext_version-$rev
ext=$work/$ext_pkg
install -d "$ext$pkglibdir" "$ext$sharedir/extension"
cp -a "$stage$pkglibdir/." "$ext$pkglibdir/"
cp -a "$stage$sharedir/extension/." "$ext$sharedir/extension/"
[ -f "$ext$pkglibdir/registry_guard.so" ] || die "make install did not install registry_guard.so into $pkglibdir"
for v in 0.1.0 "$ext_version"; do
  [ -f "$ext$sharedir/extension/registry_guard--$v.sql" ] || die "registry_guard--$v.sql missing from the install"
done
[ -f "$ext$sharedir/extension/registry_guard--0.1.0--$ext_version.sql" ] || die "the 0.1.0--$ext_version upgrade script is missing"
chmod 644 "$ext$pkglibdir/registry_guard.so"
strip_elf "$ext$pkglibdir/registry_guard.so"
doc_dir "$ext" "$ext_pkg" "$ext_version_deb"
install -d "$ext/usr/share/lintian/overrides"
sed "s/@PG_MAJOR@/$pg_major/g" "$here/extension.lintian-overrides" > "$ext/usr/share/lintian/overrides/$ext_pkg"
chmod 644 "$ext/usr/share/lintian/overrides/$ext_pkg"
ext_deps=$(shlibdeps "$ext$pkglibdir/registry_guard.so")
sed "s/@PG_MAJOR@/$pg_major/g" "$here/extension.description" > "$work/ext.descr"
finish "$ext" "$ext_pkg" "$ext_version_deb" "postgresql-$pg_major, $ext_deps" "$work/ext.descr"

# ---- registry-sync
rs_version_deb=$rs_version-$rev
rs=$work/registry-sync
install -d "$rs/usr/bin" "$rs/usr/share" "$rs/etc/registry-sync" "$rs/lib/systemd/system" "$rs/usr/share/man/man1"
install -m 755 "$stage/usr/bin/registry-sync" "$rs/usr/bin/"
strip_elf "$rs/usr/bin/registry-sync"
cp -a "$stage/usr/share/registry-sync" "$stage/usr/share/bash-completion" "$rs/usr/share/"
# The unit as installed (ExecStart /usr/bin, which make install PREFIX=/usr also writes).
install -m 644 "$stage/usr/share/registry-sync/examples/registry-sync.service" "$rs/lib/systemd/system/registry-sync.service"
grep -q '^ExecStart=/usr/bin/registry-sync ' "$rs/lib/systemd/system/registry-sync.service" || die "the unit's ExecStart does not run /usr/bin/registry-sync"
# /etc/registry-sync: the serve config and the environment file (conffiles); postinst creates secrets/
install -m 644 config/registry-sync.yaml "$rs/etc/registry-sync/registry-sync.yaml"
install -m 640 config/registry-sync.environment "$rs/etc/registry-sync/environment"
# The man page from the help texts: registry-sync --help / --version, and every command's --help
# as a section of its own.
cmds=$(build/daemon/registry-sync --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$cmds" ] || die "no commands found in registry-sync --help"
{
  echo "[COMMANDS]"
  echo "Each command's options, from \\fBregistry-sync\\fR \\fIcommand\\fR \\fB\\-\\-help\\fR:"
  for c in $cmds; do
    echo ".SS \"registry-sync $c\""
    echo ".nf"
    build/daemon/registry-sync "$c" --help | sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/" -e 's/-/\\-/g'
    echo ".fi"
  done
  cat "$here/registry-sync.man-sections"
} > "$work/man.include"
help2man --no-info --no-discard-stderr --section=1 --source="registry-sync $rs_version" \
  --manual="User Commands" --name="registry hardening daemon: migrations, YAML registry sync, HR sync, serve" \
  --include="$work/man.include" --output="$work/registry-sync.1" build/daemon/registry-sync
gzip -9n -c "$work/registry-sync.1" > "$rs/usr/share/man/man1/registry-sync.1.gz"
doc_dir "$rs" registry-sync "$rs_version_deb"
install -D -m 644 "$here/registry-sync.lintian-overrides" "$rs/usr/share/lintian/overrides/registry-sync"
rs_deps=$(shlibdeps "$rs/usr/bin/registry-sync")
# maintainer scripts (system user, group of the environment file, purge) and the conffiles
install -d -m 755 "$rs/DEBIAN"
install -m 755 "$here/registry-sync.postinst" "$rs/DEBIAN/postinst"
install -m 755 "$here/registry-sync.postrm" "$rs/DEBIAN/postrm"
install -m 755 "$here/registry-sync.prerm" "$rs/DEBIAN/prerm"
(cd "$rs" && find etc -type f -printf '/%p\n' | LC_ALL=C sort) > "$rs/DEBIAN/conffiles"
chmod 644 "$rs/DEBIAN/conffiles"
sed "s/@PG_MAJOR@/$pg_major/g" "$here/registry-sync.description" > "$work/rs.descr"
finish "$rs" registry-sync "$rs_version_deb" "adduser, $rs_deps" "$work/rs.descr"
