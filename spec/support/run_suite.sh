#!/bin/sh
# Runs the busted suite under each Lua (default: Lua 5.4, LuaJIT, Lua 5.1, 5.2, 5.3), then the
# OpenResty integration specs once, and ends with the line CI reads:
#   N passed, N failed
# Skipped (pending) tests are counted apart, on their own line just before it
# ("N skipped"): a skip is neither a pass nor a failure. The default run has none.
# Env: SCRAVIO_LUAS ("lua5.4 luajit lua5.1 lua5.2 lua5.3"), SCRAVIO_CPATH (module build override),
#      SCRAVIO_LOG_DIR (default build/test-logs; make test-stress gives each copy its own),
#      SCRAVIO_VALGRIND=1 (run under valgrind memcheck), SCRAVIO_SPECS (spec paths).
set -u
cd "$(dirname "$0")/../.." || exit 2
LUAS=${SCRAVIO_LUAS:-"lua5.4 luajit lua5.1 lua5.2 lua5.3"}
SPECS=${SCRAVIO_SPECS:-spec}
LOGDIR=${SCRAVIO_LOG_DIR:-build/test-logs}
mkdir -p "$LOGDIR"
passed=0
failed=0
skipped=0
status=0

run_busted() { # lua, cpath, label, paths...
  lua=$1; cpath=$2; label=$3; shift 3
  log="$LOGDIR/$label.tap"
  echo "== $label: $lua /usr/bin/busted $*"
  wrap=""
  if [ "${SCRAVIO_VALGRIND:-0}" = 1 ]; then
    wrap="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --track-origins=no --suppressions=spec/support/valgrind.supp"
  fi
  LUA_PATH="./lua/?.lua;./lua/?/init.lua;./?.lua;./?/init.lua;;" LUA_CPATH="$cpath;;" \
    SCRAVIO_TEST_LUA="$label" \
    $wrap "$lua" /usr/bin/busted --output=TAP --exclude-pattern='^$' "$@" > "$log" 2>&1
  rc=$?
  # Show failures (and the plan line) as they are, keep the log for the rest.
  grep -E '^(not ok|1\.\.|#)' "$log" | grep -v '^# ' | head -200
  sed -n '/^not ok/,/^ok /p' "$log" | grep -E '^ ' | head -120
  # busted's TAP marks a pending test "ok N - # SKIP ...": not a pass.
  s=$(grep -c '^ok [0-9]* - # SKIP' "$log")
  p=$(($(grep -c '^ok ' "$log") - s))
  f=$(grep -c '^not ok ' "$log")
  grep '^ok [0-9]* - # SKIP' "$log" | sed 's/^/   skipped: /'
  echo "   $label: $p passed, $f failed, $s skipped (exit $rc, log $log)"
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
  if [ "$rc" -ne 0 ] || [ "$p" -eq 0 ]; then status=1; fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    # busted (or valgrind) failed without a failing test: count it as one.
    tail -20 "$log"
    failed=$((failed + 1))
  fi
}

# Specs of the test double itself (not of the SDK) run under the first Lua only:
# repeating them under every client Lua would only inflate the count.
ONCE="fake_server_spec.lua"
first=1
for lua in $LUAS; do
  case "$lua" in
    luajit) build=build/luajit ;;
    *) build=build/$lua ;;
  esac
  cpath=${SCRAVIO_CPATH:-"./$build/?.so"}
  # shellcheck disable=SC2086
  specs=$(ls -d $SPECS/*_spec.lua 2>/dev/null)
  if [ "$first" -eq 0 ]; then
    for once in $ONCE; do specs=$(printf '%s\n' $specs | grep -v "/$once\$"); done
  fi
  first=0
  # shellcheck disable=SC2086
  run_busted "$lua" "$cpath" "$lua" $specs
done

if [ -z "${SCRAVIO_SPECS:-}" ] && [ -d spec/openresty ] && [ "${SCRAVIO_SKIP_OPENRESTY:-0}" != 1 ]; then
  run_busted lua5.4 "./build/lua5.4/?.so" openresty $(ls -d spec/openresty/*_spec.lua)
fi

[ "$failed" -gt 0 ] && status=1
echo "$skipped skipped"
echo "$passed passed, $failed failed"
exit $status
