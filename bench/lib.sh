# Sourced by the bench scripts (not run): a scratch folder that goes away on
# exit together with the server started in it, a free loopback port, and
# the demo server's start.
#
#   . "$(dirname "$0")/lib.sh"
#   scratch [mktemp args]           # TMP, and the exit trap
#   serve_demo DB [RUST_LOG]        # "$BIN" serve --demo --candidates "$N";
#                                   # PORT, BASE, PID; returns at the first 200

PID=
scratch() {
    TMP=$(mktemp -d "$@")
    trap bench_cleanup EXIT
}
bench_cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

serve_demo() {
    PORT=$(free_port)
    BASE="http://127.0.0.1:$PORT"
    RUST_LOG=${2:-warn,shenhe=info} "$BIN" serve --demo --candidates "$N" --db "$1" \
        --listen "127.0.0.1:$PORT" >"$TMP/server.log" 2>&1 &
    PID=$!
    until curl -sf "$BASE/api/v1/health" >/dev/null 2>&1; do
        kill -0 "$PID" 2>/dev/null || { cat "$TMP/server.log"; exit 1; }
        sleep 0.2
    done
}

# The token of a demo reviewer (default nanjing).
login() {
    curl -sf -X POST -H 'content-type: application/json' \
        -d "{\"username\":\"${1:-nanjing}\",\"password\":\"demo\"}" "$BASE/api/v1/session" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
