#!/bin/sh
# make test-stress: COPIES whole suites (spec/support/run_suite.sh) at the same
# time, ROUNDS times in a row, each copy with its own log directory
# (build/stress/r<round>-c<copy>/). A spec that depends on how fast real time
# passes fails here first. Ends with the summed "N passed, N failed" line.
#
#   sh spec/support/stress.sh [COPIES=2] [ROUNDS=3]     (env as for run_suite.sh)
set -u
cd "$(dirname "$0")/../.." || exit 2
COPIES=${1:-2}
ROUNDS=${2:-3}
OUT=build/stress
rm -rf "$OUT"
mkdir -p "$OUT"
passed=0
failed=0
round=1
while [ "$round" -le "$ROUNDS" ]; do
  echo "== round $round of $ROUNDS: $COPIES suites at once ($(date -u +%H:%M:%S))"
  pids=""
  copy=1
  while [ "$copy" -le "$COPIES" ]; do
    run="$OUT/r$round-c$copy"
    SCRAVIO_LOG_DIR="$run" sh spec/support/run_suite.sh > "$run.log" 2>&1 &
    pids="$pids $!"
    copy=$((copy + 1))
  done
  for pid in $pids; do wait "$pid"; done
  copy=1
  while [ "$copy" -le "$COPIES" ]; do
    run="$OUT/r$round-c$copy"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$run.log" | tail -1)
    if [ -z "$line" ]; then
      echo "   copy $copy: no summary line (see $run.log)"
      failed=$((failed + 1))
    else
      echo "   copy $copy: $line"
      for tap in "$run"/*.tap; do
        grep -E '^not ok' "$tap" | sed "s|^|     $(basename "$tap" .tap): |"
      done
      passed=$((passed + ${line%% passed*}))
      f=${line#*passed, }
      failed=$((failed + ${f%% failed*}))
    fi
    copy=$((copy + 1))
  done
  round=$((round + 1))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
