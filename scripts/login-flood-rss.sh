#!/usr/bin/env bash
# Resident memory of a Headwater server before and after a flood of concurrent logins (SEC-4).
# Usage: scripts/login-flood-rss.sh [path/to/headwater] [logins, default 40] [rounds, default 3]
# Starts the server on 127.0.0.1 over a fresh SQLite database in a temporary folder, creates one
# user, fires the logins at once (wrong passwords from distinct emails, so every one hashes),
# and prints VmRSS (KiB) after start, after the user, and after each round.
set -euo pipefail
BIN=${1:-target/release/headwater}
N=${2:-40}
ROUNDS=${3:-3}
DIR=$(mktemp -d)
PORT=$((20000 + RANDOM % 20000))
export HEADWATER_DATABASE_URL="sqlite://$DIR/headwater.db" HEADWATER_SECRET_KEY_FILE="$DIR/secret.key"
"$BIN" migrate >/dev/null
HEADWATER_USER_PASSWORD=correct-horse-battery "$BIN" user create --email ada@example.com --org-name Org >/dev/null
# Generous login throttles: this measures hashing, not the lockouts.
HEADWATER_LOGIN_FREE_FAILURES=100000 HEADWATER_LOGIN_ADDRESS_FREE_FAILURES=100000 \
  "$BIN" serve --listen "127.0.0.1:$PORT" --assets-dir "$DIR/assets" >"$DIR/log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/v3/user" && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
echo "idle after start: $(rss) KiB"
for r in $(seq "$ROUNDS"); do
  start=$(date +%s.%N)
  for i in $(seq "$N"); do
    curl -s -o /dev/null -w '%{http_code}\n' -H 'content-type: application/json' \
      -d "{\"user\":{\"email\":\"flood$i-$r@example.com\",\"password\":\"not-the-password\"}}" \
      "http://127.0.0.1:$PORT/v3/user-session" &
  done | sort | uniq -c | tr '\n' ' '
  end=$(date +%s.%N)
  sleep 1
  echo "| round $r: $N logins in $(echo "$end - $start" | bc) s, VmRSS $(rss) KiB"
done
