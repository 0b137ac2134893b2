# registry-guard: builds the extension (PGXS, via pgxs.mk) and the registry-sync daemon (CMake).
# User-facing targets: all, install, installcheck, check, demo, bench, clean.
PG_CONFIG ?= pg_config
PREFIX ?= /usr/local
BUILD_TYPE ?= Release
JOBS ?= 2

.PHONY: all extension daemon install installcheck check demo bench clean

all: extension daemon

extension:
	$(MAKE) -f pgxs.mk PG_CONFIG=$(PG_CONFIG)

# The daemon is built when its sources exist (daemon/CMakeLists.txt).
daemon:
	@if [ -f daemon/CMakeLists.txt ]; then \
	  cmake -S daemon -B build/daemon -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null && \
	  cmake --build build/daemon -j $(JOBS); \
	fi

install: all
	$(MAKE) -f pgxs.mk PG_CONFIG=$(PG_CONFIG) install
	@if [ -x build/daemon/registry-sync ]; then install -D -m 755 build/daemon/registry-sync $(DESTDIR)$(PREFIX)/bin/registry-sync; fi
	install -D -m 644 config/registry-mapping.yaml $(DESTDIR)$(PREFIX)/share/registry-sync/registry-mapping.yaml

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
