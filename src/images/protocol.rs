//! The one place that names ratatui-image types: encoders for half-blocks
//! and iTerm2, ratatui-image's framing around our own sixel
//! ([`super::sixel`]), the opaque [`Rendered`] preview, and the widget that
//! draws it. Kitty goes through our own [`super::kitty`] (ids, ledger).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use image::{DynamicImage, RgbImage};
use ratatui::buffer::{Buffer, CellDiffOption};
use ratatui::layout::{Rect, Size};
use ratatui::widgets::Widget;
use ratatui_image::Image;
use ratatui_image::protocol::Protocol;
use ratatui_image::protocol::halfblocks::Halfblocks;
use ratatui_image::protocol::iterm2::Iterm2;

use super::detect::PaneOffset;
use super::halfblocks::economise_halfblocks;
use super::kitty::{self, KittyImage, KittyLedger};
use super::target::{Layout, RenderTarget};
use super::{ImageError, ProtocolKind};

/// Terminal memory we let kitty images take (RGBA bytes as the terminal
/// stores them); older images are deleted past it.
pub const KITTY_TERMINAL_BUDGET: usize = 192 * 1024 * 1024;

enum Payload {
    Protocol(Protocol),
    /// A complete sixel image (`ESC P … ESC \`), unwrapped: the frame
    /// (erase, tmux passthrough, the outer cursor) is added when drawn,
    /// because where the pane sits on the outer terminal can change.
    Sixel(String),
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
    limited: Option<(u32, u32)>,
    /// The canvas's pixels, and where the picture sits on it (x, y, w, h).
    canvas: (u32, u32),
    picture: (u32, u32, u32, u32),
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

    /// Drawn smaller than its area to stay within the terminal's sixel
    /// limit (in pixels): the pane says so.
    pub fn limited(&self) -> Option<(u32, u32)> {
        self.0.limited
    }

    /// The canvas the encoder got, in pixels, and the picture's place on
    /// it (x, y, w, h); zero for a kitty image placed again by id.
    pub fn canvas(&self) -> ((u32, u32), (u32, u32, u32, u32)) {
        (self.0.canvas, self.0.picture)
    }

    /// The kitty image id, for kitty previews.
    pub fn kitty_id(&self) -> Option<u32> {
        match &self.0.payload {
            Payload::Kitty(k) => Some(k.id),
            Payload::Protocol(_) | Payload::Sixel(_) => None,
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
        placeholders: bool,
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
                placeholders,
            }),
            payload_bytes: 0,
            limited: None,
            canvas: (0, 0),
            picture: (0, 0, 0, 0),
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
            let opts = super::sixel::Options {
                colours: super::sixel::DEFAULT
                    .colours
                    .min(usize::from(target.colours.max(2))),
                ..super::sixel::DEFAULT
            };
            let data = super::sixel::encode(&canvas, &opts);
            let n = data.len();
            (Payload::Sixel(data), n)
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
                target.kitty_placeholders,
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
        limited: l.limited,
        canvas: l.canvas,
        picture: (l.at.0, l.at.1, l.view.out.0, l.view.out.1),
    })))
}

/// The cells' text is erased first (ECH per row, then back up): stale text
/// under a sixel would otherwise show through its transparent margins.
/// Inside tmux this goes to tmux, which erases its copy of the cells too.
fn erase_cells(out: &mut String, cells: Size) {
    use std::fmt::Write as _;
    for _ in 0..cells.height {
        let _ = write!(out, "\x1b[{}X\x1b[1B", cells.width);
    }
    let _ = write!(out, "\x1b[{}A", cells.height);
}

/// A sixel as written into the first cell of its place: erased cells, then
/// the image, through tmux passthrough with the outer terminal's cursor
/// moved to the place first when `pane` is given (tmux does not move the
/// outer cursor for a passed-through sequence).
fn sixel_frame(six: &str, cells: Size, place: Rect, pane: Option<PaneOffset>) -> String {
    let mut out =
        String::with_capacity(six.len() + six.len() / 16 + 16 * usize::from(cells.height) + 48);
    erase_cells(&mut out, cells);
    match pane {
        None => out.push_str(six),
        Some(p) => {
            use std::fmt::Write as _;
            out.push_str("\x1bPtmux;");
            let _ = write!(out, "\x1b\x1b[{};{}H", p.y + place.y + 1, p.x + place.x + 1);
            for ch in six.chars() {
                if ch == '\x1b' {
                    out.push('\x1b');
                }
                out.push(ch);
            }
            out.push_str("\x1b\\");
        }
    }
    out
}

