# scravio-lua: build, test, demo, sanitizers, fuzzing, benchmarks, install.
#
#   make test         install what is missing, build for Lua 5.1-5.4 and LuaJIT, run every spec
#   make test-stress  two whole suites at once, several rounds: the suite must not depend on speed
#   make demo         the whole campaign flow against the bundled fake server
#
# Builds for different Luas live side by side: build/lua5.4/, build/luajit/, build/lua5.1/ ...
# Every target builds what it needs itself (it works on a fresh clone on its own).

# The version is defined once, in csrc/scravio.h (scravio.version); the rockspec's
# file name and version, and CHANGELOG.md, are checked against it (spec/packaging_spec.lua).
VERSION     := $(shell sed -n 's/^\#define SCV_VERSION "\(.*\)"/\1/p' csrc/scravio.h)
ROCKSPEC    := scravio-$(VERSION)-1.rockspec
CC          ?= gcc
WARN        := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes
CSTD        := -std=c99 -D_POSIX_C_SOURCE=200809L
OPT         ?= -O2 -g
CFLAGS_ALL  := $(CSTD) $(WARN) $(OPT) -fPIC -fvisibility=hidden $(CFLAGS)
CURL_LIBS   := -lcurl

SRCS        := $(wildcard csrc/*.c)
HDRS        := $(wildcard csrc/*.h)
LUA_FILES   := $(shell find lua -name '*.lua' 2>/dev/null)

# The Luas of the build matrix and their headers: build/<name>/scravio/core.so.
LUAS        := lua5.4 luajit lua5.1 lua5.2 lua5.3
INC_lua5.4  := /usr/include/lua5.4
INC_lua5.3  := /usr/include/lua5.3
INC_lua5.2  := /usr/include/lua5.2
INC_lua5.1  := /usr/include/lua5.1
INC_luajit  := /usr/include/luajit-2.1
LUA54_INC   := $(INC_lua5.4)

# Debian packages everything needs (tests, demo, OpenResty specs, rock build).
DEB_PKGS    := lua5.4 liblua5.4-dev libcurl4-openssl-dev lua-cjson lua-busted \
               luajit2 libluajit2-5.1-dev nginx-light libnginx-mod-http-lua \
               lua-check luarocks openssl curl lua-socket lua5.1 liblua5.1-0-dev \
               lua5.2 liblua5.2-dev lua5.3 liblua5.3-dev unzip iso-codes lua-argparse
STAMP       := build/.deps-ok
# NO_DEPS=1 builds the C core without `make deps` (only gcc, Lua headers and
# libcurl's are needed), e.g. against OpenResty's LuaJIT headers.
DEPS        := $(if $(NO_DEPS),,$(STAMP))

.PHONY: all deps test test-fast test-stress demo asan valgrind fuzz bench lint docs install rock clean

all: $(foreach l,$(LUAS),build/$(l)/scravio/core.so)

# Installs missing Debian packages when run as root; otherwise prints the command.
deps: $(STAMP)
# Re-checked when the Makefile (DEB_PKGS) changes.
$(STAMP): Makefile
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make deps: installing$$missing"; \
	    (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	      || { echo "make deps: apt-get install failed"; exit 1; }; \
	    if command -v service >/dev/null; then service nginx stop >/dev/null 2>&1 || true; fi; \
	  else \
	    echo "make deps: missing packages:$$missing"; \
	    echo "run as root:  apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
	@mkdir -p build && touch $@

$(foreach l,$(LUAS),build/$(l)/scravio/core.so): build/%/scravio/core.so: $(SRCS) $(HDRS) | $(DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -I$(INC_$*) -shared -o $@ $(SRCS) $(CURL_LIBS) $(LDFLAGS)

# The whole suite, under every Lua of LUAS (+ OpenResty); ends with "N passed, N failed".
test: all
	@SCRAVIO_LUAS="$${SCRAVIO_LUAS:-$(LUAS)}" sh spec/support/run_suite.sh

# STRESS_COPIES whole suites at the same time (default 2), STRESS_ROUNDS times
# (default 3): a busy machine must not make a spec fail. Ends with the summed
# "N passed, N failed" line.
test-stress: all
	@sh spec/support/stress.sh $${STRESS_COPIES:-2} $${STRESS_ROUNDS:-3}

demo: build/lua5.4/scravio/core.so
	@sh examples/run_demo.sh

# AddressSanitizer + UBSan build of the module, then the Lua 5.4 suite on it.
asan: | $(STAMP)
	@mkdir -p build/asan/scravio
	@# float-cast-overflow is not part of gcc's -fsanitize=undefined: ask for it.
	$(CC) $(CSTD) $(WARN) -O1 -g -fPIC -fno-omit-frame-pointer -fsanitize=address,undefined,float-cast-overflow \
	  -fno-sanitize-recover=all -I$(LUA54_INC) -shared -o build/asan/scravio/core.so $(SRCS) $(CURL_LIBS)
	@# The preload reaches only what run_suite starts; the OpenResty specs run the
	@# module inside nginx (not this build), so they are skipped here. Leaks are
	@# valgrind's job (`make valgrind`): detect_leaks=0.
	@SCRAVIO_CPATH=build/asan/?.so SCRAVIO_LUAS=lua5.4 SCRAVIO_SKIP_OPENRESTY=1 \
	  LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  sh spec/support/run_suite.sh

# The Lua 5.4 suite under valgrind memcheck (slow): no errors, no definite leaks.
valgrind: build/lua5.4/scravio/core.so
	@command -v valgrind >/dev/null || { [ "$$(id -u)" = 0 ] && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null 2>&1 \
	  || { apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; }; }; } \
	  || { echo "make valgrind: valgrind is missing (apt-get install valgrind)"; exit 1; }
	@SCRAVIO_LUAS=lua5.4 SCRAVIO_VALGRIND=1 SCRAVIO_SKIP_OPENRESTY=1 sh spec/support/run_suite.sh

fuzz: | $(STAMP)
	@sh fuzz/run.sh $${FUZZ_SECONDS:-20}

bench: all
	@sh bench/run.sh

lint: | $(STAMP)
	luacheck lua spec examples bench tools types bin/scravio

# The HTML API reference, from the LuaCATS annotations in types/ (rewritten
# for LDoc by tools/ldoc_source.lua): build/docs/index.html. Needs Debian's
# lua-ldoc, installed here when missing (as root).
DOC_SRCS    := $(wildcard types/*.lua) tools/luacats.lua tools/ldoc_source.lua
docs: build/docs/index.html
build/docs/index.html: $(DOC_SRCS) | $(DEPS)
	@command -v ldoc >/dev/null || { [ "$$(id -u)" = 0 ] && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lua-ldoc >/dev/null 2>&1 \
	  || { apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lua-ldoc >/dev/null; }; }; } \
	  || { echo "make docs: ldoc is missing (apt-get install lua-ldoc)"; exit 1; }
	@rm -rf build/docs && mkdir -p build/docs/src
	lua5.4 tools/ldoc_source.lua build/docs/src/scravio.lua
	ldoc -q -f plain -p scravio-lua -t "scravio-lua API reference" -d build/docs build/docs/src/scravio.lua
	@echo "make docs: build/docs/index.html"

# Builds and installs the rock offline into build/rock, then removes what
# `luarocks make` leaves in the source tree (./scravio/core.so would be found by
# another Lua's ./?.so), runs the README's scravio.testing example from another
# directory with only the installed rock on the paths, and `luarocks test` (busted).
rock: | $(STAMP)
	luarocks --lua-version=5.4 make --deps-mode=none --tree build/rock $(ROCKSPEC)
	rm -rf scravio csrc/*.o
	@d=$$(mktemp -d) && cp examples/testing/collect_spec.lua "$$d/" && cd "$$d" && \
	  eval "$$(luarocks --lua-version=5.4 --tree '$(CURDIR)/build/rock' path)" && \
	  lua5.4 /usr/bin/busted collect_spec.lua; rc=$$?; rm -rf "$$d"; \
	  [ $$rc = 0 ] && echo "make rock: the installed scravio.testing runs the README example" || exit $$rc
	luarocks --lua-version=5.4 test --tree build/rock $(ROCKSPEC)

PREFIX      ?= /usr/local
LUA_LIBDIR  ?= $(PREFIX)/lib/lua/5.4
LUA_SHARE   ?= $(PREFIX)/share/lua/5.4
install: build/lua5.4/scravio/core.so
	install -d $(DESTDIR)$(LUA_LIBDIR)/scravio $(DESTDIR)$(LUA_SHARE)/scravio
	install -m 755 build/lua5.4/scravio/core.so $(DESTDIR)$(LUA_LIBDIR)/scravio/core.so
	cd lua && for f in $$(find scravio -name '*.lua'); do \
	  install -D -m 644 $$f $(DESTDIR)$(LUA_SHARE)/$$f; done
	sed '1s|.*|#!/usr/bin/env lua5.4|' bin/scravio > scravio.bin && install -D -m 755 scravio.bin $(DESTDIR)$(PREFIX)/bin/scravio && rm -f scravio.bin
	lua5.4 bin/scravio completion bash > scravio.bash && install -D -m 644 scravio.bash \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/scravio && rm -f scravio.bash

clean:
	rm -rf $(foreach l,$(LUAS),build/$(l)) build/asan build/rock build/fuzz build/docs
	rm -rf scravio csrc/*.o   # what `luarocks make` leaves in the source tree
