#!/bin/sh
# Runs the OpenResty example against the bundled fake Scravio server:
#   sh examples/openresty/run.sh
# Builds the module (LuaJIT for nginx, Lua 5.4 for this driver), starts the
# fake server and an nginx with examples/openresty/nginx.conf on free loopback
# ports, calls the endpoints with curl, prints the answers and stops both.
# Needs: nginx-light + libnginx-mod-http-lua, lua5.4, lua-cjson, curl, openssl
# (`make deps` installs them).
set -eu
cd "$(dirname "$0")/../.."
make -s all >/dev/null
LUA_PATH="./lua/?.lua;./lua/?/init.lua;./?.lua;./?/init.lua;;" \
LUA_CPATH="./build/lua5.4/?.so;;" \
  exec lua5.4 examples/openresty/run.lua
