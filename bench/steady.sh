#!/usr/bin/env bash
# Steady-rate (open-loop) run: seed N demo candidates (default 100,000) into
# a fresh database with the release build, then examples/steady.rs at
# RATES decisions/s (default 50,200,1000; queue pages, dossiers and locks
# beside them, /health at 100/s), SECS seconds each (default 20), then
# SATURATE seconds (default 10) of CONNS closed-loop lock/unlock workers,
# then as long of CONNS closed-loop workers deciding (site level, 审核待定
# on their own candidate again and again), then the invariants over the
# API and the database (exactly once by Idempotency-Key). The server logs
# its writer's batches every second at debug level; the tool reports them
# per step.
#
#   bench/steady.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
RATES=${RATES:-50,200,1000}
SECS=${SECS:-20}
SATURATE=${SATURATE:-10}
CONNS=${CONNS:-64}
BIN=${BIN:-target/release/shenhe}
STEADY=${STEADY:-target/release/examples/steady}
[ -n "${NO_BUILD:-}" ] || cargo build --release --bin shenhe --example steady
. bench/lib.sh
scratch

serve_demo "$TMP/steady.db" warn,shenhe=info,shenhe::server::store::sqlite::writer=debug
echo "== $N candidates seeded; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -o 'seeded demo data.*' "$TMP/server.log" || true
status=0
"$STEADY" --server "$BASE" --rates "$RATES" --seconds "$SECS" --saturate "$SATURATE" \
    --conns "$CONNS" --db "$TMP/steady.db" --server-log "$TMP/server.log" || status=$?
kill -TERM "$PID"
wait "$PID" || status=$?
PID=
if grep -E ' (ERROR|WARN) ' "$TMP/server.log" | head -20 | grep .; then
    echo "(server warnings above)"
fi
exit $status
