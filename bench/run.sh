#!/usr/bin/env bash
# Load benchmarks: Headwater beside the HTTP floor, on SQLite and (when HEADWATER_BENCH_POSTGRES_URL
# is set) PostgreSQL, at 1, 16 and 64 connections. Loopback only.
#
#   bench/run.sh                      # SQLite
#   HEADWATER_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bench/run.sh
#
# Env: ENTRIES (default 100000), DURATION seconds per run (default 10), CONNECTIONS (default "1 16 64"),
#      BACKENDS (default "sqlite postgres"; postgres runs only with HEADWATER_BENCH_POSTGRES_URL),
#      SCAN (default 1; 0 skips the full-scan comparison query),
#      WRITES (default 1; 0 skips the create and publish runs),
#      BIN (default: build and use target/release; set it to run binaries kept from another
#      build, e.g. a before/after comparison; a seeder without a delivery token skips the
#      delivery runs).
# Prints one markdown table per backend (and writes bench/last-<backend>.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ENTRIES="${ENTRIES:-100000}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-1 16 64}"
BACKENDS="${BACKENDS:-sqlite postgres}"
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
if [ -z "${BIN:-}" ]; then
  cargo build --release -p headwater -p headwater-bench >&2
  BIN=target/release
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/hw-bench.XXXXXX")"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# run_wrk NAME CONNS URL [wrk args...] -> one table row
run_wrk() {
  local name="$1" conns="$2" url="$3"; shift 3
  local threads=2; [ "$conns" = 1 ] && threads=1
  local out
  out="$(wrk -t"$threads" -c"$conns" -d"${DURATION}s" --latency "$@" "$url")"
  local rps p50 p99 errors
  rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
  p50="$(echo "$out" | awk '$1 == "50%" {print $2}')"
  p99="$(echo "$out" | awk '$1 == "99%" {print $2}')"
  errors="$(echo "$out" | awk '/Non-2xx/ {print $5}')"
  echo "| $name | $conns | $rps | $p50 | $p99 | ${errors:-0} |"
  echo "$name $conns $rps" >> "$WORK/rps"
}

