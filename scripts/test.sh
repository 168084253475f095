#!/usr/bin/env bash
# Headwater's test command: what a newcomer runs and what CI runs.
#
#   scripts/test.sh
#
# 1. The Rust tests (unit, policy table, HTTP integration) on SQLite, and on PostgreSQL when
#    HEADWATER_TEST_POSTGRES_URL names a server (e.g. postgres://postgres@127.0.0.1:5432/test).
# 2. The official Contentstack clients (tests/compat): the JS and Python scenarios on SQLite,
#    and the JS scenario on PostgreSQL when the URL is set. Needs node/npm and python3; the
#    pinned client packages are installed on first use, and so is moto (tests/s3), the local
#    S3 server the asset storage tests use.
#    With PostgreSQL and a Redis at HEADWATER_TEST_REDIS_URL (default redis://127.0.0.1:6379),
#    this includes the scale-out test (crates/headwater/tests/scale_out.rs): three
#    `headwater serve` processes on one database and that Redis.
# 3. The web app in Debian's Chromium (tests/app/run.sh), on SQLite and, when the URL is set,
#    PostgreSQL; screenshots of each step go to tests/app/artefacts/.
# 4. With HEADWATER_TEST_CLI=1 (CI sets it), the csdx CLI export/import round trip
#    (tests/cli/roundtrip.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${HEADWATER_TEST_POSTGRES_URL:-}" ]; then
  echo "notice: HEADWATER_TEST_POSTGRES_URL is not set: PostgreSQL tests are skipped (SQLite only)."
fi

# The S3 storage tests run against moto's S3 server on 127.0.0.1 (pinned in tests/s3/).
if [ ! -x tests/s3/.venv/bin/moto_server ]; then
  echo "== installing moto (tests/s3/requirements.txt) for the S3 storage tests"
  { python3 -m venv tests/s3/.venv && tests/s3/.venv/bin/pip install -q -r tests/s3/requirements.txt; } \
    || { rm -rf tests/s3/.venv; echo "moto install failed: the S3 storage tests will fail" >&2; }
fi

export HEADWATER_TEST_REDIS_URL="${HEADWATER_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
if [ -n "${HEADWATER_TEST_POSTGRES_URL:-}" ]; then
  if command -v redis-cli >/dev/null && redis-cli -u "$HEADWATER_TEST_REDIS_URL" ping 2>/dev/null | grep -q PONG; then
    echo "== Redis answers at $HEADWATER_TEST_REDIS_URL: the three-instance scale-out test runs"
  else
    echo "notice: no Redis at $HEADWATER_TEST_REDIS_URL: the three-instance scale-out test is skipped."
  fi
fi

cargo build --bin headwater
cargo test --workspace

echo "== official clients on SQLite"
tests/compat/run.sh
if [ -n "${HEADWATER_TEST_POSTGRES_URL:-}" ]; then
  echo "== official JS client on PostgreSQL"
  HEADWATER_DATABASE_URL="$HEADWATER_TEST_POSTGRES_URL" tests/compat/run.sh --js
fi
# The web app in real Chromium (tests/app): Debian's chromium is installed with apt-get when
# missing and running as root (as CI does); otherwise these tests are skipped with a notice.
if [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }; then
  echo "== the web app in Chromium (tests/app/run.sh)"
  tests/app/run.sh
else
  echo "notice: no Chromium at ${CHROMIUM:-/usr/bin/chromium} (apt-get install chromium): the web app browser tests are skipped."
fi
if [ "${HEADWATER_TEST_CLI:-}" = 1 ]; then
  echo "== the csdx CLI round trip (tests/cli/roundtrip.sh)"
  HEADWATER_BIN="$PWD/target/debug/headwater" tests/cli/roundtrip.sh
fi
