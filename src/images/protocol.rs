//! The one place that names ratatui-image types: encoders for half-blocks
//! and iTerm2, ratatui-image's framing around our own sixel
//! ([`super::sixel`]), the opaque [`Rendered`] preview, and the widget that
//! draws it. Kitty goes through our own [`super::kitty`] (ids, ledger).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use image::{DynamicImage, RgbImage};
use ratatui::buffer::{Buffer, CellDiffOption};
use ratatui::layout::{Rect, Size};
use ratatui::style::Color;
use ratatui::widgets::Widget;
use ratatui_image::Image;
use ratatui_image::protocol::Protocol;
use ratatui_image::protocol::halfblocks::Halfblocks;
use ratatui_image::protocol::iterm2::Iterm2;
use ratatui_image::protocol::sixel::Sixel;

use super::kitty::{self, KittyImage, KittyLedger};
use super::target::{Layout, RenderTarget};
use super::{ImageError, ProtocolKind};

/// Terminal memory we let kitty images take (RGBA bytes as the terminal
/// stores them); older images are deleted past it.
pub const KITTY_TERMINAL_BUDGET: usize = 192 * 1024 * 1024;

enum Payload {
    Protocol(Protocol),
    Kitty(KittyImage),
}

struct Inner {
    key: u64,
    protocol: ProtocolKind,
    area: Size,
    cells: Size,
    source_size: (u32, u32),
    payload: Payload,
    payload_bytes: usize,
}

/// An encoded preview, ready to draw. Cheap to clone (shared), `Send` and
/// `Sync`: it is made on a blocking thread and drawn on the UI thread.
#[derive(Clone)]
pub struct Rendered(Arc<Inner>);

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendered")
            .field("protocol", &self.0.protocol)
            .field("area", &self.0.area)
            .field("cells", &self.0.cells)
            .field("source_size", &self.0.source_size)
            .field("payload_bytes", &self.0.payload_bytes)
            .finish()
    }
}

impl Rendered {
    /// Identifies the preview (content, area, view, protocol).
    pub fn key(&self) -> u64 {
        self.0.key
    }

    pub fn protocol(&self) -> ProtocolKind {
        self.0.protocol
    }

    /// The area it was made for, in cells.
    pub fn area(&self) -> Size {
        self.0.area
    }

    /// The cells the picture covers (centred in the area).
    pub fn cells(&self) -> Size {
        self.0.cells
    }

    /// The upright source's pixel size (EXIF applied, before any view
    /// rotation): what the view model's [`super::Geometry`] wants.
    pub fn source_size(&self) -> (u32, u32) {
        self.0.source_size
    }

    /// Bytes of escape sequences that drawing this image fresh carries (the
    /// sixel or iTerm2 data, the kitty transmission; for half-blocks an
    /// estimate of the cells). A re-placed kitty image carries none.
    pub fn payload_bytes(&self) -> usize {
        self.0.payload_bytes
    }

    /// The kitty image id, for kitty previews.
    pub fn kitty_id(&self) -> Option<u32> {
        match &self.0.payload {
            Payload::Kitty(k) => Some(k.id),
            Payload::Protocol(_) => None,
        }
    }

    /// Where the picture goes inside `area`: centred, clipped to `area`.
    pub fn placement(&self, area: Rect) -> Rect {
        let c = self.0.cells;
        let w = c.width.min(area.width);
        let h = c.height.min(area.height);
        Rect::new(
            area.x + (area.width - w) / 2,
            area.y + (area.height - h) / 2,
            w,
            h,
        )
    }

    /// Approximate memory held, for the encoded-output cache.
    pub fn weight(&self) -> usize {
        self.0.payload_bytes + 256
    }

    /// A kitty preview the terminal already holds: placement only, no pixels.
    pub(crate) fn kitty_placed(
        key: u64,
        id: u32,
        area: Size,
        cells: Size,
        source_size: (u32, u32),
    ) -> Rendered {
        Rendered(Arc::new(Inner {
            key,
            protocol: ProtocolKind::Kitty,
            area,
            cells,
            source_size,
            payload: Payload::Kitty(KittyImage {
                id,
                cells,
                transmit: None,
                terminal_bytes: 0,
                compressed: false,
            }),
            payload_bytes: 0,
        }))
    }
}

