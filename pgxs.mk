# PGXS build of the registry_guard extension (C++17). The top-level Makefile drives it;
# it is a separate file so that our own `make check` does not clash with PGXS's.
EXTENSION = registry_guard
MODULE_big = registry_guard
EXT_SRCS := $(sort $(wildcard extension/*.cpp))
OBJS = $(EXT_SRCS:.cpp=.o)
DATA = $(wildcard sql/registry_guard--*.sql)
PG_CONFIG ?= pg_config

RG_VERSION := $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" registry_guard.control)
PG_CXXFLAGS = -std=c++17 -fPIC -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-register -DRG_VERSION='"$(RG_VERSION)"'
SHLIB_LINK = -lstdc++

# pg_regress suites: every test/sql/*.sql, in name order.
REGRESS = $(sort $(basename $(notdir $(wildcard test/sql/*.sql))))
REGRESS_OPTS = --inputdir=test --outputdir=test
ISOLATION = $(sort $(basename $(notdir $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=test/isolation

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The LLVM bitcode rule must see the same C++ dialect and defines as the object rule.
%.bc : %.cpp
	$(COMPILE.cxx.bc) $(PG_CXXFLAGS) -o $@ $<

# PGXS does not track header dependencies: rebuild every object when any header changes.
$(OBJS) $(OBJS:.o=.bc): $(wildcard extension/*.hpp)