/// Put `data` in the first cell of `area` and leave the rest to the
/// terminal's picture (ratatui skips them).
fn paint_first_cell(data: &str, area: Rect, buf: &mut Buffer) {
    let one = CellDiffOption::ForcedWidth(std::num::NonZeroU16::MIN);
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let Some(cell) = buf.cell_mut((x, y)) else {
                continue;
            };
            if (x, y) == (area.x, area.y) {
                cell.set_symbol(data).set_diff_option(one);
            } else {
                cell.set_diff_option(CellDiffOption::Skip);
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Image(u64),
    Cleared,
}

#[derive(Debug)]
struct Surface {
    kitty: KittyLedger,
    /// Pictures go through tmux passthrough to the terminal outside.
    tmux: bool,
    /// Where our tmux pane sits on the outer terminal.
    pane: PaneOffset,
    /// What each image area showed last frame, to clear sixel/iTerm2 debris
    /// exactly once when that changes.
    shown: HashMap<Rect, Shown>,
    /// The kitty image placed at a cell (classic placement) and where:
    /// it stays on screen until deleted, so it is deleted when the frame
    /// no longer draws it there.
    placed: Option<(u32, Rect)>,
    /// A classic placement was drawn in the frame being made.
    placed_this_frame: bool,
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
            pane: PaneOffset::default(),
            shown: HashMap::new(),
            placed: None,
            placed_this_frame: false,
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
        s.placed = None;
    }

    /// Our tmux pane now starts at `pane` on the outer terminal. Returns
    /// whether that moved it (then everything must be drawn again).
    pub fn set_pane(&self, pane: PaneOffset) -> bool {
        let mut s = self.lock();
        let moved = s.pane != pane;
        s.pane = pane;
        moved
    }

    /// Before drawing a frame.
    pub fn begin_frame(&self) {
        self.lock().placed_this_frame = false;
    }

    /// After drawing a frame: what must still be written so the terminal
    /// shows nothing the frame did not draw (a classic kitty placement the
    /// frame left out: another screen, a popup). Empty when nothing.
    pub fn end_frame(&self) -> String {
        let mut s = self.lock();
        if s.placed_this_frame {
            return String::new();
        }
        match s.placed.take() {
            Some((id, _)) => kitty::unplace_sequence(id, s.tmux),
            None => String::new(),
        }
    }

    /// Take every picture off the outer terminal (tmux shows another
    /// window and passes nothing through from ours): the sequence to write
    /// to that terminal directly, unwrapped.
    pub fn take_down_direct(&self) -> String {
        let mut s = self.lock();
        s.shown.clear();
        match s.placed.take() {
            Some((id, _)) => kitty::unplace_sequence(id, false),
            None => String::new(),
        }
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

impl Rendered {
    /// Pictures the terminal paints over cells it no longer tracks as
    /// text (sixel, iTerm2) or on top of them (a classic kitty placement):
    /// hidden under a popup, erased when they change.
    fn paints_over(&self) -> bool {
        match &self.0.payload {
            Payload::Kitty(k) => !k.placeholders,
            _ => self.0.protocol.paints_over_cells(),
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
        let paints_over = r.paints_over();
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
            // (Placeholder and half-block pictures are cells ratatui diffs.)
            force_rewrite(area, buf, Some(place));
        }
        s.shown.insert(area, Shown::Image(r.key()));
        let pane = s.tmux.then_some(s.pane);

        match &r.0.payload {
            Payload::Protocol(p) => {
                Image::new(p).render(place, buf);
                if r.protocol() == ProtocolKind::Halfblocks {
                    economise_halfblocks(place, buf);
                }
            }
            Payload::Sixel(six) => {
                paint_first_cell(&sixel_frame(six, r.0.cells, place, pane), place, buf);
            }
            Payload::Kitty(k) => {
                let tmux = s.tmux;
                let mut prefix = String::new();
                for id in s.kitty.take_deletes() {
                    prefix.push_str(&kitty::delete_sequence(id, tmux));
                }
                let fresh = s.kitty.holds(k.id).is_none();
                if !fresh {
                    s.kitty.touch(k.id);
                } else if let Some(t) = &k.transmit {
                    prefix.push_str(t);
                    s.kitty.mark_sent(k, t.len());
                }
                if k.placeholders {
                    let prefix = (!prefix.is_empty()).then_some(prefix.as_str());
                    kitty::render_placeholders(k.id, k.cells, place, buf, prefix);
                } else {
                    s.placed_this_frame = true;
                    if fresh || s.placed != Some((k.id, place)) {
                        if let Some((old, _)) = s.placed.filter(|(old, _)| *old != k.id) {
                            prefix.push_str(&kitty::unplace_sequence(old, tmux));
                        }
                        let at = pane.map(|p| (p.y + place.y + 1, p.x + place.x + 1));
                        prefix.push_str(&kitty::place_sequence(k.id, k.cells, tmux, at));
                        s.placed = Some((k.id, place));
                    }
                    kitty::render_classic(place, buf, &prefix);
                }
            }
        }
    }
}