fn encode_err(protocol: ProtocolKind, e: impl std::fmt::Display) -> ImageError {
    ImageError::Encode {
        protocol,
        message: e.to_string(),
    }
}

/// Encode a canvas (exactly the layout's pixels) for the target protocol.
pub fn encode(
    canvas: RgbImage,
    l: &Layout,
    target: &RenderTarget,
    key: u64,
    source_size: (u32, u32),
) -> Result<Rendered, ImageError> {
    let p = target.protocol;
    let cells = l.cells;
    let (payload, payload_bytes) = match p {
        ProtocolKind::Halfblocks => {
            let hb = Halfblocks::new(DynamicImage::ImageRgb8(canvas), cells)
                .map_err(|e| encode_err(p, e))?;
            // Roughly what a fresh draw costs: a colour change or two and a
            // character per cell (measured exactly by `draw_bytes`).
            let est = usize::from(cells.width) * usize::from(cells.height) * 12;
            (Payload::Protocol(Protocol::Halfblocks(hb)), est)
        }
        ProtocolKind::Sixel => {
            let data = sixel_data(&canvas, cells, target.tmux);
            let n = data.len();
            let s = Sixel {
                data,
                size: cells,
                is_tmux: target.tmux,
            };
            (Payload::Protocol(Protocol::Sixel(s)), n)
        }
        ProtocolKind::Iterm2 => {
            let s = Iterm2::new(DynamicImage::ImageRgb8(canvas), cells, target.tmux)
                .map_err(|e| encode_err(p, e))?;
            let n = s.data.len();
            (Payload::Protocol(Protocol::ITerm2(s)), n)
        }
        ProtocolKind::Kitty => {
            let k = kitty::encode(
                &canvas,
                cells,
                kitty::image_id(key),
                target.tmux,
                target.kitty_zlib,
            );
            let n = k.transmit.as_ref().map_or(0, |t| t.len());
            (Payload::Kitty(k), n)
        }
    };
    Ok(Rendered(Arc::new(Inner {
        key,
        protocol: p,
        area: l.area,
        cells,
        source_size,
        payload,
        payload_bytes,
    })))
}

/// Sixel for exactly these pixels: our encoder (see [`super::sixel`]), then
/// ratatui-image's framing (erase the cells first, tmux passthrough).
fn sixel_data(canvas: &RgbImage, cells: Size, tmux: bool) -> String {
    let six = super::sixel::encode(canvas, &super::sixel::DEFAULT);
    let (start, esc, end) = if tmux {
        ("\x1bPtmux;", "\x1b\x1b", "\x1b\\")
    } else {
        ("", "\x1b", "")
    };
    let mut out = String::with_capacity(six.len() + 16 * usize::from(cells.height) + 32);
    out.push_str(start);
    // Erase the cells first (ECH per row, then back up): stale text under a
    // sixel would otherwise show through its transparent margins.
    for _ in 0..cells.height {
        out.push_str(&format!("{esc}[{}X{esc}[1B", cells.width));
    }
    out.push_str(&format!("{esc}[{}A", cells.height));
    if tmux {
        out.push_str(&six.replace('\x1b', "\x1b\x1b"));
    } else {
        out.push_str(&six);
    }
    out.push_str(end);
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Image(u64),
    Cleared,
}

#[derive(Debug)]
struct Surface {
    kitty: KittyLedger,
    tmux: bool,
    /// What each image area showed last frame, to clear sixel/iTerm2 debris
    /// exactly once when that changes.
    shown: HashMap<Rect, Shown>,
}

/// What the terminal holds: kitty images by id, and which picture each image
/// area showed last. One per terminal; cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct TerminalImages(Arc<Mutex<Surface>>);

impl TerminalImages {
    pub fn new(tmux: bool) -> Self {
        Self::with_kitty_budget(tmux, KITTY_TERMINAL_BUDGET)
    }

