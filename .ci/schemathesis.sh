#!/usr/bin/env bash
# Fuzz the served OpenAPI document with schemathesis: every check, 50
# examples per operation, against `shenhe serve --demo` on a free loopback
# port with a fresh database. Fails on any failure; prints the case count.
#
# Reviewer operations run with a reviewer's token, candidate operations
# with a candidate's; the two logouts run last, each with a token of its
# own, since they revoke the token they are called with.
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION=4.32.5
VENV=${SCHEMATHESIS_VENV:-$PWD/target/schemathesis-venv}
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "schemathesis==$ST_VERSION"
fi
# `.ci/run` installs ahead, beside the build.
[ "${1:-}" = --install-only ] && exit 0

BIN=${SHENHE_BIN:-}
if [ -z "$BIN" ]; then
    if [ -x target/release/shenhe ]; then BIN=target/release/shenhe; else
        cargo build --quiet --bin shenhe
        BIN=target/debug/shenhe
    fi
fi

TMP=$(mktemp -d)
PID=
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
# SHENHE_ST_DB: another database (an empty postgres:// one) instead of a
# fresh SQLite file.
DB=${SHENHE_ST_DB:-$TMP/st.db}
# Image bytes in the run's own folder (with PostgreSQL the default is the
# data directory, shared with whatever else runs there).
"$BIN" serve --demo --candidates 200 --db "$DB" --blobs "$TMP/blobs" --listen "127.0.0.1:$PORT" \
    >"$TMP/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 240); do
    curl -sf "$BASE/api/v1/health" >/dev/null 2>&1 && break
    kill -0 "$PID" 2>/dev/null || { cat "$TMP/server.log"; exit 1; }
    sleep 0.5
done
curl -sf "$BASE/api/v1/health" >/dev/null

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
login() {
    curl -sf -X POST -H 'content-type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"demo\"}" "$BASE/api/v1/session" | json '["token"]'
}
candidate_login() {
    curl -sf -X POST -H 'content-type: application/json' \
        -d "{\"reg_no\":\"$1\",\"password\":\"demo\"}" "$BASE/api/v1/candidate/session" | json '["token"]'
}

TOKEN=$(login nanjing)
REG_NO=$(curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/candidates?state=not_started&limit=1" |
    json '["items"][0]["reg_no"]')
CTOKEN=$(candidate_login "$REG_NO")

SPEC="$BASE/api/v1/openapi.json"
COMMON=(--checks all --seed 20270214 --no-color --workers 1 --generation-database none)
# run NAME ARGS...: one schemathesis run, EXAMPLES (default 50) fuzzed
# examples per operation; its case count goes to $TMP/NAME.cases (a file,
# so that a run in the background counts too).
run() {
    local name=$1
    shift
    local out="$TMP/$name.txt"
    set +e
    # Run from the temporary folder: schemathesis and hypothesis leave
    # caches in the working directory.
    (cd "$TMP" && "$VENV/bin/st" run "$SPEC" "${COMMON[@]}" --max-examples "${EXAMPLES:-50}" "$@") |
        tee "$out"
    local rc=${PIPESTATUS[0]}
    set -e
    grep -Eo '[0-9]+ generated' "$out" | tail -1 | grep -Eo '^[0-9]+' >"$TMP/$name.cases" || true
    if [ "$rc" -ne 0 ]; then
        echo "schemathesis ($name) failed; server log:" >&2
        tail -n 50 "$TMP/server.log" >&2
        exit "$rc"
    fi
}

# The event stream never ends: schemathesis reads each answer for the
# whole request timeout (10 s by default; heartbeats are comments, not
# events), which made this one operation 290 of the run's 300 s. It runs
# beside the others with a 1 s read (its cases are headers: auth and
# Last-Event-ID, all answered at once) and fewer fuzzed examples.
EXAMPLES=10 run events -H "Authorization: Bearer $TOKEN" --include-path /api/v1/events \
    --request-timeout 1 >"$TMP/events.log" 2>&1 &
EVENTS=$!
run reviewer -H "Authorization: Bearer $TOKEN" --exclude-tag candidate --exclude-operation-id logout \
    --exclude-path /api/v1/events
set +e
wait "$EVENTS"
events_rc=$?
set -e
cat "$TMP/events.log"
[ "$events_rc" -eq 0 ] || exit "$events_rc"
run candidate -H "Authorization: Bearer $CTOKEN" --include-tag candidate \
    --exclude-operation-id candidate_logout
run reviewer-logout -H "Authorization: Bearer $(login suzhou)" --include-operation-id logout
run candidate-logout -H "Authorization: Bearer $(candidate_login "$REG_NO")" \
    --include-operation-id candidate_logout

TOTAL=$(cat "$TMP"/*.cases | awk '{ n += $1 } END { print n + 0 }')
echo "schemathesis: $TOTAL test cases generated and checked, 0 failures"
