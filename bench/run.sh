#!/usr/bin/env bash
# Seed N candidates (default 100,000) into a fresh database with the release
# build, then load GET /api/v1/health, GET /api/v1/candidates, the dossier
# and image lock/unlock one after another with wrk on loopback. Bounded: each
# run is DURATION seconds (default 20). BIN picks another build (the "before"
# numbers: a build of the commit before issue 14's).
#
#   apt-get install wrk && cargo build --release && bench/run.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
DURATION=${DURATION:-20}
THREADS=${THREADS:-2}
export THREADS
CONNS=${CONNS:-16}
BIN=${BIN:-target/release/shenhe}
. bench/lib.sh
scratch

START=$(date +%s.%N)
serve_demo "$TMP/bench.db"
END=$(date +%s.%N)
echo "== $N candidates"
grep -o 'seeded demo data.*' "$TMP/server.log" | sed 's/\x1b\[[0-9;]*m//g'
python3 -c "print(f'start to first 200 (open, migrate, seed, listen): {$END - $START:.1f} s')"
ls -la "$TMP"/bench.db* | awk '{print $5, $9}'

TOKEN=$(login)
export TOKEN
# Unreviewed images of candidates awaiting the site: real lock/unlock targets.
IMAGES=$(python3 - "$BASE" "$TOKEN" 2>"$TMP/candidates" <<'PY'
import json, sys, urllib.request
base, token = sys.argv[1], sys.argv[2]
def get(path):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    return json.load(urllib.request.urlopen(req))
ids = []
page = get("/api/v1/candidates?state=awaiting_review&limit=500")
for c in page["items"][:400]:
    d = get(f"/api/v1/candidates/{c['id']}")
    for m in d["materials"]:
        ids += [i["id"] for i in m["images"] if i["verdict"] == "unreviewed"]
print(",".join(map(str, ids)))
# Dossiers to read: the last 100 of that page (the lock targets are the first 400).
print(",".join(str(c["id"]) for c in page["items"][400:]), file=sys.stderr)
PY
)
export IMAGES
CANDIDATES=$(cat "$TMP/candidates")
export CANDIDATES
echo "lock targets: $(echo "$IMAGES" | tr ',' '\n' | wc -l) images"

run() {
    echo "-- $1"
    shift
    wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$@" | grep -E 'Requests/sec|p50|lock/unlock|Non-2xx|  50%|  99%'
}
run "GET /api/v1/health" -s bench/get.lua "$BASE/api/v1/health"
run "GET /api/v1/candidates (first page, 50)" -s bench/get.lua "$BASE/api/v1/candidates"
run "GET /api/v1/candidates?state=awaiting_review&limit=50" -s bench/get.lua \
    "$BASE/api/v1/candidates?state=awaiting_review&limit=50"
run "GET /api/v1/candidates/{id} (dossier, 100 candidates in turn)" -s bench/dossier.lua "$BASE"
run "POST /api/v1/images/{id}/lock|unlock" -s bench/lock.lua "$BASE"
run "GET /api/v1/health (again, after the writes)" -s bench/get.lua "$BASE/api/v1/health"
