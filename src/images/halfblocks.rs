//! Half-block cells spelt with as few colour changes as possible: the
//! bytes a half-block picture costs are mostly SGR sequences.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;

/// Largest per-channel difference at which a half-block keeps the colour
/// already set instead of sending a new one: below what anyone sees at cell
/// resolution, and it turns the noise of a scanned page into runs.
pub const HALFBLOCK_TOLERANCE: u8 = 10;

fn close(a: Color, b: Color) -> bool {
    match (a, b) {
        (Color::Rgb(r1, g1, b1), Color::Rgb(r2, g2, b2)) => {
            r1.abs_diff(r2) <= HALFBLOCK_TOLERANCE
                && g1.abs_diff(g2) <= HALFBLOCK_TOLERANCE
                && b1.abs_diff(b2) <= HALFBLOCK_TOLERANCE
        }
        (a, b) => a == b,
    }
}

/// Re-spell half-block cells so the terminal gets as few colour changes as
/// possible. A cell showing `upper` over `lower` can be `▀` (fg upper, bg
/// lower) or `▄` (fg lower, bg upper); a flat cell can be a space (bg only)
/// or `█` (fg only); and a colour within [`HALFBLOCK_TOLERANCE`] of the one
/// already set is kept. Walking each row in the order ratatui writes it, the
/// cheapest spelling wins: on a scan, paper is set once per run instead of
/// once per cell.
pub fn economise_halfblocks(area: Rect, buf: &mut Buffer) {
    // Bytes of one truecolour SGR, and of the characters.
    const SGR: usize = 18;
    // (bytes, colour to use): keep the current colour when it is close.
    let pick = |cur: Option<Color>, want: Color| match cur {
        Some(c) if close(c, want) => (0, c),
        _ => (SGR, want),
    };
    for y in area.top()..area.bottom() {
        let (mut fg, mut bg): (Option<Color>, Option<Color>) = (None, None);
        for x in area.left()..area.right() {
            let Some(cell) = buf.cell_mut((x, y)) else {
                continue;
            };
            let (upper, lower) = match cell.symbol() {
                "\u{2580}" => (cell.fg, cell.bg),
                "\u{2584}" => (cell.bg, cell.fg),
                "\u{2588}" => (cell.fg, cell.fg),
                " " => (cell.bg, cell.bg),
                _ => continue,
            };
            let (sym, f, b) = if close(upper, lower) {
                let (sc, sb) = pick(bg, upper);
                let (fc, ff) = pick(fg, upper);
                // A space costs 1 byte, a full block 3.
                if sc < fc + 3 {
                    (" ", fg.unwrap_or(sb), sb)
                } else {
                    ("\u{2588}", ff, bg.unwrap_or(ff))
                }
            } else {
                let (tf_c, tf) = pick(fg, upper);
                let (tb_c, tb) = pick(bg, lower);
                let (bf_c, bf) = pick(fg, lower);
                let (bb_c, bb) = pick(bg, upper);
                if tf_c + tb_c <= bf_c + bb_c {
                    ("\u{2580}", tf, tb)
                } else {
                    ("\u{2584}", bf, bb)
                }
            };
            cell.set_symbol(sym).set_fg(f).set_bg(b);
            fg = Some(f);
            bg = Some(b);
        }
    }
}
