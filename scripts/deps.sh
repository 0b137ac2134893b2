#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the demo and the tests need (idempotent; uses
# sudo when not root). Skipped packages already installed, so repeated runs are fast.
# make deb and its suite: dpkg-dev (dpkg-shlibdeps), lintian, help2man (the man page), man-db and
# systemd (systemd-analyze verify of the unit; the package does not start a service).
set -euo pipefail
pkgs=(make g++ clang-14 libclang-rt-14-dev llvm-14 pkg-config cmake postgresql-15 postgresql-server-dev-15
      libpqxx-dev libyaml-dev libyaml-cpp-dev libspdlog-dev libboost-program-options-dev
      nlohmann-json3-dev libcurl4-openssl-dev libcpp-httplib-dev libgtest-dev libgmock-dev libssl-dev
      curl ca-certificates python3 python3-yaml pgbackrest prometheus prometheus-alertmanager
      dpkg-dev lintian help2man man-db adduser systemd)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js (for the SCIM test peer) may come from elsewhere with its own npm: only add
# Debian's when the commands are absent.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# pg_config must name the PostgreSQL 15 server the tests run.
command -v pg_config >/dev/null || { echo "deps: pg_config not found after installing postgresql-server-dev-15" >&2; exit 1; }
