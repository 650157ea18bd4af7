#!/usr/bin/env bash
# Our sixel, and chafa's, drawn by a real terminal: xterm (as a VT340, 256
# colour registers) on a virtual X display, screenshotted and compared with
# the pixels both encoders were given. Checks what decoders alone cannot:
# that a real terminal paints our overpainted bands as libsixel decodes them.
#
#   apt-get install xterm xvfb x11-apps netpbm chafa libsixel-bin
#   bench/xterm_sixel.sh                    # fixtures at 60x30
#   FILES="a.jpg" CELLS=120x45 bench/xterm_sixel.sh
set -euo pipefail
cd "$(dirname "$0")/.."

FILES=${FILES:-"tests/fixtures/images/scan_a4.jpg tests/fixtures/images/id_card.jpg"}
CELLS=${CELLS:-60x30}
TOOLS=bench/imgtools.py
for t in xterm Xvfb xwd xwdtopnm chafa sixel2png python3; do
    command -v "$t" >/dev/null || { echo "missing: $t (apt-get install xterm xvfb x11-apps netpbm chafa libsixel-bin)" >&2; exit 1; }
done
cargo build --release --quiet --bin shenhe
BIN=target/release/shenhe
TMP=$(mktemp -d)
DISP=:$((90 + RANDOM % 9))
Xvfb "$DISP" -screen 0 1600x1200x24 >/dev/null 2>&1 &
XPID=$!
trap 'kill $XPID 2>/dev/null; rm -rf "$TMP"' EXIT
sleep 1

# Draw a sixel file in a fresh xterm and screenshot it while it is shown.
shot() {
    DISPLAY=$DISP xterm -ti vt340 -xrm 'XTerm*numColorRegisters: 256' \
        -xrm 'XTerm*maxGraphicSize: 2000x2000' -geometry 200x70+0+0 \
        -e sh -c "printf '\033[2J\033[H'; cat '$1'; sleep 4" &
    local pid=$!
    sleep 3
    DISPLAY=$DISP xwd -root -silent | xwdtopnm >"$2" 2>/dev/null
    wait "$pid" || true
}

echo "sixel drawn by $(xterm -version) as a VT340: PSNR against the encoders' input;"
echo "'same' is the share of pixels within 2 levels of libsixel's decode of the same file"
for f in $FILES; do
    $BIN render-image "$f" --protocol kitty --cells "$CELLS" --font-size 10x20 >"$TMP/k.out"
    read -r cw ch < <(python3 "$TOOLS" kitty-canvas "$TMP/k.out" "$TMP/canvas.ppm")
    python3 "$TOOLS" ppm-to-png "$TMP/canvas.ppm" "$TMP/canvas.png"
    $BIN render-image "$f" --protocol sixel --cells "$CELLS" --font-size 10x20 >"$TMP/ours.out"
    python3 "$TOOLS" dcs "$TMP/ours.out" "$TMP/ours.six"
    # chafa learns the cell size only from a tty (see compare.sh).
    python3 "$TOOLS" crop60 "$TMP/canvas.ppm" "$TMP/c60.ppm" "$TMP/c60.png"
    python3 "$TOOLS" with-pty 10x20 -- sh -c \
        "chafa -f sixel -s $((cw / 10))x$((ch / 20)) --scale 1 '$TMP/c60.png' 2>\"\$SHENHE_PTY\" >'$TMP/chafa.out'"
    python3 "$TOOLS" dcs "$TMP/chafa.out" "$TMP/chafa.six"
    sixel2png -i "$TMP/ours.six" -o "$TMP/ours_lib.png"
    shot "$TMP/ours.six" "$TMP/ours.ppm"
    shot "$TMP/chafa.six" "$TMP/chafa.ppm"
    read -r ours ox oy < <(python3 "$TOOLS" find "$TMP/ours.ppm" "$TMP/canvas.ppm")
    same=$(python3 "$TOOLS" agree "$TMP/ours.ppm" "$ox" "$oy" "$TMP/ours_lib.png")
    # chafa draws whole cells: compare the rows it covers.
    read -r theirs _ _ < <(python3 "$TOOLS" find "$TMP/chafa.ppm" "$TMP/c60.ppm")
    printf '  %-14s %s  shenhe %s dB, same %s%% (%d bytes)   chafa %s dB (%d bytes)\n' \
        "$(basename "$f")" "${cw}x${ch}" "$ours" "$same" "$(wc -c <"$TMP/ours.six")" \
        "$theirs" "$(wc -c <"$TMP/chafa.six")"
done
