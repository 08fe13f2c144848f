#!/bin/sh
# make demo: the whole Scravio flow (examples/quickstart.lua) against the
# bundled fake server, so a new user sees it work without an account.
#
#   starts the fake server (spec/support/fake_server_cli.lua) on free loopback
#   ports, gives it a short campaign lifecycle, runs the quickstart with
#   SCRAVIO_API_KEY / SCRAVIO_BASE_URL pointing at it, lists the campaigns with
#   the scravio command, and stops the server in every case (trap), exiting
#   with the first failing step's status.
#
# Env: DEMO_LUA (default lua5.4), DEMO_CAMPAIGN_SECONDS (default 4).
set -u
cd "$(dirname "$0")/.." || exit 2

LUA=${DEMO_LUA:-lua5.4}
SECONDS_PER_CAMPAIGN=${DEMO_CAMPAIGN_SECONDS:-4}
OUT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/scravio-demo.XXXXXX") || exit 2
SCRAVIO_FAKE_RUNDIR=""

cleanup() {
  if [ -n "$SCRAVIO_FAKE_RUNDIR" ]; then
    "$LUA" spec/support/fake_server_cli.lua stop "$SCRAVIO_FAKE_RUNDIR" >/dev/null 2>&1
    SCRAVIO_FAKE_RUNDIR=""
  fi
  rm -rf "$OUT_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

echo "== starting the fake Scravio server"
env_lines=$("$LUA" spec/support/fake_server_cli.lua start --campaign-seconds "$SECONDS_PER_CAMPAIGN") || {
  echo "demo: the fake server did not start" >&2
  exit 1
}
eval "$env_lines"
echo "   $SCRAVIO_BASE_URL (storage $SCRAVIO_FAKE_STORAGE_URL)"

# Short export and validation lifecycles too (seconds on the fake clock).
curl -sS --noproxy '*' --max-time 10 -X POST -H 'Content-Type: application/json' \
  --data '{"export_seconds":1,"job_seconds":2}' "$SCRAVIO_FAKE_CONTROL_URL/configure" >/dev/null || {
  echo "demo: could not configure the fake server" >&2
  exit 1
}

echo "== $LUA examples/quickstart.lua"
SCRAVIO_API_KEY=$SCRAVIO_API_KEY SCRAVIO_BASE_URL=$SCRAVIO_BASE_URL SCRAVIO_OUT_DIR=$OUT_DIR \
  "$LUA" examples/quickstart.lua
status=$?
if [ "$status" -eq 0 ]; then
  # The same SDK from a shell: the scravio command (README "Command line").
  echo "== $LUA bin/scravio campaigns list --format table --fields _id,title,status,targetEmails"
  SCRAVIO_API_KEY=$SCRAVIO_API_KEY SCRAVIO_BASE_URL=$SCRAVIO_BASE_URL \
    "$LUA" bin/scravio campaigns list --format table --fields _id,title,status,targetEmails
  status=$?
fi
if [ "$status" -eq 0 ]; then
  echo "== demo finished: the whole flow worked"
else
  echo "== demo failed (exit $status)" >&2
fi
exit "$status"
