#!/usr/bin/env bash
# Seeding alone: `shenhe serve --demo --candidates N` (default 1,000,000)
# into a fresh database with the release build, timed from the start to the
# first 200 of /health (open, migrate, seed, listen); then the server's own
# seed line, the database's size (after the WAL is folded in) and a SIGTERM.
#
#   cargo build --release --bin shenhe && bench/seed.sh [N]
#
# DB=postgres://user@host:port/db (an empty database) seeds PostgreSQL
# instead (COPY) and reports pg_database_size.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
BIN=${BIN:-target/release/shenhe}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/shenhe-seed.XXXXXX")
PID=
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "== $N candidates; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
START=$(date +%s.%N)
RUST_LOG=warn,shenhe=info "$BIN" serve --demo --candidates "$N" --db "${DB:-$TMP/seed.db}" \
    --listen "127.0.0.1:$PORT" >"$TMP/server.log" 2>&1 &
PID=$!
until curl -sf "http://127.0.0.1:$PORT/api/v1/health" >/dev/null 2>&1; do
    kill -0 "$PID" 2>/dev/null || { cat "$TMP/server.log"; exit 1; }
    sleep 0.2
done
END=$(date +%s.%N)
grep -o 'seeded demo data.*' "$TMP/server.log" | sed 's/\x1b\[[0-9;]*m//g'
python3 -c "print(f'start to first 200 (open, migrate, seed, listen): {$END - $START:.1f} s')"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${DB:-}" ]; then
    psql "$DB" -Atc "SELECT 'pg_database_size ' || round(pg_database_size(current_database()) / 1e6, 1) || ' MB'"
else
    ls -l "$TMP"/seed.db* | awk '{printf "%s %.1f MB\n", $9, $5 / 1e6}'
fi
