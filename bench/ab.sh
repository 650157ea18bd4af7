#!/usr/bin/env bash
# Two (or more) server builds on one database, alternated: for each round
# and each binary, wrk's requests/s of /health, the queue's first page and
# the awaiting tab (-t2 -c16, the same as bench/run.sh), each page's ratio
# to /health in that run, and the server's CPU per request (utime+stime
# from /proc over a wrk -t1 -c8 run, which a noisy machine disturbs far
# less than throughput). The database is seeded once, by the first binary.
#
#   bench/ab.sh OLD_BIN NEW_BIN [...]       # ROUNDS=2 SECS=6 N=100000
#
# To keep a build to compare with: cp target/release/shenhe /tmp/shenhe-old
# before rebuilding (or copy /proc/PID/exe of a running server).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: bench/ab.sh BIN [BIN ...]" >&2; exit 2; }
command -v wrk >/dev/null || { echo "missing: wrk (apt-get install wrk)" >&2; exit 1; }
N=${N:-100000}
SECS=${SECS:-6}
ROUNDS=${ROUNDS:-2}
. bench/lib.sh
scratch
start() {
    BIN=$1 serve_demo "$TMP/ab.db" warn
    TOKEN=$(login)
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
rps() { wrk -t2 -c16 -d"${SECS}s" -H "Authorization: Bearer $TOKEN" "$BASE$1" | awk '/Requests\/sec/{print $2}'; }
cpu_us() {
    local t0 t1 n
    t0=$(awk '{print $14 + $15}' "/proc/$PID/stat")
    n=$(wrk -t1 -c8 -d"${SECS}s" -H "Authorization: Bearer $TOKEN" "$BASE$1" | awk '/requests in/{print $1}')
    t1=$(awk '{print $14 + $15}' "/proc/$PID/stat")
    # clock ticks (100/s) per request, in microseconds
    python3 -c "print(f'{($t1 - $t0) * 1e4 / $n:.1f}')"
}

echo "== $N candidates, ${SECS}s per step, $ROUNDS rounds, load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
    for bin in "$@"; do
        start "$bin"
        h=$(rps /api/v1/health)
        q=$(rps "/api/v1/candidates?limit=50")
        a=$(rps "/api/v1/candidates?state=awaiting_review&limit=50")
        hc=$(cpu_us /api/v1/health)
        qc=$(cpu_us "/api/v1/candidates?limit=50")
        stop
        python3 -c "print(f'round $round  {\"$bin\":28s} /health {$h:8.0f}/s  queue {$q:7.0f}/s ({100*$q/$h:4.1f}%)  awaiting {$a:7.0f}/s ({100*$a/$h:4.1f}%)  CPU/request: /health {$hc} us, queue {$qc} us')"
    done
done
