#!/bin/sh
# bench/run.sh - the performance report (`make bench`).
#
# Starts its own nginx on 127.0.0.1 (a temporary prefix, a free port, one
# worker, no access log) serving API-shaped static JSON, builds the peers
# (a C libcurl loop; Lua-cURLv3 when installed), then runs bench/bench.lua,
# which measures the SDK against those peers in the same run and prints a
# table with PASS/MISS per target from DESIGN.md "Performance targets" (the project's design notes).
#
# Exits 0 whatever the results (a MISS is a finding, not a failure); non-zero
# only when something could not be set up or a benchmark errored. nginx is
# stopped and every temporary file removed on any exit.
#
# Sizes (environment):
#   BENCH_REQUESTS=2000   timed GETs per round and peer (1. request overhead)
#   BENCH_ROUNDS=11       rounds, peers interleaved; best and median reported
#   BENCH_SOCKET_REQUESTS=1000  BENCH_CURL_REQUESTS=200   slower peers
#   BENCH_PER_PAGE=1000 BENCH_PAGES=1000   2. pagination: 1,000,000 leads
#   BENCH_PAGINATION_ROUNDS=2
#   BENCH_DOWNLOAD_MB=1024 BENCH_DOWNLOAD_ROUNDS=3        3. download
#   BENCH_DOWNLOAD_DIR    where downloads are written (default: the temp dir)
#   BENCH_ONLY="requests pagination download"            sections to run
#   BENCH_PROFILE=1       also perf-profile the SDK loops (top functions)
#   BENCH_SERVE=1         only start the server and wait (for profiling by hand)
#   BENCH_TMPDIR=/tmp     where the temporary prefix (and the 1 GiB files) go
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LUA=${BENCH_LUA:-lua5.4}
LUA_INC=${BENCH_LUA_INC:-/usr/include/lua5.4}
PER_PAGE=${BENCH_PER_PAGE:-1000}
PAGES=${BENCH_PAGES:-1000}
OR_PER_PAGE=${BENCH_OR_PER_PAGE:-100}
OR_PAGES=${BENCH_OR_PAGES:-20}
DL_MB=${BENCH_DOWNLOAD_MB:-1024}

die() { echo "bench: $*" >&2; exit 1; }

for tool in nginx curl gcc "$LUA"; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (make deps installs it)"
done
NGINX=$(command -v nginx)
[ -f "$ROOT/build/lua5.4/scravio/core.so" ] || die "build/lua5.4/scravio/core.so missing: run make all"

