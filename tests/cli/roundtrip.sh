#!/usr/bin/env bash
# The official Contentstack CLI (csdx) against Headwater over HTTPS: a fresh server with a
# self-signed certificate, two stacks with a management token each, content seeded into the
# first; then csdx sets a custom region, adds both tokens as aliases, exports the first stack
# and imports it into the second, and the two stacks are compared (PASS/FAIL per check).
#
#   tests/cli/roundtrip.sh                       # the supported modules (export-config.json)
#   ROUNDTRIP_ALL_MODULES=1 tests/cli/roundtrip.sh   # every module csdx knows, to list what
#                                                # Headwater lacks (FINDINGS.md)
#
# Environment: HEADWATER_BIN (default: built with cargo), KEEP_WORK=1 (keep the scratch folder),
# ROUNDTRIP_DATABASE_URL (default: a fresh SQLite file; a PostgreSQL URL must name an empty
# database). Needs Node.js >= 18 with npm, Python 3, curl. Talks only to 127.0.0.1.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/headwater-cli-roundtrip.XXXXXX")"
# The management SDK inside csdx refuses `localhost` and IP addresses as its host; csdx reaches
# the server by this name, which resolve-local.cjs maps to 127.0.0.1 inside csdx only (the
# self-signed certificate names it).
LOCAL_NAME=headwater.localhost
EMAIL=roundtrip@example.com
PASSWORD=correct-horse-battery
SERVER_PID=

step() { printf '\n== %s\n' "$*"; }

cleanup() {
    local rc=$?
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 || "${KEEP_WORK:-}" == 1 ]]; then
        echo "scratch folder kept: $WORK (server.log, csdx-*.log, export/)"
    else
        rm -rf "$WORK"
    fi
    exit $rc
}
trap cleanup EXIT

step "csdx"
cd "$HERE"
if [[ ! -x node_modules/.bin/csdx ]]; then
    # npm 11 refuses `npm ci` for this tree: the lock it writes leaves out the other platforms'
    # optional rollup binaries, then calls itself out of sync. `npm install` installs the locked
    # versions all the same; a copy keeps the committed lock from being rewritten.
    cp package-lock.json "${TMPDIR:-/tmp}/headwater-cli-lock.json"
    npm install --no-audit --no-fund --loglevel=error
    cp "${TMPDIR:-/tmp}/headwater-cli-lock.json" package-lock.json
fi
CSDX="$HERE/node_modules/.bin/csdx"
echo "@contentstack/cli $(node -p 'require("./node_modules/@contentstack/cli/package.json").version')"

step "Headwater"
if [[ -z "${HEADWATER_BIN:-}" ]]; then
    (cd "$ROOT" && cargo build -q -p headwater)
    HEADWATER_BIN="$ROOT/target/debug/headwater"
fi
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export HEADWATER_DATABASE_URL="${ROUNDTRIP_DATABASE_URL:-sqlite://$WORK/headwater.db}"
"$HEADWATER_BIN" user create --email "$EMAIL" --password "$PASSWORD" --org-name "Round trip" >/dev/null
HEADWATER_LOG="info,sqlx=warn,tower_http=debug" NO_COLOR=1 "$HEADWATER_BIN" serve \
    --listen "127.0.0.1:$PORT" --tls-self-signed --tls-self-signed-dir "$WORK/tls" \
    --assets-dir "$WORK/assets" --org-read-rps 1000 --org-write-rps 1000 \
    --webhook-allow-cidr 127.0.0.0/8 \
    >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
CA="$WORK/tls/self-signed-cert.pem"
deadline=$((SECONDS + 60))
until [[ -f "$CA" ]] && curl -sf --cacert "$CA" "https://127.0.0.1:$PORT/healthz" >/dev/null; do
    if ((SECONDS > deadline)) || ! kill -0 "$SERVER_PID" 2>/dev/null; then
        cat "$WORK/server.log"
        echo "FAIL: the server did not start"
        exit 1
    fi
    sleep 0.2
done
grep -E "listening|fingerprint" "$WORK/server.log" | sed 's/\x1b\[[0-9;]*m//g' | grep -v INFO || true
BASE="https://127.0.0.1:$PORT"