bench_backend() {
  local backend="$1" url="$2"
  echo "== seeding $ENTRIES entries on $backend" >&2
  local t0=$SECONDS
  DELIVERY_TOKEN=""
  eval "$("$BIN/headwater-bench-seed" --database-url "$url" --entries "$ENTRIES")"
  local seed_secs=$((SECONDS - t0))
  local port; port="$(free_port)"
  HEADWATER_LOG=warn "$BIN/headwater" serve --database-url "$url" --listen "127.0.0.1:$port" \
    --org-read-rps 1000000 --org-write-rps 1000000 --assets-dir "$WORK/assets" > "$WORK/server-$backend.log" 2>&1 &
  local server=$!; PIDS+=("$server")
  wait_http "http://127.0.0.1:$port/healthz"
  local hport; hport="$(free_port)"
  "$BIN/headwater-bench-hello" "127.0.0.1:$hport" > /dev/null 2>&1 &
  local hello=$!; PIDS+=("$hello")
  wait_http "http://127.0.0.1:$hport/hello"

  local base="http://127.0.0.1:$port/v3/content_types/article/entries"
  local query; query="$(python3 -c 'import urllib.parse,json; print(urllib.parse.quote(json.dumps({"category": "tech", "rating": {"$gte": 90}})))')"
  # The same matches in a form the field index cannot narrow (an $or with an $exists branch
  # that matches nothing): what every filtered query cost before the index.
  local scan_query; scan_query="$(python3 -c 'import urllib.parse,json; print(urllib.parse.quote(json.dumps({"$or": [{"category": "tech", "rating": {"$gte": 90}}, {"never_set": {"$exists": True}}]})))')"
  local cda="http://127.0.0.1:$port/cda/v3/content_types/article/entries"
  local cda_one="$cda/$ENTRY_UID?environment=production"
  local cda_list="$cda?environment=production&query=$query&limit=10&include_count=true"
  local idle_rss; idle_rss="$(rss_kb "$server")"
  # The first filtered listings after start load their posting lists (SQLite): timed alone,
  # so that the runs below measure what every later request costs.
  local first_list first_cda="-"
  first_list="$(curl -s -o /dev/null -w '%{time_total}' --max-time 300 -H "api_key: $API_KEY" -H "authorization: $TOKEN" "$base?query=$query&limit=10&include_count=true")"
  if [ -n "$DELIVERY_TOKEN" ]; then
    first_cda="$(curl -s -o /dev/null -w '%{time_total}' --max-time 300 -H "api_key: $API_KEY" -H "access_token: $DELIVERY_TOKEN" "$cda_list")"
  fi
  echo
  echo "### $backend ($ENTRIES entries, seeded in ${seed_secs}s, ${DURATION}s per run, $(nproc) cores)"
  echo
  echo "First filtered listing after start: ${first_list} s (management), ${first_cda} s (delivery)."
  echo
  echo "| scenario | connections | requests/s | p50 | p99 | non-2xx |"
  echo "|---|---|---|---|---|---|"
  for c in $CONNECTIONS; do
    run_wrk "HTTP floor (axum hello)" "$c" "http://127.0.0.1:$hport/hello"
    run_wrk "entry by uid, management token" "$c" "$base/$ENTRY_UID" -H "api_key: $API_KEY" -H "authorization: $TOKEN"
    run_wrk "entry by uid, authtoken (role rules)" "$c" "$base/$ENTRY_UID" -H "api_key: $API_KEY" -H "authtoken: $AUTHTOKEN"
    run_wrk "filtered query over $ENTRIES entries" "$c" "$base?query=$query&limit=10&include_count=true" -H "api_key: $API_KEY" -H "authorization: $TOKEN"
    if [ "${SCAN:-1}" = 1 ]; then
      run_wrk "same query, full scan (no field index)" "$c" "$base?query=$scan_query&limit=10&include_count=true" -H "api_key: $API_KEY" -H "authorization: $TOKEN"
    fi
    if [ -n "$DELIVERY_TOKEN" ]; then
      run_wrk "delivery: published entry by uid" "$c" "$cda_one" -H "api_key: $API_KEY" -H "access_token: $DELIVERY_TOKEN"
      # The validator a client (or CDN) holds after a first read (read again: the publish runs
      # change it); its revalidations answer 304.
      local etag; etag="$(curl -s -D - -o /dev/null -H "api_key: $API_KEY" -H "access_token: $DELIVERY_TOKEN" "$cda_one" | awk 'tolower($1) == "etag:" {print $2}' | tr -d '\r')"
      [ -n "$etag" ] || { echo "no ETag on $cda_one" >&2; return 1; }
      run_wrk "delivery: same entry, If-None-Match (304)" "$c" "$cda_one" -H "api_key: $API_KEY" -H "access_token: $DELIVERY_TOKEN" -H "If-None-Match: $etag"
      run_wrk "delivery: filtered published list" "$c" "$cda_list" -H "api_key: $API_KEY" -H "access_token: $DELIVERY_TOKEN"
    fi
    if [ "${WRITES:-1}" = 1 ]; then
      run_wrk "entry create" "$c" "$base" -H "api_key: $API_KEY" -H "authorization: $TOKEN" -s bench/create.lua
      run_wrk "entry publish" "$c" "$base/$ENTRY_UID/publish" -H "api_key: $API_KEY" -H "authorization: $TOKEN" -s bench/publish.lua
    fi
  done
  local load_rss; load_rss="$(rss_kb "$server")"
  echo
  echo "Resident memory of the server: ${idle_rss} KiB idle after start, ${load_rss} KiB after the runs, $(hwm_kb "$server") KiB at its peak."
  echo
  echo "Ratio to the HTTP floor (requests/s), by connections:"
  python3 - "$WORK/rps" <<'PY'
import sys, collections
rows = [l.rsplit(" ", 2) for l in open(sys.argv[1]).read().splitlines()]
floor = {c: float(r) for n, c, r in rows if n.startswith("HTTP floor")}
for n, c, r in rows:
    if not n.startswith("HTTP floor") and floor.get(c):
        print(f"- {n}, {c} conn: {float(r) / floor[c]:.1%}")
PY
  : > "$WORK/rps"
  kill "$server" "$hello" 2>/dev/null || true
  wait "$server" "$hello" 2>/dev/null || true
}

{
  if [[ " $BACKENDS " == *" sqlite "* ]]; then
    bench_backend sqlite "sqlite://$WORK/bench.db"
  fi
  if [ -n "${HEADWATER_BENCH_POSTGRES_URL:-}" ] && [[ " $BACKENDS " == *" postgres "* ]]; then
    db="hw_bench_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
    psql "$HEADWATER_BENCH_POSTGRES_URL" -qc "CREATE DATABASE $db" >&2
    bench_backend postgres "${HEADWATER_BENCH_POSTGRES_URL%/*}/$db"
    psql "$HEADWATER_BENCH_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $db" >&2 || true
  fi
} | tee bench/last-run.md
