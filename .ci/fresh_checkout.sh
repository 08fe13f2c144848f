#!/bin/sh
# A checkout anywhere, run by anyone: copies this checkout (its tracked and
# untracked, not ignored files, i.e. what a clone would hold plus local edits)
# into a new directory under a mode-0700 parent (like /root or mktemp -d), then
# runs `make demo` and one nginx-backed spec there. As root this catches an
# nginx whose workers run as `nobody` and cannot read the checkout.
#
#   sh .ci/fresh_checkout.sh          (.ci/run runs it; about a minute)
set -eu
cd "$(dirname "$0")/.."
PARENT=$(mktemp -d "${TMPDIR:-/tmp}/scravio-fresh.XXXXXX")
trap 'rm -rf "$PARENT"' EXIT
chmod 700 "$PARENT"
DEST="$PARENT/project"
mkdir "$DEST"
git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - | tar -xf - -C "$DEST"
echo "== fresh checkout in $DEST (parent mode $(stat -c %a "$PARENT"), user $(id -un))"
cd "$DEST"
make demo
echo "== an nginx-backed spec from there"
LUA_PATH="./lua/?.lua;./lua/?/init.lua;./?.lua;./?/init.lua;;" LUA_CPATH="./build/lua5.4/?.so;;" \
  lua5.4 /usr/bin/busted spec/examples_spec.lua spec/testing_spec.lua
