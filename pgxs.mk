# PGXS build of the registry_guard extension (C++17). The top-level Makefile drives it;
# it is a separate file so that our own `make check` does not clash with PGXS's.
EXTENSION = registry_guard
MODULE_big = registry_guard
EXT_SRCS := $(sort $(wildcard extension/*/*.cpp))
OBJS = $(EXT_SRCS:.cpp=.o)
PG_CONFIG ?= pg_config

RG_VERSION := $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" registry_guard.control)
# Install scripts (see sql/README.md): released versions are frozen files in sql/; the current
# version's install script and every upgrade script are assembled from parts at build time.
RG_INSTALL_SQL := sql/registry_guard--$(RG_VERSION).sql
RG_UPDATE_DIRS := $(sort $(wildcard sql/updates/registry_guard--*--*))
RG_UPDATE_SQL := $(patsubst sql/updates/%,sql/%.sql,$(RG_UPDATE_DIRS))
RG_RELEASED_SQL := $(filter-out $(RG_INSTALL_SQL) $(RG_UPDATE_SQL),$(wildcard sql/registry_guard--*.sql))
DATA = $(RG_RELEASED_SQL) $(RG_INSTALL_SQL) $(RG_UPDATE_SQL)
EXTRA_CLEAN = $(RG_INSTALL_SQL) $(RG_UPDATE_SQL)
PG_CPPFLAGS = -Iextension
PG_CXXFLAGS = -std=c++17 -fPIC -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-register -DRG_VERSION='"$(RG_VERSION)"'
SHLIB_LINK = -lstdc++

# pg_regress suites: every test/sql/*.sql, in name order.
REGRESS = $(sort $(basename $(notdir $(wildcard test/sql/*.sql))))
# Results and diffs go to RG_REGRESS_OUT / RG_ISOLATION_OUT (default: beside the inputs).
RG_REGRESS_OUT ?= test
RG_ISOLATION_OUT ?= test/isolation
REGRESS_OPTS = --inputdir=test --outputdir=$(RG_REGRESS_OUT)
ISOLATION = $(sort $(basename $(notdir $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=$(RG_ISOLATION_OUT)

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The LLVM bitcode rule must see the same C++ dialect and defines as the object rule.
%.bc : %.cpp
	$(COMPILE.cxx.bc) $(PG_CXXFLAGS) -o $@ $<

# PGXS does not track header dependencies: rebuild every object when any header changes.
$(OBJS) $(OBJS:.o=.bc): $(wildcard extension/*/*.hpp)

all: $(RG_INSTALL_SQL) $(RG_UPDATE_SQL)

$(RG_INSTALL_SQL): $(sort $(wildcard sql/src/*.sql)) registry_guard.control
	{ echo "-- registry_guard $(RG_VERSION): audit trail (schema audit), references and RLS helpers (schema guard)."; \
	  echo "-- Generated from sql/src/*.sql by pgxs.mk; edit those files, not this one."; \
	  printf '%s\n' '\echo Use "CREATE EXTENSION registry_guard" to load this file. \quit'; \
	  cat $(sort $(wildcard sql/src/*.sql)); } > $@.tmp && mv $@.tmp $@

.SECONDEXPANSION:
$(RG_UPDATE_SQL): sql/%.sql: $$(sort $$(wildcard sql/updates/%/*.sql)) | sql/updates/%
	{ echo "-- registry_guard upgrade $*: generated from sql/updates/$*/*.sql by pgxs.mk."; \
	  printf '%s\n' '\echo Use "ALTER EXTENSION registry_guard UPDATE" to load this file. \quit'; \
	  cat $(sort $(wildcard sql/updates/$*/*.sql)); } > $@.tmp && mv $@.tmp $@
