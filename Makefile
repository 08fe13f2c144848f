# scravio-lua: build, test, demo, sanitizers, fuzzing, benchmarks, install.
#
#   make test    install what is missing, build for Lua 5.4, LuaJIT and Lua 5.1, run every spec
#   make demo    the whole campaign flow against the bundled fake server
#
# Builds for different Luas live side by side: build/lua5.4/, build/luajit/, build/lua5.1/.

VERSION     := 0.1.0
CC          ?= gcc
WARN        := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes
CSTD        := -std=c99 -D_POSIX_C_SOURCE=200809L
OPT         ?= -O2 -g
CFLAGS_ALL  := $(CSTD) $(WARN) $(OPT) -fPIC -fvisibility=hidden $(CFLAGS)
CURL_LIBS   := -lcurl

SRCS        := $(wildcard csrc/*.c)
HDRS        := $(wildcard csrc/*.h)
LUA_FILES   := $(shell find lua -name '*.lua' 2>/dev/null)

LUA54_INC   := /usr/include/lua5.4
LUAJIT_INC  := /usr/include/luajit-2.1
LUA51_INC   := /usr/include/lua5.1

# Debian packages everything needs (tests, demo, OpenResty specs, rock build).
DEB_PKGS    := lua5.4 liblua5.4-dev libcurl4-openssl-dev lua-cjson lua-busted \
               luajit2 libluajit2-5.1-dev nginx-light libnginx-mod-http-lua \
               lua-check luarocks openssl curl lua-socket lua5.1 liblua5.1-0-dev \
               unzip iso-codes lua-argparse
STAMP       := build/.deps-ok
# NO_DEPS=1 builds the C core without `make deps` (only gcc, Lua headers and
# libcurl's are needed), e.g. against OpenResty's LuaJIT headers.
DEPS        := $(if $(NO_DEPS),,$(STAMP))

.PHONY: all deps test test-fast demo asan valgrind fuzz bench lint install rock clean

all: build/lua5.4/scravio/core.so build/luajit/scravio/core.so build/lua5.1/scravio/core.so

# Installs missing Debian packages when run as root; otherwise prints the command.
deps: $(STAMP)
$(STAMP):
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

build/lua5.4/scravio/core.so: $(SRCS) $(HDRS) | $(DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -I$(LUA54_INC) -shared -o $@ $(SRCS) $(CURL_LIBS) $(LDFLAGS)

build/luajit/scravio/core.so: $(SRCS) $(HDRS) | $(DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -I$(LUAJIT_INC) -shared -o $@ $(SRCS) $(CURL_LIBS) $(LDFLAGS)

build/lua5.1/scravio/core.so: $(SRCS) $(HDRS) | $(DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -I$(LUA51_INC) -shared -o $@ $(SRCS) $(CURL_LIBS) $(LDFLAGS)

# The whole suite, under Lua 5.4, LuaJIT and Lua 5.1 (+ OpenResty); ends with "N passed, N failed".
test: all
	@sh spec/support/run_suite.sh

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
	luacheck lua spec examples bench bin/scravio

rock:
	luarocks --lua-version=5.4 make --deps-mode=none --tree build/rock scravio-$(VERSION)-1.rockspec

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
	rm -rf build/lua5.4 build/luajit build/lua5.1 build/asan build/rock build/fuzz
	rm -rf scravio csrc/*.o   # what `luarocks make` leaves in the source tree
