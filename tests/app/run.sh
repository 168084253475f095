#!/usr/bin/env bash
# Browser tests of the web app: Debian's Chromium, driven by puppeteer-core (pinned in
# package.json), against a fresh `headwater serve` on 127.0.0.1 — on SQLite, and on PostgreSQL
# when HEADWATER_TEST_POSTGRES_URL names a server (a fresh database hw_app_<random> is created
# on it and dropped afterwards). Two files run against each server: run.mjs (the app with
# password sign-in) and sso.mjs (single sign-on through a real OpenID provider, tests/sso/idp,
# node-oidc-provider pinned in its package.json, started by sso.mjs on 127.0.0.1).
#
#   tests/app/run.sh
#
# Env: HEADWATER_BIN   server binary (default: target/debug/headwater)
#      CHROMIUM        browser executable (default: /usr/bin/chromium; installed with apt-get when
#                      missing and running as root)
#      HEADWATER_APP_ONLY_SSO=1   run sso.mjs only (not run.mjs)
# The server runs with HEADWATER_WEBHOOK_ALLOW_CIDR=127.0.0.1/32 so a webhook may call the
# test's own receiver on 127.0.0.1 (loopback targets are refused otherwise), and with
# HEADWATER_SSO_ALLOW_CIDR=127.0.0.1/32 so single sign-on may reach the test's OpenID provider.
# Screenshots of every step are written to tests/app/artefacts/<backend>/ (not committed).
# Prints each step as PASS/FAIL and ends with one `N passed, M failed` line.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${HEADWATER_BIN:-$ROOT/target/debug/headwater}"
PSQL="${HEADWATER_PSQL:-psql -h 127.0.0.1 -U postgres}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

[ -x "$BIN" ] || { echo "headwater binary not found at $BIN (cargo build --bin headwater)" >&2; exit 2; }
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing Debian's chromium for the browser tests"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
      || { echo "apt-get install chromium failed" >&2; exit 2; }
  else
    echo "no browser at $CHROMIUM: install Debian's chromium (apt-get install chromium) or set CHROMIUM" >&2
    exit 2
  fi
fi
if [ ! -d "$HERE/node_modules/puppeteer-core" ]; then
  (cd "$HERE" && npm ci --no-audit --no-fund --ignore-scripts) || { echo "npm ci failed" >&2; exit 2; }
