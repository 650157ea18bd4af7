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
. bench/lib.sh
scratch "${TMPDIR:-/tmp}/shenhe-seed.XXXXXX"

echo "== $N candidates; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
START=$(date +%s.%N)
serve_demo "${DB:-$TMP/seed.db}"
END=$(date +%s.%N)
grep -o 'seeded demo data.*' "$TMP/server.log" | sed 's/\x1b\[[0-9;]*m//g'
python3 -c "print(f'start to first 200 (open, migrate, seed, listen): {$END - $START:.1f} s')"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${DB:-}" ]; then
    psql "$DB" -Atc "SELECT 'pg_database_size ' || round(pg_database_size(current_database()) / 1e6, 1) || ' MB'"
else
    ls -l "$TMP"/seed.db* | awk '{printf "%s %.1f MB\n", $9, $5 / 1e6}'
fi