TMP=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/scravio-bench.XXXXXX")
cleanup() {
  status=$?
  trap - EXIT INT TERM
  if [ -f "$TMP/nginx.pid" ]; then
    pid=$(cat "$TMP/nginx.pid" 2>/dev/null || true)
    if [ -n "$pid" ]; then
      kill -QUIT "$pid" 2>/dev/null || true
      i=0
      while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$TMP"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A root master would run its workers as nobody, who cannot read a temporary
# directory under a mode-0700 parent: they run as the invoking user instead.
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user $(id -un) $(id -gn);"
mkdir -p "$TMP/www/files" "$TMP/lib" "$TMP/out" "$TMP/logs"

# ---- peers: the C loops, Lua-cURLv3 and lua-resty-http ---------------------------
# The third-party peers live in shared/peers beside the repository (never in
# it): found from the repository's location whatever the checkout (a clone,
# or a git worktree whose main checkout has shared/ beside it), or from
# SCRAVIO_PEERS_DIR. Their build.sh builds them outside the repository
# (SCRAVIO_PEERS_BUILD, default $BENCH_TMPDIR/scravio-peers). When the sources
# are there, the peers are always measured; LCURL_CPATH / RESTY_HTTP_PATH
# point at builds made elsewhere instead.
gcc -O2 -o "$TMP/c_loop" "$ROOT/bench/c_loop.c" -lcurl || die "cannot build bench/c_loop.c (libcurl4-openssl-dev?)"
gcc -O2 -o "$TMP/c_download" "$ROOT/bench/c_download.c" -lcurl || die "cannot build bench/c_download.c"
find_peers() {
  [ -n "${SCRAVIO_PEERS_DIR:-}" ] && { echo "$SCRAVIO_PEERS_DIR"; return; }
  common=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
  for d in "$ROOT/../shared/peers" "${common:+$(dirname "$common")/../shared/peers}" "$ROOT/../../shared/peers"; do
    [ -n "$d" ] && [ -x "$d/build.sh" ] && { (cd "$d" && pwd); return; }
  done
}
PEERS_SRC=$(find_peers)
if [ -n "$PEERS_SRC" ] && [ -z "${LCURL_CPATH:-}${RESTY_HTTP_PATH:-}" ]; then
  PEERS_OUT=${SCRAVIO_PEERS_BUILD:-${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/scravio-peers}
  case "$PEERS_OUT" in "$ROOT"/*) die "SCRAVIO_PEERS_BUILD must be outside the repository" ;; esac
  if [ ! -f "$PEERS_OUT/lua-curl/lib/lcurl.so" ] || [ "$PEERS_SRC/build.sh" -nt "$PEERS_OUT/lua-curl/lib/lcurl.so" ]; then
    bash "$PEERS_SRC/build.sh" "$PEERS_OUT" >"$TMP/peers-build.log" 2>&1 || { cat "$TMP/peers-build.log" >&2; die "$PEERS_SRC/build.sh failed"; }
  fi
  LCURL_CPATH="$PEERS_OUT/lua-curl/lib/?.so"
  RESTY_HTTP_PATH="$PEERS_OUT/lua-resty-http/lib/?.lua;$PEERS_OUT/lua-resty-http/shims/?.lua"
fi
LCURL_USER=${LCURL_CPATH:-}
LCURL_CPATH=""
if "$LUA" -e 'require "lcurl"' 2>/dev/null; then
  LCURL_CPATH=system
  LCURL_DESC="Lua-cURLv3 (installed)"
elif [ -n "$LCURL_USER" ]; then
  LCURL_CPATH="$LCURL_USER"
  LCURL_DESC="Lua-cURLv3 ($LCURL_CPATH)"
else
  LCURL_DESC="Lua-cURLv3 (not installed, no shared/peers found: skipped)"
fi
RESTY_HTTP_PATH=${RESTY_HTTP_PATH:-}
# wrk drives the OpenResty rows; installed here when missing (as root).
if ! command -v wrk >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null 2>&1 || true
fi

# ---- the data nginx serves ------------------------------------------------------
PORT=""
start_nginx() {
  port=$1
  cat >"$TMP/nginx.conf" <<EOF
$USER_LINE
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/logs/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path $TMP/logs/body;
  proxy_temp_path $TMP/logs/proxy;
  fastcgi_temp_path $TMP/logs/fastcgi;
  uwsgi_temp_path $TMP/logs/uwsgi;
  scgi_temp_path $TMP/logs/scgi;
  types { }
  default_type application/json;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 300s;
  keepalive_requests 100000000;
  etag off;
  # perPage=$OR_PER_PAGE pages (the OpenResty rows) have their own template
  map \$arg_perPage \$leads_tpl { $OR_PER_PAGE /leads$OR_PER_PAGE.tpl.json; default /leads.tpl.json; }
  server {
    listen 127.0.0.1:$port;
    root $TMP/www;
    # GET /api/campaigns/{id}: one static Campaign (~3 KB)
    location ~ ^/api/campaigns/[^/]+\$ { try_files /campaign.json =404; }
    # GET /api/campaigns/{id}/leads?page=N&perPage=$PER_PAGE: the SSI template
    # echoes the page number into pagination.currentPage around the shared items
    location ~ ^/api/campaigns/[^/]+/leads\$ {
      if (\$arg_page !~ "^[0-9]*\$") { return 400; }
      ssi on;
      ssi_types application/json;
      try_files \$leads_tpl =404;
    }
    location /_internal/ { internal; alias $TMP/www/; }
    location ~ ^/api/list-exports/[^/]+/download\$ { try_files /export-url.json =404; }
    location /files/ { }
  }
}
EOF
  "$NGINX" -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/logs/error.log" 2>>"$TMP/logs/start.log"
}

tries=0
while [ -z "$PORT" ]; do
  tries=$((tries + 1))
  [ $tries -le 20 ] || { cat "$TMP/logs/start.log" >&2; die "could not start nginx on a free port"; }
  # a pseudo-random port in 20000..59999 (no $RANDOM in POSIX sh)
  try=$(( ( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ) + 20000 ))
  BASE="http://127.0.0.1:$try"
  "$LUA" "$ROOT/bench/gen.lua" "$TMP/www" "$PER_PAGE" "$PAGES" "$BASE" "$OR_PER_PAGE" "$OR_PAGES" >"$TMP/gen.out" || die "bench/gen.lua failed"
  if start_nginx "$try"; then PORT=$try; fi
done

# the download: a sparse file (no disk blocks; reads are page-cache zeros)
truncate -s "${DL_MB}M" "$TMP/www/files/export.bin" || dd if=/dev/zero of="$TMP/www/files/export.bin" bs=1M count=0 seek="$DL_MB" 2>/dev/null
chmod -R a+rX "$TMP/www"

# The server answers?
curl -fsS -o /dev/null "$BASE/api/campaigns/665f1c2e8b3a4d0012ab34cd" || die "nginx does not serve the campaign"
page=$(curl -fsS "$BASE/api/campaigns/x/leads?page=7&perPage=$PER_PAGE") || die "nginx does not serve lead pages"
case "$page" in
  *'"currentPage":7,'*'"items":[{"_id":"pg7'*'}]}') ;;
  *) die "lead pages are not what the SSI template should make: $(echo "$page" | head -c 300)" ;;
esac

if [ "${BENCH_SERVE:-0}" = 1 ]; then
  # Keep the server up for profiling by hand; Ctrl-C (or TERM) stops and cleans up.
  echo "bench: serving $BASE/api (campaign id 665f1c2e8b3a4d0012ab34cd); lcurl: ${LCURL_CPATH:-none}; Ctrl-C stops"
  while :; do sleep 1; done
fi

# ---- the benchmarks -------------------------------------------------------------
cd "$ROOT"
cpath="$ROOT/build/lua5.4/?.so"
case "$LCURL_CPATH" in "" | system) ;; *) cpath="$cpath;$LCURL_CPATH" ;; esac
BENCH_BASE="$BASE" BENCH_TMP="$TMP" BENCH_C_LOOP="$TMP/c_loop" BENCH_C_DOWNLOAD="$TMP/c_download" \
BENCH_RESTY_HTTP_PATH="$RESTY_HTTP_PATH" BENCH_PEERS_SRC="${PEERS_SRC:-}" BENCH_OR_PER_PAGE="$OR_PER_PAGE" BENCH_OR_PAGES="$OR_PAGES" BENCH_LUA="$LUA" \
BENCH_HAVE_LCURL=$([ -n "$LCURL_CPATH" ] && echo 1 || echo 0) BENCH_LCURL_DESC="$LCURL_DESC" BENCH_GEN="$(cat "$TMP/gen.out")" \
BENCH_PER_PAGE="$PER_PAGE" BENCH_PAGES="$PAGES" BENCH_NGINX="$("$NGINX" -v 2>&1)" \
LUA_PATH="$ROOT/bench/?.lua;$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;" \
LUA_CPATH="$cpath;;" \
  "$LUA" "$ROOT/bench/bench.lua"