step "Two stacks, a management token each; content in the source stack"
eval "$(python3 "$HERE/hw.py" setup "$BASE" "$CA" "$EMAIL" "$PASSWORD")"
echo "source stack $SOURCE_API_KEY, target stack $TARGET_API_KEY"
python3 "$HERE/hw.py" seed "$BASE" "$CA" "$SOURCE_API_KEY" "$SOURCE_TOKEN"

# csdx's own state (config, logs) stays in the scratch folder.
export HOME="$WORK/home" CS_CLI_CONFIG_PATH="$WORK/csdx-config" CS_CLI_LOG_PATH="$WORK/csdx-logs"
export NODE_EXTRA_CA_CERTS="$CA" HEADWATER_LOCAL_NAME="$LOCAL_NAME"
export NODE_OPTIONS="--require $HERE/resolve-local.cjs"
export NO_PROXY="$LOCAL_NAME,127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
mkdir -p "$HOME"
HOST="https://$LOCAL_NAME:$PORT"

csdx() {
    local log="$WORK/csdx-$1.log"
    shift
    echo "\$ csdx $*" | sed -E 's/(--token )[^ ]+/\1***/'
    if ! "$CSDX" "$@" >"$log" 2>&1; then
        sed 's/\x1b\[[0-9;]*m//g' "$log" | tail -40
        echo "FAIL: csdx $1"
        return 1
    fi
    # The CLI's check for a newer version of itself goes to the npm registry; not ours.
    sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -v -e 'check the latest version' \
        -e 'certificate in the certificate chain' | grep -E 'SUCCESS|ERROR|WARN|success|added|set to' || true
}

step "csdx: region and token aliases"
csdx region config:set:region --cma "$HOST" --cda "$HOST/cda" --ui-host "$HOST" --name Headwater
csdx alias-source auth:tokens:add --alias hw-source --stack-api-key "$SOURCE_API_KEY" --management --token "$SOURCE_TOKEN" --yes
csdx alias-target auth:tokens:add --alias hw-target --stack-api-key "$TARGET_API_KEY" --management --token "$TARGET_TOKEN" --yes

CONFIG_ARGS=()
if [[ "${ROUNDTRIP_ALL_MODULES:-}" != 1 ]]; then
    CONFIG_ARGS=(--config "$HERE/export-config.json")
fi
step "csdx cm:stacks:export"
mark=$(wc -l <"$WORK/server.log")
csdx export cm:stacks:export --alias hw-source --data-dir "$WORK/export" --yes "${CONFIG_ARGS[@]}"
if [[ "${ROUNDTRIP_ALL_MODULES:-}" != 1 ]]; then
    CONFIG_ARGS=(--config "$HERE/import-config.json")
fi
step "csdx cm:stacks:import"
# csdx copies the export to a _backup_* folder in the working folder and imports from there.
cd "$WORK"
csdx import cm:stacks:import --alias hw-target --data-dir "$WORK/export" --yes "${CONFIG_ARGS[@]}"
cd "$HERE"

step "Requests csdx made (method, path with uids as {uid}, status: count)"
tail -n +"$mark" "$WORK/server.log" | sed 's/\x1b\[[0-9;]*m//g' | grep 'on_response' |
    sed -E 's/.*method=([A-Z]+) path=([^ }]*).*status=([0-9]+).*/\1 \2 \3/' |
    sed -E 's#/blt[0-9a-f]{16}#/{uid}#g; s#/v3/content_types/[a-z_0-9]+/#/v3/content_types/{ct}/#; s#/v3/(content_types|global_fields|locales|environments)/[a-z_0-9-]+$#/v3/\1/{id}#; s#/[^/ ]+\.(png|jpg|txt)#/{filename}#' |
    sort | uniq -c | sort -k2,3 | tee "$WORK/requests.txt"
if grep -q ' 404$' "$WORK/requests.txt"; then
    echo "Routes Headwater lacks (404):"
    grep ' 404$' "$WORK/requests.txt"
fi

step "Compare the two stacks"
python3 "$HERE/hw.py" compare "$BASE" "$CA" "$SOURCE_API_KEY" "$SOURCE_TOKEN" "$TARGET_API_KEY" "$TARGET_TOKEN"
