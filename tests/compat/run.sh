#!/usr/bin/env bash
# Compatibility suite: the official Contentstack clients drive a fresh Headwater server.
#
#   tests/compat/run.sh [--js] [--python]        (both when no flag is given)
#
# Env: HEADWATER_BIN          server binary (default: target/debug/headwater)
#      HEADWATER_DATABASE_URL sqlite:///... or postgres://... (default: a fresh sqlite file per scenario).
#                             For postgres a fresh database hw_compat_<random> is created on that server
#                             for each scenario (psql -h 127.0.0.1 -U postgres; override with HEADWATER_PSQL).
#      HEADWATER_EMAIL / HEADWATER_PASSWORD, HEADWATER_DEV_EMAIL / HEADWATER_DEV_PASSWORD: the two users.
# Every scenario gets its own fresh database and server. Prints each scenario's steps and ends with
# one aggregated `N passed, M failed` line; exits non-zero when anything failed.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${HEADWATER_BIN:-$ROOT/target/debug/headwater}"
PSQL="${HEADWATER_PSQL:-psql -h 127.0.0.1 -U postgres}"
export HEADWATER_EMAIL="${HEADWATER_EMAIL:-owner@compat.example.com}"
export HEADWATER_PASSWORD="${HEADWATER_PASSWORD:-Compat-Owner-Passw0rd-1}"
export HEADWATER_DEV_EMAIL="${HEADWATER_DEV_EMAIL:-dev@compat.example.com}"
export HEADWATER_DEV_PASSWORD="${HEADWATER_DEV_PASSWORD:-Compat-Dev-Passw0rd-2}"
# The scenarios fire requests back to back; raise the organization's token rate limits so they
# test behaviour, not the limiter (the limiter has its own tests).
export HEADWATER_ORG_READ_RPS="${HEADWATER_ORG_READ_RPS:-1000}"
export HEADWATER_ORG_WRITE_RPS="${HEADWATER_ORG_WRITE_RPS:-1000}"

run_js=0 run_py=0
for arg in "$@"; do
  case "$arg" in
    --js) run_js=1 ;;
    --python) run_py=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (use --js and/or --python)" >&2; exit 2 ;;
  esac
done
[ $run_js = 0 ] && [ $run_py = 0 ] && run_js=1 run_py=1

[ -x "$BIN" ] || { echo "headwater binary not found at $BIN (build it or set HEADWATER_BIN)" >&2; exit 2; }

if [ $run_js = 1 ] && [ ! -d "$HERE/node_modules/@contentstack/management" ]; then
  (cd "$HERE" && npm ci --no-audit --no-fund) || { echo "npm ci failed" >&2; exit 2; }
fi
if [ $run_py = 1 ] && [ ! -x "$HERE/.venv/bin/python" ]; then
  { python3 -m venv "$HERE/.venv" && "$HERE/.venv/bin/pip" install -q -r "$HERE/requirements.txt"; } \
    || { rm -rf "$HERE/.venv"; echo "python venv setup failed" >&2; exit 2; }
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hw-compat.XXXXXX")"
SERVER_PID="" PG_DB="" KEEP_WORK=0

