#!/bin/sh
# Builds every libFuzzer target in fuzz/ (clang, -fsanitize=fuzzer,address,undefined)
# and runs each for a bounded time. Usage: fuzz/run.sh [SECONDS per target] [target...]
#   fuzz_url     query encoder, path segments, header-value check, URL authority
#   fuzz_errors  response classification (scv_classify), Retry-After parsing
#   fuzz_json    the JSON codec (when fuzz/fuzz_json.c is present)
# Seeds come from fuzz/corpus/<name>/ (never written to); the working corpus and
# any crash artifacts go to build/fuzz/. Exits non-zero when a target fails.
set -u
cd "$(dirname "$0")/.." || exit 2
SECONDS_EACH=${1:-20}
[ $# -gt 0 ] && shift
OUT=build/fuzz
CC_FUZZ=${FUZZ_CC:-clang}
LUA_INC=${LUA54_INC:-/usr/include/lua5.4}
FLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$LUA_INC"
mkdir -p "$OUT"

# clang and its fuzzer runtime (libclang-rt-*-dev on Debian) are needed.
have_fuzzer() {
  printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}\n' > "$OUT/probe.c"
  $CC_FUZZ -fsanitize=fuzzer -o "$OUT/probe" "$OUT/probe.c" >/dev/null 2>&1
}
if ! command -v "$CC_FUZZ" >/dev/null 2>&1 || ! have_fuzzer; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "fuzz: installing clang and the libFuzzer runtime"
    (apt-get update -qq || true) >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null 2>&1 \
      || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >/dev/null 2>&1
  fi
  if ! command -v "$CC_FUZZ" >/dev/null 2>&1 || ! have_fuzzer; then
    echo "fuzz: clang with -fsanitize=fuzzer is not available (apt-get install clang libclang-rt-14-dev)"
    exit 1
  fi
fi

sources_for() {
  case "$1" in
    fuzz_url) echo "fuzz/fuzz_url.c csrc/url.c csrc/json.c csrc/buf.c -llua5.4 -lm" ;;
    fuzz_errors) echo "fuzz/fuzz_errors.c csrc/errors.c csrc/client.c csrc/transport.c csrc/interrupt.c csrc/terminal.c csrc/lazydoc.c csrc/lazypage.c csrc/mask.c csrc/files.c csrc/json.c csrc/url.c csrc/buf.c -llua5.4 -lcurl -lm" ;;
    fuzz_json) echo "fuzz/fuzz_json.c csrc/json.c -llua5.4 -lm" ;;
  esac
}

TARGETS=${*:-"fuzz_url fuzz_errors fuzz_json"}
status=0
ran=0
for t in $TARGETS; do
  [ -f "fuzz/$t.c" ] || { echo "fuzz: $t: fuzz/$t.c not present, skipped"; continue; }
  name=${t#fuzz_}
  echo "== fuzz $t: build"
  # shellcheck disable=SC2046
  if ! $CC_FUZZ $FLAGS -o "$OUT/$t" $(sources_for "$t"); then
    echo "fuzz: $t: build failed"
    status=1
    continue
  fi
  corpus="$OUT/corpus-$name"
  mkdir -p "$corpus" "$OUT/artifacts"
  [ -d "fuzz/corpus/$name" ] && cp -n fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
  echo "== fuzz $t: ${SECONDS_EACH}s"
  log="$OUT/$t.log"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$OUT/$t" -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t-" "$corpus" > "$log" 2>&1
  rc=$?
  ran=$((ran + 1))
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  if [ "$rc" -ne 0 ]; then
    echo "fuzz: $t FAILED (exit $rc); log $log"
    grep -E 'ERROR|runtime error|SUMMARY|fuzz_[a-z]+:' "$log" | head -20
    ls "$OUT"/artifacts/"$t"-* 2>/dev/null | head -5
    status=1
  else
    echo "   $t: ok, ${runs:-?} inputs, corpus $(ls "$corpus" | wc -l) files"
  fi
done
[ "$ran" -gt 0 ] || { echo "fuzz: no target ran"; status=1; }
exit $status