    pub fn with_kitty_budget(tmux: bool, budget: usize) -> Self {
        TerminalImages(Arc::new(Mutex::new(Surface {
            kitty: KittyLedger::new(budget),
            tmux,
            shown: HashMap::new(),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Surface> {
        // A panic while drawing must not take the previews down with it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cells a kitty image was placed with, if the terminal holds it.
    pub fn kitty_holds(&self, id: u32) -> Option<Size> {
        self.lock().kitty.holds(id)
    }

    /// The terminal lost its images (tmux attached to another client, a
    /// `reset`): send pixels again from now on, and redraw every area.
    pub fn forget_all(&self) {
        let mut s = self.lock();
        s.kitty.forget_all();
        s.shown.clear();
    }

    /// Kitty image bytes transmitted so far.
    pub fn kitty_transmitted_bytes(&self) -> u64 {
        self.lock().kitty.transmitted_bytes()
    }

    /// How many kitty images the terminal holds for us.
    pub fn kitty_images_held(&self) -> usize {
        self.lock().kitty.len()
    }
}

/// Draws a [`Rendered`] centred in its area.
///
/// - `hidden(true)` while a popup is open: sixel and iTerm2 pictures are
///   painted over cells the popup would not erase, so they are taken down
///   (the area's cells are rewritten once) and come back when shown again.
///   Kitty and half-block pictures are plain cells and stay (the popup
///   simply covers them).
/// - [`ImageWidget::empty`] for an area with nothing to show yet (loading,
///   error): clears what a previous picture left.
pub struct ImageWidget<'a> {
    rendered: Option<&'a Rendered>,
    terminal: &'a TerminalImages,
    hidden: bool,
}

impl<'a> ImageWidget<'a> {
    pub fn new(rendered: &'a Rendered, terminal: &'a TerminalImages) -> Self {
        ImageWidget {
            rendered: Some(rendered),
            terminal,
            hidden: false,
        }
    }

    pub fn empty(terminal: &'a TerminalImages) -> Self {
        ImageWidget {
            rendered: None,
            terminal,
            hidden: false,
        }
    }

    pub fn hidden(mut self, hidden: bool) -> Self {
        self.hidden = hidden;
        self
    }
}

/// Make ratatui rewrite these cells this frame even if they look unchanged:
/// the terminal shows picture pixels there, not what the buffer remembers.
fn force_rewrite(area: Rect, buf: &mut Buffer, except: Option<Rect>) {
    let area = area.intersection(buf.area);
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            if except.is_some_and(|e| e.contains((x, y).into())) {
                continue;
            }
            if let Some(cell) = buf.cell_mut((x, y)) {
                cell.set_diff_option(CellDiffOption::AlwaysUpdate);
            }
        }
    }
}

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
fn economise_halfblocks(area: Rect, buf: &mut Buffer) {
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

impl Widget for ImageWidget<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.is_empty() {
            return;
        }
        let mut s = self.terminal.lock();
        if s.shown.len() > 64 {
            // Areas change with the terminal size; old ones mean nothing.
            s.shown.clear();
        }
        let prev = s.shown.get(&area).copied();

        let Some(r) = self.rendered else {
            if matches!(prev, Some(Shown::Image(_))) {
                force_rewrite(area, buf, None);
            }
            s.shown.insert(area, Shown::Cleared);
            return;
        };
        let paints_over = r.protocol().paints_over_cells();
        if self.hidden && paints_over {
            if matches!(prev, Some(Shown::Image(_))) {
                force_rewrite(area, buf, None);
            }
            s.shown.insert(area, Shown::Cleared);
            return;
        }

        let place = r.placement(area);
        if paints_over && prev != Some(Shown::Image(r.key())) && prev.is_some() {
            // The previous picture may have covered cells this one does not.
            // (Kitty and half-block pictures are cells ratatui diffs itself.)
            force_rewrite(area, buf, Some(place));
        }
        s.shown.insert(area, Shown::Image(r.key()));

        match &r.0.payload {
            Payload::Protocol(p) => {
                Image::new(p).render(place, buf);
                if r.protocol() == ProtocolKind::Halfblocks {
                    economise_halfblocks(place, buf);
                }
            }
            Payload::Kitty(k) => {
                let tmux = s.tmux;
                let mut prefix = String::new();
                for id in s.kitty.take_deletes() {
                    prefix.push_str(&kitty::delete_sequence(id, tmux));
                }
                if s.kitty.holds(k.id).is_some() {
                    s.kitty.touch(k.id);
                } else if let Some(t) = &k.transmit {
                    prefix.push_str(t);
                    s.kitty.mark_sent(k, t.len());
                }
                let prefix = (!prefix.is_empty()).then_some(prefix.as_str());
                kitty::render_placeholders(k.id, k.cells, place, buf, prefix);
            }
        }
    }
}
