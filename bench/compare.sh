#!/usr/bin/env bash
# shenhe render-image side by side with chafa and viu, in one run, on the
# same files and cell sizes: time (hyperfine medians, or a Python timer),
# output bytes, and sixel quality (PSNR after decoding with libsixel).
#
#   bench/compare.sh                       # fixtures at 60x30 and 120x45
#   FILES="a.jpg b.png" CELLS="80x40" RUNS=30 bench/compare.sh
#   SIXEL_ONLY=1 bench/compare.sh          # sixel time, bytes, PSNR (no viu)
#
# Fairness: every tool gets the same file and the same cells at a 10x20 px
# font. chafa learns the cell size from a pty on its stderr (it reads no
# size from a pipe); viu is given the cells with -w/-h. For PSNR both sixel
# encoders get the same pixels: the canvas shenhe resized (taken from its
# own kitty output), so only the sixel encoding differs; both results are
# decoded by libsixel's sixel2png and compared with that canvas.
set -euo pipefail
cd "$(dirname "$0")/.."

FONT=10x20
FILES=${FILES:-"tests/fixtures/images/scan_a4.jpg tests/fixtures/images/id_card.jpg"}
CELLS=${CELLS:-"60x30 120x45"}
RUNS=${RUNS:-20}
TOOLS=bench/imgtools.py

if [ -z "${SHENHE_PTY:-}" ]; then
    missing=0
    need() {
        if ! command -v "$1" >/dev/null 2>&1; then
            echo "missing: $1   install with: $2" >&2
            missing=1
        fi
    }
    need python3 "apt-get install python3"
    need chafa "apt-get install chafa"
    [ -n "${SIXEL_ONLY:-}" ] || need viu "cargo install viu"
    need sixel2png "apt-get install libsixel-bin"
    need cargo "rustup (https://rustup.rs)"
    if ! command -v hyperfine >/dev/null 2>&1; then
        echo "note: hyperfine not found (apt-get install hyperfine); timing with a Python timer" >&2
    fi
    [ "$missing" = 0 ] || exit 1
    for f in $FILES; do
        [ -f "$f" ] || { echo "no such file: $f (run 'cargo test --test it images::' to write the fixtures)" >&2; exit 1; }
    done
    echo "building shenhe (release)..." >&2
    cargo build --release --quiet --bin shenhe
    exec python3 "$TOOLS" with-pty "$FONT" -- bash "$0" "$@"
fi

BIN=target/release/shenhe
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Time a set of commands (the first is ours); print medians and ratios.
timeit() {
    local label=$1
    shift
    echo "  $label"
    if command -v hyperfine >/dev/null 2>&1; then
        hyperfine --style none --warmup 3 --runs "$RUNS" --export-json "$TMP/h.json" "$@" >/dev/null 2>&1
        python3 "$TOOLS" ratios "$TMP/h.json"
    else
        local base="" t
        for c in "$@"; do
            t=$(python3 "$TOOLS" time "$RUNS" -- "$c")
            [ -n "$base" ] || base=$t
            printf '    %8.1f ms  x%5.2f  %s\n' "$t" "$(python3 -c "print($t/$base)")" "$c"
        done
    fi
}

bytes() { printf '    %9d bytes  %s\n' "$(sh -c "$1" | wc -c)" "$1"; }

echo "shenhe render-image vs chafa $(chafa --version | head -1 | awk '{print $3}')$(command -v viu >/dev/null && viu --version | awk '{print " vs viu " $2}'), font ${FONT}, ${RUNS} runs"
echo "ratios are time / shenhe's time (below 1: faster than shenhe)"
for f in $FILES; do
    for c in $CELLS; do
        cols=${c%x*}
        rows=${c#*x}
        echo
        echo "== $(basename "$f") ($(wc -c <"$f") bytes) at ${c} cells"
        ours() { echo "$BIN render-image $f --protocol $1 --cells $c --font-size $FONT"; }
        chafa_cmd() { echo "chafa $1 -s $c $f 2>$SHENHE_PTY"; }

        if [ -n "${SIXEL_ONLY:-}" ]; then
            timeit "sixel" \
                "$(ours sixel)" \
                "$(chafa_cmd "-f sixel")"
            echo "  output bytes"
            bytes "$(ours sixel)"
            bytes "$(chafa_cmd "-f sixel")"
        else
            timeit "half-blocks" \
                "$(ours halfblocks)" \
                "$(chafa_cmd "-f symbols --symbols vhalf -c full")" \
                "viu -b -w $cols -h $rows $f"
            timeit "sixel" \
                "$(ours sixel)" \
                "$(chafa_cmd "-f sixel")"
            timeit "kitty" \
                "$(ours kitty)" \
                "$(chafa_cmd "-f kitty")"
            timeit "iterm2" \
                "$(ours iterm2)" \
                "$(chafa_cmd "-f iterm")" \
                "TERM_PROGRAM=iTerm.app viu -w $cols -h $rows $f"

            echo "  output bytes"
            bytes "$(ours halfblocks)"
            bytes "$(chafa_cmd "-f symbols --symbols vhalf -c full")"
            bytes "viu -b -w $cols -h $rows $f"
            bytes "$(ours sixel)"
            bytes "$(chafa_cmd "-f sixel")"
            bytes "$(ours kitty)"
            bytes "$(chafa_cmd "-f kitty")"
            bytes "$(ours iterm2)"
            bytes "$(chafa_cmd "-f iterm")"
            bytes "TERM_PROGRAM=iTerm.app viu -w $cols -h $rows $f"

        fi

        # Sixel quality on identical pixels.
        $BIN render-image "$f" --protocol kitty --cells "$c" --font-size $FONT >"$TMP/k.out"
        read -r cw chh < <(python3 "$TOOLS" kitty-canvas "$TMP/k.out" "$TMP/canvas.ppm")
        $BIN render-image "$f" --protocol sixel --cells "$c" --font-size $FONT >"$TMP/ours.out"
        python3 "$TOOLS" dcs "$TMP/ours.out" "$TMP/ours.six"
        python3 "$TOOLS" crop60 "$TMP/canvas.ppm" "$TMP/canvas60.ppm" "$TMP/canvas60.png"
        h60=$((chh - chh % 60))
        chafa -f sixel -s "$((cw / 10))x$((h60 / 20))" --scale 1 "$TMP/canvas60.png" 2>"$SHENHE_PTY" >"$TMP/chafa.out"
        python3 "$TOOLS" dcs "$TMP/chafa.out" "$TMP/chafa.six"
        sixel2png -i "$TMP/ours.six" -o "$TMP/ours.png"
        sixel2png -i "$TMP/chafa.six" -o "$TMP/chafa.png"
        echo "  sixel PSNR against the ${cw}x${chh} canvas (decoded by sixel2png; chafa given its top ${cw}x${h60})"
        printf '    shenhe %s dB whole, %s dB on the top %sx%s  (%d bytes)\n' \
            "$(python3 "$TOOLS" psnr "$TMP/ours.png" "$TMP/canvas.ppm")" \
            "$(python3 "$TOOLS" psnr "$TMP/ours.png" "$TMP/canvas.ppm" 0 0 "$cw" "$h60")" "$cw" "$h60" \
            "$(wc -c <"$TMP/ours.six")"
        printf '    chafa  %s dB on the top %sx%s  (%d bytes)\n' \
            "$(python3 "$TOOLS" psnr "$TMP/chafa.png" "$TMP/canvas60.ppm" || echo n/a)" "$cw" "$h60" \
            "$(wc -c <"$TMP/chafa.six")"
    done
done