fi
IDP="$ROOT/tests/sso/idp"
if [ ! -d "$IDP/node_modules/oidc-provider" ]; then
  (cd "$IDP" && npm ci --no-audit --no-fund --ignore-scripts) || { echo "npm ci (tests/sso/idp) failed" >&2; exit 2; }
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hw-app.XXXXXX")"
SERVER_PID="" PG_DB="" KEEP_WORK=0
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""; fi
  if [ -n "$PG_DB" ]; then $PSQL -q -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1; PG_DB=""; fi
}
cleanup() { stop_server; [ $KEEP_WORK = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

export HEADWATER_EMAIL="owner@app.example.com" HEADWATER_PASSWORD="App-Owner-Passw0rd-1"
export HEADWATER_DEV_EMAIL="dev@app.example.com" HEADWATER_DEV_PASSWORD="App-Dev-Passw0rd-2"
# The SSO organization (sso.mjs): an owner who keeps password sign-in, and a password member
# whom strict mode refuses.
export SSO_OWNER_EMAIL="owner@sso-org.example.com" SSO_OWNER_PASSWORD="Sso-Owner-Passw0rd-3"
export SSO_BOB_EMAIL="bob@sso.example.com" SSO_BOB_PASSWORD="Sso-Bob-Passw0rd-4"

# tally NAME OUTPUT_FILE EXIT_CODE STDERR_FILE: adds the file's `N passed, M failed` to the totals.
tally() {
  local summary
  summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$2" | tail -n1)"
  if [ -z "$summary" ]; then
    echo "FAIL $1: the browser test crashed (exit $3):"; tail -n 20 "$4"
    total_fail=$((total_fail + 1)) KEEP_WORK=1
    return
  fi
  total_pass=$((total_pass + ${summary%% passed*}))
  total_fail=$((total_fail + $(echo "$summary" | sed -E 's/.* ([0-9]+) failed$/\1/')))
  [ "$3" = 0 ] || KEEP_WORK=1
}

# run_backend NAME BASE_URL ('' for SQLite)
total_pass=0 total_fail=0
run_backend() {
  local name="$1" base="$2" port out
  echo "== web app in Chromium on $name"
  if [ -z "$base" ]; then
    mkdir -p "$WORK/$name"; export HEADWATER_DATABASE_URL="sqlite://$WORK/$name/headwater.db"
  else
    PG_DB="hw_app_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    $PSQL -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE $PG_DB" >/dev/null || { total_fail=$((total_fail + 1)); return; }
    export HEADWATER_DATABASE_URL="${base%/*}/$PG_DB"
  fi
  "$BIN" user create --email "$HEADWATER_EMAIL" --password "$HEADWATER_PASSWORD" --org-name "App Org" > "$WORK/owner.out" 2>&1 \
    || { cat "$WORK/owner.out"; total_fail=$((total_fail + 1)); stop_server; return; }
  local org; org="$(sed -n 's/^organization_uid:[[:space:]]*//p' "$WORK/owner.out" | head -n1)"
  # Token rate limits for the organization, so the token form shows them as the maximum.
  "$BIN" org set-limits --org-uid "$org" --read-rps 100 --write-rps 50 > "$WORK/limits.out" 2>&1 \
    || { cat "$WORK/limits.out"; total_fail=$((total_fail + 1)); stop_server; return; }
  "$BIN" user create --email "$HEADWATER_DEV_EMAIL" --password "$HEADWATER_DEV_PASSWORD" --org-uid "$org" > "$WORK/dev.out" 2>&1 \
    || { cat "$WORK/dev.out"; total_fail=$((total_fail + 1)); stop_server; return; }
  export HEADWATER_DEV_UID; HEADWATER_DEV_UID="$(sed -n 's/^user_uid:[[:space:]]*//p' "$WORK/dev.out" | head -n1)"
  "$BIN" user enable2fa --email "$HEADWATER_EMAIL" > "$WORK/2fa.out" 2>&1 || { cat "$WORK/2fa.out"; total_fail=$((total_fail + 1)); stop_server; return; }
  export HEADWATER_TFA_SECRET; HEADWATER_TFA_SECRET="$(sed -n 's/^tfa_secret:[[:space:]]*//p' "$WORK/2fa.out" | head -n1)"
  "$BIN" user create --email "$SSO_OWNER_EMAIL" --password "$SSO_OWNER_PASSWORD" --org-name "SSO Org" > "$WORK/sso-owner.out" 2>&1 \
    || { cat "$WORK/sso-owner.out"; total_fail=$((total_fail + 1)); stop_server; return; }
  export SSO_ORG_UID; SSO_ORG_UID="$(sed -n 's/^organization_uid:[[:space:]]*//p' "$WORK/sso-owner.out" | head -n1)"
  "$BIN" user create --email "$SSO_BOB_EMAIL" --password "$SSO_BOB_PASSWORD" --org-uid "$SSO_ORG_UID" > "$WORK/sso-bob.out" 2>&1 \
    || { cat "$WORK/sso-bob.out"; total_fail=$((total_fail + 1)); stop_server; return; }
  "$BIN" org set-sso-strict --org-uid "$SSO_ORG_UID" --strict true > "$WORK/sso-strict.out" 2>&1 \
    || { cat "$WORK/sso-strict.out"; total_fail=$((total_fail + 1)); stop_server; return; }
  port="$(free_port)"
  HEADWATER_WEBHOOK_ALLOW_CIDR=127.0.0.1/32 HEADWATER_SSO_ALLOW_CIDR=127.0.0.1/32 "$BIN" serve --listen "127.0.0.1:$port" > "$WORK/$name-server.log" 2>&1 &
  SERVER_PID=$!
  export HEADWATER_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 150); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$HEADWATER_URL/healthz")" = 200 ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$WORK/$name-server.log"; break; }
    sleep 0.2
  done
  export ARTEFACTS="$HERE/artefacts/$name"
  rm -rf "$ARTEFACTS"; mkdir -p "$ARTEFACTS"
  if [ -z "${HEADWATER_APP_ONLY_SSO:-}" ]; then
    node "$HERE/run.mjs" 2>"$WORK/$name.stderr" | tee "$WORK/$name.out"
    tally "$name" "$WORK/$name.out" "${PIPESTATUS[0]}" "$WORK/$name.stderr"
  fi
  echo "== single sign-on in Chromium on $name (sso.mjs)"
  node "$HERE/sso.mjs" 2>"$WORK/$name-sso.stderr" | tee "$WORK/$name-sso.out"
  tally "$name sso" "$WORK/$name-sso.out" "${PIPESTATUS[0]}" "$WORK/$name-sso.stderr"
  stop_server
}

run_backend sqlite ""
if [ -n "${HEADWATER_TEST_POSTGRES_URL:-}" ]; then
  run_backend postgres "$HEADWATER_TEST_POSTGRES_URL"
fi
[ $KEEP_WORK = 1 ] && echo "server logs kept in $WORK"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
