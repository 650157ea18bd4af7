#!/usr/bin/env bash
# Screenshots of the candidates' page (login, materials with feedback, a
# reviewer's reason on a slot, the preparation dialog, an upload in
# progress) at 390x844 and 1280x800 into docs/screenshots/, and the
# in-browser compression of the 4000x3000 phone photo (median of 5).
# Needs Debian's chromium and chromium-driver (.ci/run installs them) and a
# CJK font for the screenshots to be readable.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "chromium/chromedriver missing: apt-get install chromium chromium-driver" >&2
  exit 1
fi
if ! fc-list 2>/dev/null | grep -qi -e wqy -e "noto.*cjk"; then
  echo "no CJK font: apt-get install fonts-wqy-zenhei (screenshots would show boxes)" >&2
  exit 1
fi
export SHENHE_SHOTS_DIR="${SHENHE_SHOTS_DIR:-$PWD/docs/screenshots}"
cargo test --test it web_screenshots:: -- --ignored --nocapture --test-threads=1
ls -l "$SHENHE_SHOTS_DIR"
