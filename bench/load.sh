#!/usr/bin/env bash
# Load run: seed N demo candidates (default 100,000) into a fresh database
# with the release build, then 50 simulated reviewers for 60 s
# (examples/load.rs: queue, claim, dossier, image, lock/unlock, decision,
# release), then the invariants over the API and the database.
#
#   bench/load.sh [N]          REVIEWERS=50 SECONDS_=60 by default
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
REVIEWERS=${REVIEWERS:-50}
SECS=${SECONDS_:-60}
cargo build --release --bin shenhe --example load
BIN=target/release/shenhe
. bench/lib.sh
scratch

serve_demo "$TMP/load.db"
echo "== $N candidates seeded"
grep -o 'seeded demo data.*' "$TMP/server.log" | sed 's/\x1b\[[0-9;]*m//g' || true
status=0
target/release/examples/load --server "$BASE" --reviewers "$REVIEWERS" --seconds "$SECS" \
    --db "$TMP/load.db" || status=$?
# A clean stop (SIGTERM drains) is part of the run.
kill -TERM "$PID"
wait "$PID" || status=$?
PID=
if grep -E ' (ERROR|WARN) ' "$TMP/server.log" | sed 's/\x1b\[[0-9;]*m//g' | head -20 | grep .; then
    echo "(server warnings above)"
fi
exit $status
