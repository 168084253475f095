#!/usr/bin/env bash
# Scale-out benchmark: entry reads by uid with a management token through 1, 2 and 3
# `headwater serve` instances on one PostgreSQL database, rate limits shared through Redis.
# One `wrk` per instance (the load spread evenly, as a load balancer would), figures summed.
# Loopback only; not part of CI.
#
#   HEADWATER_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bench/scale.sh
#
# Env: ENTRIES (default 10000), DURATION seconds per run (default 10), CONNECTIONS in total
#      (default 32), INSTANCES (default "local 1 2 3"; `local` is one instance without Redis,
#      the in-process limiter, for comparison), HEADWATER_BENCH_REDIS_URL (default
#      redis://127.0.0.1:6379).
# Prints a markdown table: requests/s, p50/p99 of the slowest instance, and what each request
# cost PostgreSQL (transactions) and Redis (commands, CPU microseconds).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${HEADWATER_BENCH_POSTGRES_URL:?set HEADWATER_BENCH_POSTGRES_URL (postgres://…): several instances need PostgreSQL}"
ENTRIES="${ENTRIES:-10000}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
INSTANCES="${INSTANCES:-local 1 2 3}"
REDIS="${HEADWATER_BENCH_REDIS_URL:-redis://127.0.0.1:6379}"
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
redis-cli -u "$REDIS" ping | grep -q PONG || { echo "no Redis at $REDIS" >&2; exit 1; }
cargo build --release -p headwater -p headwater-bench >&2
BIN=target/release
WORK="$(mktemp -d "${TMPDIR:-/tmp}/hw-scale.XXXXXX")"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
# PostgreSQL transactions committed in the benchmark's database so far.
pg_xacts() { psql "$HEADWATER_BENCH_POSTGRES_URL" -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"; }
# Redis commands processed, and its CPU seconds (user + system), so far.
redis_calls() { redis-cli -u "$REDIS" info stats | awk -F: '/^total_commands_processed/ {print $2}' | tr -d '\r'; }
redis_cpu() { redis-cli -u "$REDIS" info cpu | awk -F: '/^used_cpu_(user|sys):/ {s += $2} END {printf "%.6f", s}'; }

echo "== seeding $ENTRIES entries" >&2
eval "$("$BIN/headwater-bench-seed" --database-url "$HEADWATER_BENCH_POSTGRES_URL" --entries "$ENTRIES")"

echo
echo "### entry by uid, management token, PostgreSQL + Redis ($ENTRIES entries, $CONNECTIONS connections in total, ${DURATION}s per run, $(nproc) cores)"
echo
echo "| instances | requests/s | p50 (worst instance) | p99 (worst instance) | non-2xx | PostgreSQL transactions/request | Redis commands/request | Redis CPU µs/request |"
echo "|---|---|---|---|---|---|---|---|"
for row in $INSTANCES; do
  n="$row"; shared=(--redis-url "$REDIS" --instances "$row")
  if [ "$row" = local ]; then n=1; shared=(); fi
  ports=()
  for i in $(seq 1 "$n"); do
    port="$(free_port)"
    HEADWATER_LOG=warn "$BIN/headwater" serve --database-url "$HEADWATER_BENCH_POSTGRES_URL" \
      --listen "127.0.0.1:$port" "${shared[@]}" \
      --org-read-rps 1000000 --org-write-rps 1000000 --assets-dir "$WORK/assets" \
      > "$WORK/server-$n-$i.log" 2>&1 &
    PIDS+=("$!")
    ports+=("$port")
  done
  for port in "${ports[@]}"; do wait_http "http://127.0.0.1:$port/readyz"; done
  # Warm up (caches, pools).
  for port in "${ports[@]}"; do
    wrk -t1 -c4 -d1s "http://127.0.0.1:$port/v3/content_types/article/entries/$ENTRY_UID" \
      -H "api_key: $API_KEY" -H "authorization: $TOKEN" > /dev/null
  done
  per=$(( (CONNECTIONS + n - 1) / n ))
  x0="$(pg_xacts)"; r0="$(redis_calls)"; c0="$(redis_cpu)"
  wpids=()
  for i in "${!ports[@]}"; do
    wrk -t1 -c"$per" -d"${DURATION}s" --latency \
      "http://127.0.0.1:${ports[$i]}/v3/content_types/article/entries/$ENTRY_UID" \
      -H "api_key: $API_KEY" -H "authorization: $TOKEN" > "$WORK/wrk-$n-$i.txt" &
    wpids+=("$!")
  done
  for p in "${wpids[@]}"; do wait "$p"; done
  x1="$(pg_xacts)"; r1="$(redis_calls)"; c1="$(redis_cpu)"
  python3 - "$WORK" "$n" "$row" "$x0" "$x1" "$r0" "$r1" "$c0" "$c1" <<'PY'
import re, sys, glob
work, n, row, x0, x1, r0, r1, c0, c1 = sys.argv[1:]
label = "1, no Redis (in-process limits)" if row == "local" else n
def secs(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    return float(m.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[m.group(2)]
rps = reqs = non2xx = 0.0
p50 = p99 = 0.0
for f in sorted(glob.glob(f"{work}/wrk-{n}-*.txt")):
    t = open(f).read()
    rps += float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    reqs += float(re.search(r"(\d+) requests in", t).group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    non2xx += float(m.group(1)) if m else 0
    p50 = max(p50, secs(re.search(r"50%\s+(\S+)", t).group(1)))
    p99 = max(p99, secs(re.search(r"99%\s+(\S+)", t).group(1)))
reqs = max(reqs, 1)
print(f"| {label} | {rps:,.0f} | {p50*1e3:.2f} ms | {p99*1e3:.2f} ms | {non2xx:.0f} | "
      f"{(int(x1)-int(x0))/reqs:.2f} | {(int(r1)-int(r0))/reqs:.2f} | {(float(c1)-float(c0))*1e6/reqs:.1f} |")
PY
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  PIDS=()
done
