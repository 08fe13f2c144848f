#!/bin/sh
# Instructions per call of the OpenResty bench handlers inside one nginx worker:
# nginx (bench/openresty/nginx.conf.tmpl, but master_process off) runs under
# callgrind; each handler runs N1 and then N2 times in one request (loop.lua),
# after a warm-up of WARM calls (JIT traces, pooled connections); the counts are
# zeroed before and dumped after each, and (dump2 - dump1) / (N2 - N1) is
# printed, so start-up, the warm-up and the request around the loop cancel out.
#
#   BENCH_SERVE=1 sh bench/run.sh &        # the bench's static API (prints its URL)
#   sh bench/openresty/callgrind.sh http://127.0.0.1:PORT/api /sdk/get /peer/get
#
# Environment: RESTY_HTTP_PATH (lua-resty-http's lib and shims as a Lua path;
# default the peers' build under /tmp/scravio-peers), N1 (500), N2 (2500),
# WARM (3000), KEEP=1 keeps the callgrind files (callgrind_annotate them).
# For the page rows (20 requests per call) use N1=20 N2=120 WARM=50.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
API=${1:?usage: callgrind.sh API_URL handler...}
shift
N1=${N1:-500}
N2=${N2:-2500}
WARM=${WARM:-3000}
PEERS=${BENCH_TMPDIR:-/tmp}/scravio-peers/lua-resty-http
RESTY_HTTP_PATH=${RESTY_HTTP_PATH:-$PEERS/lib/?.lua;$PEERS/shims/?.lua}
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed" >&2; exit 1; }

TMP=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/scravio-cg.XXXXXX")
VG=""
cleanup() {
  [ -n "$VG" ] && kill "$VG" 2>/dev/null && wait "$VG" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "callgrind files: $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT INT TERM
mkdir -p "$TMP/logs" "$TMP/tmp/body" "$TMP/tmp/proxy" "$TMP/tmp/fastcgi" "$TMP/tmp/uwsgi" "$TMP/tmp/scgi" "$TMP/lua"
cat >"$TMP/lua/openresty_bench_config.lua" <<LUA
return { api = "$API", api_key = "sk_live_0123456789abcdefghijklmnopqrstuv", campaign_id = "665f1c2e8b3a4d0012ab34cd",
  per_page = ${BENCH_OR_PER_PAGE:-100}, pages = ${BENCH_OR_PAGES:-20} }
LUA
# The bench's own nginx.conf, with one process and a /loop location, on a
# free port (another one when the port was taken: nginx exits, so does valgrind).
tries=0
while :; do
  tries=$((tries + 1))
  [ $tries -le 10 ] || { cat "$TMP/logs/valgrind.log" >&2; echo "callgrind.sh: nginx did not start" >&2; exit 1; }
  PORT=$(( ( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 ) + 20000 ))
  sed -e 's/^daemon on;/daemon off;/' -e 's/^master_process on;/master_process off;/' \
      -e 's#location = /__ready { return 204; }#&\n        location = /loop { content_by_lua_block { require("openresty.loop").run() } }#' \
      -e "s#\${USER_LINE}##; s#\${PREFIX}#$TMP#g; s#\${MODULES}#${SCRAVIO_NGINX_MODULES:-/usr/share/nginx/modules}#g" \
      -e "s#\${ROOT}#$ROOT#g; s#\${PORT}#$PORT#g; s#\${RESTY_HTTP_PATH}#$RESTY_HTTP_PATH#g" \
      "$ROOT/bench/openresty/nginx.conf.tmpl" >"$TMP/nginx.conf"
  valgrind --tool=callgrind --smc-check=all-non-file --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$TMP/cg.%p" nginx -p "$TMP" -c "$TMP/nginx.conf" >"$TMP/logs/valgrind.log" 2>&1 &
  VG=$!
  while kill -0 "$VG" 2>/dev/null && ! curl -fs -o /dev/null "http://127.0.0.1:$PORT/__ready"; do sleep 0.5; done
  kill -0 "$VG" 2>/dev/null && break
  wait "$VG" 2>/dev/null || true
  VG=""
  rm -f "$TMP"/cg.*
done
# the newest dump: cg.<pid>.<n>, the highest n
summary() { sed -n 's/^summary: //p' "$TMP/$(ls "$TMP" | grep '^cg\.[0-9]*\.[0-9]*$' | sort -t. -k3 -n | tail -1)"; }
for h in "$@"; do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/loop?h=$h&n=$WARM"
  counts=""
  for n in "$N1" "$N2"; do
    callgrind_control -z "$VG" >/dev/null 2>&1
    curl -fsS -o /dev/null "http://127.0.0.1:$PORT/loop?h=$h&n=$n"
    callgrind_control -d "$VG" >/dev/null 2>&1
    counts="$counts $(summary)"
  done
  echo "$counts" | awk -v h="$h" -v d=$((N2 - N1)) '{ printf "%-12s %8.1fk instructions per call\n", h, ($2 - $1) / d / 1000 }'
done
