# registry-guard: builds the extension (PGXS, via pgxs.mk) and the registry-sync daemon (CMake).
# User-facing targets: all, install, deb, installcheck, check, demo, bench, clean.
PG_CONFIG ?= pg_config
PREFIX ?= /usr/local
BUILD_TYPE ?= Release
JOBS ?= 2

.PHONY: all extension daemon install deb installcheck check demo bench clean

all: extension daemon

extension:
	$(MAKE) -f pgxs.mk PG_CONFIG=$(PG_CONFIG)

# The daemon is built when its sources exist (daemon/CMakeLists.txt).
daemon:
	@if [ -f daemon/CMakeLists.txt ]; then \
	  cmake -S daemon -B build/daemon -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null && \
	  cmake --build build/daemon -j $(JOBS); \
	fi

# The extension into PostgreSQL's directories (pg_config); registry-sync into PREFIX:
#   bin/registry-sync
#   share/registry-sync/migrations/*.sql        (migrate's and serve's /readyz default when ./migrations is absent)
#   share/registry-sync/registry-mapping.yaml  (apply's / export's default mapping)
#   share/registry-sync/examples/              (examples/, the HR mapping examples, the serve config
#                                              registry-sync.yaml, the systemd unit with ExecStart
#                                              PREFIX/bin/registry-sync)
#   share/bash-completion/completions/registry-sync
# PREFIX=/usr gives the /usr/share/registry-sync paths the README uses; DESTDIR stages the tree.
RS_SHARE = $(DESTDIR)$(PREFIX)/share/registry-sync
install: all
	$(MAKE) -f pgxs.mk PG_CONFIG=$(PG_CONFIG) install
	install -D -m 755 build/daemon/registry-sync $(DESTDIR)$(PREFIX)/bin/registry-sync
	install -d $(RS_SHARE)/migrations $(RS_SHARE)/examples $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 644 migrations/*.sql $(RS_SHARE)/migrations/
	install -m 644 config/registry-mapping.yaml $(RS_SHARE)/registry-mapping.yaml
	cp -R examples/. $(RS_SHARE)/examples/
	install -m 644 config/hr-*.yaml config/registry-sync.environment $(RS_SHARE)/examples/
	sed 's|/usr/share/registry-sync/|$(PREFIX)/share/registry-sync/|' config/registry-sync.yaml > $(RS_SHARE)/examples/registry-sync.yaml
	sed 's|^ExecStart=/usr/bin/registry-sync |ExecStart=$(PREFIX)/bin/registry-sync |' packaging/registry-sync.service \
	  > $(RS_SHARE)/examples/registry-sync.service && chmod 644 $(RS_SHARE)/examples/registry-sync.service
	build/daemon/registry-sync completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/registry-sync

# Debian packages postgresql-15-registry-guard and registry-sync into DEB_OUT (packaging/deb/).
DEB_OUT ?= build/deb
deb: all
	packaging/deb/build-debs.sh $(DEB_OUT)

# pg_regress against an already running server (PGHOST/PGPORT) with the extension installed.
installcheck:
	$(MAKE) -f pgxs.mk PG_CONFIG=$(PG_CONFIG) installcheck

# Every test of the project on a throw-away cluster; ends with "N passed, N failed".
check: all
	test/check.sh

demo: all
	scripts/demo-run.sh

bench: all
	bench/run-all.sh

clean:
	$(MAKE) -f pgxs.mk clean
	rm -rf build test/results test/regression.* test/isolation/results test/isolation/regression.*