# --- user creation: the one place to adjust if the CLI's flags change --------------------------
# create_owner EMAIL PASSWORD -> prints the new organization's uid
create_owner() {
  "$BIN" user create --email "$1" --password "$2" --org-name "Compat Org" > "$WORK/owner.out" 2>&1 \
    || { cat "$WORK/owner.out" >&2; return 1; }
  sed -n 's/^organization_uid:[[:space:]]*//p' "$WORK/owner.out" | head -n1
}
# create_member EMAIL PASSWORD ORG_UID
create_member() {
  "$BIN" user create --email "$1" --password "$2" --org-uid "$3" > "$WORK/member.out" 2>&1 \
    || { cat "$WORK/member.out" >&2; return 1; }
}
# ------------------------------------------------------------------------------------------------

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# fresh_database NAME -> exports HEADWATER_DATABASE_URL for a brand-new, empty database
fresh_database() {
  local base_url="${HEADWATER_COMPAT_BASE_URL}"
  case "$base_url" in
    postgres://*|postgresql://*)
      PG_DB="hw_compat_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
      $PSQL -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE $PG_DB" >/dev/null || return 1
      local no_query="${base_url%%\?*}" query="" rest
      query="${base_url#"$no_query"}"
      rest="${no_query#*://}"
      [[ "$rest" == */* ]] && no_query="${no_query%/*}"
      export HEADWATER_DATABASE_URL="$no_query/$PG_DB$query" ;;
    "")
      mkdir -p "$WORK/$1"
      export HEADWATER_DATABASE_URL="sqlite://$WORK/$1/headwater.db" ;;
    *) echo "unsupported HEADWATER_DATABASE_URL: $base_url" >&2; return 1 ;;
  esac
}

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
  fi
  if [ -n "$PG_DB" ]; then
    $PSQL -q -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1
    PG_DB=""
  fi
}
cleanup() {
  stop_server
  [ $KEEP_WORK = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME -> fresh database, the two users, a server on a free port; exports HEADWATER_URL
start_server() {
  local name="$1" org port i
  fresh_database "$name" || return 1
  org="$(create_owner "$HEADWATER_EMAIL" "$HEADWATER_PASSWORD")" || { echo "creating the owner failed" >&2; return 1; }
  [ -n "$org" ] || { echo "no 'organization_uid: <uid>' line in: $(cat "$WORK/owner.out")" >&2; return 1; }
  create_member "$HEADWATER_DEV_EMAIL" "$HEADWATER_DEV_PASSWORD" "$org" || { echo "creating the dev user failed" >&2; return 1; }
  port="$(free_port)"
  # The JS scenario's webhook receiver listens on loopback, which webhooks refuse by default.
  "$BIN" serve --listen "127.0.0.1:$port" --webhook-allow-cidr 127.0.0.0/8 > "$WORK/$name-server.log" 2>&1 &
  SERVER_PID=$!
  export HEADWATER_URL="http://127.0.0.1:$port"
  for i in $(seq 1 150); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$HEADWATER_URL/healthz")" = 200 ]; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited:"; tail -n 20 "$WORK/$name-server.log"; SERVER_PID=""; return 1; } >&2
    sleep 0.2
  done
  echo "server did not answer GET /healthz with 200 within 30 s" >&2
  return 1
}

HEADWATER_COMPAT_BASE_URL="${HEADWATER_DATABASE_URL:-}"
total_pass=0 total_fail=0 broken=0

# run_scenario NAME COMMAND... -> runs one scenario against its own fresh server and tallies it
run_scenario() {
  local name="$1"; shift
  echo "== $name scenario"
  if ! start_server "$name"; then
    echo "FAIL $name: could not start a fresh server"
    total_fail=$((total_fail + 1)) broken=1 KEEP_WORK=1
    stop_server
    return
  fi
  "$@" 2>"$WORK/$name.stderr" | tee "$WORK/$name.out"
  local rc=${PIPESTATUS[0]} summary
  stop_server
  summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$WORK/$name.out" | tail -n1)"
  if [ -z "$summary" ]; then
    echo "FAIL $name: the scenario crashed (exit $rc):"; tail -n 20 "$WORK/$name.stderr"
    total_fail=$((total_fail + 1)) broken=1 KEEP_WORK=1
    return
  fi
  total_pass=$((total_pass + ${summary%% passed*}))
  total_fail=$((total_fail + $(echo "$summary" | sed -E 's/.* ([0-9]+) failed$/\1/')))
  if [ "$rc" != 0 ]; then KEEP_WORK=1; fi
}

[ $run_js = 1 ] && run_scenario js node "$HERE/js/scenario.mjs"
[ $run_js = 1 ] && run_scenario js-taxonomies node "$HERE/js/taxonomies.mjs"
[ $run_js = 1 ] && run_scenario js-taxonomy_publish node "$HERE/js/taxonomy_publish.mjs"
[ $run_js = 1 ] && run_scenario js-extensions_assets node "$HERE/js/extensions_assets.mjs"
[ $run_js = 1 ] && run_scenario js-import_merge node "$HERE/js/import_merge.mjs"
[ $run_js = 1 ] && run_scenario js-bulk_jobs node "$HERE/js/bulk_jobs.mjs"
[ $run_js = 1 ] && run_scenario js-publish_nested node "$HERE/js/publish_nested.mjs"
[ $run_js = 1 ] && run_scenario js-organizations env HEADWATER_SERVER_LOG="$WORK/js-organizations-server.log" node "$HERE/js/organizations.mjs"
[ $run_py = 1 ] && run_scenario python "$HERE/.venv/bin/python" "$HERE/python/scenario.py"

[ $KEEP_WORK = 1 ] && echo "server logs and scenario output kept in $WORK"
echo "$total_pass passed, $total_fail failed"
if [ "$total_fail" = 0 ] && [ $broken = 0 ]; then exit 0; else exit 1; fi
