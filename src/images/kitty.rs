//! Kitty graphics: transmit an image once under a stable id, then place it
//! again and again with Unicode placeholders (plain text cells, so ratatui
//! diffs them, tmux keeps them, and popups cover them without debris).
//!
//! Our own encoder rather than ratatui-image's, because a review session
//! revisits images: the id must be derived from the content and area (so the
//! same preview maps to the same terminal image), the terminal's copies must
//! be tracked (so a revisit sends no pixels), and the payload is RGB (3 bytes
//! a pixel, not 4) deflated only where that is smaller.

use std::fmt::Write as _;
use std::io::Write as _;

use base64::Engine as _;
use image::RgbImage;
use ratatui::buffer::{Buffer, CellDiffOption};
use ratatui::layout::{Rect, Size};
use ratatui::style::Color;

use super::cache::ByteLru;

/// The character kitty reserves for image placeholders.
pub const PLACEHOLDER: char = '\u{10EEEE}';

/// Base64 characters per chunk: the protocol's maximum.
const CHARS_PER_CHUNK: usize = 4096;

/// An image encoded for kitty: its id, the cells it covers, and the escape
/// sequence that transmits it (with a virtual placement, `U=1`).
#[derive(Debug, Clone)]
pub struct KittyImage {
    pub id: u32,
    pub cells: Size,
    /// Transmission, already wrapped for tmux when needed. `None` when the
    /// terminal is known to hold the image (a re-placement costs no pixels).
    pub transmit: Option<std::sync::Arc<str>>,
    /// What the terminal stores for it (RGBA), for the ledger's budget.
    pub terminal_bytes: usize,
    pub compressed: bool,
    /// Shown through Unicode placeholder cells (else a classic placement).
    pub placeholders: bool,
}

/// A stable image id for a preview key. The high byte travels as the third
/// diacritic, the low three bytes as the foreground colour; both are made
/// non-zero so that no id collides with the "no id" conventions of other
/// programs sharing the terminal.
pub fn image_id(key_hash: u64) -> u32 {
    let folded = (key_hash ^ (key_hash >> 32)) as u32;
    let hi = ((folded >> 24) & 0x7F) | 0x01;
    let lo = (folded & 0x00FF_FFFF) | 0x0000_0001;
    (hi << 24) | lo
}

fn tmux_wrap(out: &mut String, seq: &str, tmux: bool) {
    if tmux {
        out.push_str("\x1bPtmux;");
        out.push_str(&seq.replace('\x1b', "\x1b\x1b"));
        out.push_str("\x1b\\");
    } else {
        out.push_str(seq);
    }
}

fn zlib(raw: &[u8]) -> Option<Vec<u8>> {
    // Level 1: on scans it is several times faster than the default level
    // for a few percent more bytes, and it runs on the critical path.
    let mut enc = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(raw.len() / 4),
        flate2::Compression::fast(),
    );
    enc.write_all(raw).ok()?;
    enc.finish().ok()
}

/// Encode `rgb` (exactly the pixels the cells show) for transmission.
/// `zlib_ok`: the terminal said it inflates `o=z` payloads.
/// `placeholders`: transmit with a virtual placement (`U=1`) for Unicode
/// placeholder cells; otherwise transmit only (`a=t`), to be placed at the
/// cell with [`place_sequence`].
pub fn encode(
    rgb: &RgbImage,
    cells: Size,
    id: u32,
    tmux: bool,
    zlib_ok: bool,
    placeholders: bool,
) -> KittyImage {
    let raw = rgb.as_raw();
    let packed = if zlib_ok {
        zlib(raw).filter(|z| z.len() < raw.len())
    } else {
        None
    };
    let compressed = packed.is_some();
    let payload: &[u8] = packed.as_deref().unwrap_or(raw);
    let b64 = base64::engine::general_purpose::STANDARD.encode(payload);

    let chunks: Vec<&str> = b64
        .as_bytes()
        .chunks(CHARS_PER_CHUNK)
        // Base64 output is ASCII, so every byte boundary is a char boundary.
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    let mut out = String::with_capacity(b64.len() + chunks.len() * 40 + 80);
    let mut seq = String::with_capacity(CHARS_PER_CHUNK + 100);
    let n = chunks.len().max(1);
    for i in 0..n {
        seq.clear();
        let more = u8::from(i + 1 < n);
        // q=2: the terminal must not answer; a reply would arrive on stdin
        // as garbage keys in the middle of the review.
        if i == 0 {
            let _ = write!(
                seq,
                "\x1b_Gq=2,{},i={id},f=24,{}t=d,s={},v={},c={},r={},m={more};",
                if placeholders { "a=T,U=1" } else { "a=t" },
                if compressed { "o=z," } else { "" },
                rgb.width(),
                rgb.height(),
                cells.width,
                cells.height,
            );
        } else {
            let _ = write!(seq, "\x1b_Gq=2,m={more};");
        }
        seq.push_str(chunks.get(i).copied().unwrap_or(""));
        seq.push_str("\x1b\\");
        // tmux limits one passthrough sequence; wrapping each chunk keeps
        // every piece small.
        tmux_wrap(&mut out, &seq, tmux);
    }
    KittyImage {
        id,
        cells,
        transmit: Some(out.into()),
        terminal_bytes: rgb.width() as usize * rgb.height() as usize * 4,
        compressed,
        placeholders,
    }
}

/// Place image `id` (already transmitted) at the cursor over `cells`,
/// without moving the cursor (`C=1`); placement id 1, so placing it again
/// moves it rather than adding a copy. Inside tmux the outer terminal's
/// cursor is not where tmux's is: `at` (1-based row, column on the outer
/// terminal) moves it there inside the passthrough.
pub fn place_sequence(id: u32, cells: Size, tmux: bool, at: Option<(u16, u16)>) -> String {
    let mut seq = String::new();
    if let Some((row, col)) = at {
        let _ = write!(seq, "\x1b[{row};{col}H");
    }
    let _ = write!(
        seq,
        "\x1b_Gq=2,a=p,i={id},p=1,c={},r={},C=1\x1b\\",
        cells.width, cells.height
    );
    let mut out = String::new();
    tmux_wrap(&mut out, &seq, tmux);
    out
}

/// Take image `id`'s placements off the screen, keeping its data (placing
/// it again costs no pixels).
pub fn unplace_sequence(id: u32, tmux: bool) -> String {
    let mut out = String::new();
    tmux_wrap(&mut out, &format!("\x1b_Gq=2,a=d,d=i,i={id}\x1b\\"), tmux);
    out
}

/// Delete an image and its data from the terminal.
pub fn delete_sequence(id: u32, tmux: bool) -> String {
    let mut out = String::new();
    tmux_wrap(&mut out, &format!("\x1b_Gq=2,a=d,d=I,i={id}\x1b\\"), tmux);
    out
}

/// Draw placeholder cells for image `id` into `area` (clipped to the image's
/// cells). `prefix` (a transmission, deletions) rides in the first cell so it
/// reaches the terminal exactly when the placement does.
pub fn render_placeholders(
    id: u32,
    cells: Size,
    area: Rect,
    buf: &mut Buffer,
    prefix: Option<&str>,
) {
    let max = DIACRITICS.len() as u16;
    let width = area.width.min(cells.width).min(max);
    let height = area.height.min(cells.height).min(max);
    let [extra, r, g, b] = id.to_be_bytes();
    let fg = Color::Rgb(r, g, b);
    let one = CellDiffOption::ForcedWidth(std::num::NonZeroU16::MIN);
    let mut symbol = String::with_capacity(16);
    let mut prefix = prefix;
    for y in 0..height {
        for x in 0..width {
            let Some(cell) = buf.cell_mut((area.x + x, area.y + y)) else {
                continue;
            };
            symbol.clear();
            if let Some(p) = prefix.take() {
                symbol.push_str(p);
            }
            symbol.push(PLACEHOLDER);
            // The first cell of a row states row, column and the id's high
            // byte; the rest of the row inherits them (same colour).
            if x == 0 {
                symbol.push(diacritic(y));
                symbol.push(diacritic(0));
                symbol.push(diacritic(u16::from(extra)));
            }
            cell.set_symbol(&symbol)
                .set_fg(fg)
                .set_bg(Color::Reset)
                .set_diff_option(one);
        }
    }
}

/// The cells under a classic placement: blank text (the picture is drawn
/// above it), `prefix` (transmission, placement) riding in the first cell
/// so it reaches the terminal with the cursor there.
pub fn render_classic(area: Rect, buf: &mut Buffer, prefix: &str) {
    let one = CellDiffOption::ForcedWidth(std::num::NonZeroU16::MIN);
    let mut first = String::with_capacity(prefix.len() + 1);
    first.push_str(prefix);
    first.push(' ');
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let Some(cell) = buf.cell_mut((x, y)) else {
                continue;
            };
            cell.reset();
            if (x, y) == (area.x, area.y) && !prefix.is_empty() {
                cell.set_symbol(&first).set_diff_option(one);
            }
        }
    }
}

/// Which images the terminal holds, by id, with the cells each was placed
/// with. Bounded: past the budget the oldest are deleted from the terminal
/// (the deletion is sent with the next transmission).
#[derive(Debug)]
pub struct KittyLedger {
    held: ByteLru<u32, Size>,
    pending_deletes: Vec<u32>,
    transmitted_bytes: u64,
}

impl KittyLedger {
    /// `budget`: terminal memory (RGBA bytes) we allow ourselves to use.
    pub fn new(budget: usize) -> Self {
        KittyLedger {
            held: ByteLru::new(budget),
            pending_deletes: Vec::new(),
            transmitted_bytes: 0,
        }
    }

    /// The cells an image was placed with, if the terminal holds it.
    pub fn holds(&self, id: u32) -> Option<Size> {
        self.held.peek(&id).copied()
    }

    /// Record a transmission that is being written now.
    pub fn mark_sent(&mut self, img: &KittyImage, bytes_on_wire: usize) {
        self.transmitted_bytes += bytes_on_wire as u64;
        let evicted = self.held.insert(img.id, img.cells, img.terminal_bytes);
        self.pending_deletes.extend(evicted);
        self.pending_deletes.retain(|d| *d != img.id);
    }

    /// Mark as recently used (a re-placement).
    pub fn touch(&mut self, id: u32) {
        let _ = self.held.get(&id);
    }

    pub fn take_deletes(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.pending_deletes)
    }

    /// The terminal lost its images (tmux reattached elsewhere, `reset`):
    /// transmit again from now on.
    pub fn forget_all(&mut self) {
        self.held.clear();
        self.pending_deletes.clear();
    }

    /// Image payload bytes handed to the terminal so far.
    pub fn transmitted_bytes(&self) -> u64 {
        self.transmitted_bytes
    }

    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

fn diacritic(n: u16) -> char {
    DIACRITICS
        .get(usize::from(n))
        .copied()
        .unwrap_or(DIACRITICS[0])
}

/// Row/column diacritics from kitty's `rowcolumn-diacritics.txt` (the same
/// table ratatui-image carries, MIT).
static DIACRITICS: [char; 297] = [
    '\u{305}',
    '\u{30D}',
    '\u{30E}',
    '\u{310}',
    '\u{312}',
    '\u{33D}',
    '\u{33E}',
    '\u{33F}',
    '\u{346}',
    '\u{34A}',
    '\u{34B}',
    '\u{34C}',
    '\u{350}',
    '\u{351}',
    '\u{352}',
    '\u{357}',
    '\u{35B}',
    '\u{363}',
    '\u{364}',
    '\u{365}',
    '\u{366}',
    '\u{367}',
    '\u{368}',
    '\u{369}',
    '\u{36A}',
    '\u{36B}',
    '\u{36C}',
    '\u{36D}',
    '\u{36E}',
    '\u{36F}',
    '\u{483}',
    '\u{484}',
    '\u{485}',
    '\u{486}',
    '\u{487}',
    '\u{592}',
    '\u{593}',
    '\u{594}',
    '\u{595}',
    '\u{597}',
    '\u{598}',
    '\u{599}',
    '\u{59C}',
    '\u{59D}',
    '\u{59E}',
    '\u{59F}',
    '\u{5A0}',
    '\u{5A1}',
    '\u{5A8}',
    '\u{5A9}',
    '\u{5AB}',
    '\u{5AC}',
    '\u{5AF}',
    '\u{5C4}',
    '\u{610}',
    '\u{611}',
    '\u{612}',
    '\u{613}',
    '\u{614}',
    '\u{615}',
    '\u{616}',
    '\u{617}',
    '\u{657}',
    '\u{658}',
    '\u{659}',
    '\u{65A}',
    '\u{65B}',
    '\u{65D}',
    '\u{65E}',
    '\u{6D6}',
    '\u{6D7}',
    '\u{6D8}',
    '\u{6D9}',
    '\u{6DA}',
    '\u{6DB}',
    '\u{6DC}',
    '\u{6DF}',
    '\u{6E0}',
    '\u{6E1}',
    '\u{6E2}',
    '\u{6E4}',
    '\u{6E7}',
    '\u{6E8}',
    '\u{6EB}',
    '\u{6EC}',
    '\u{730}',
    '\u{732}',
    '\u{733}',
    '\u{735}',
    '\u{736}',
    '\u{73A}',
    '\u{73D}',
    '\u{73F}',
    '\u{740}',
    '\u{741}',
    '\u{743}',
    '\u{745}',
    '\u{747}',
    '\u{749}',
    '\u{74A}',
    '\u{7EB}',
    '\u{7EC}',
    '\u{7ED}',
    '\u{7EE}',
    '\u{7EF}',
    '\u{7F0}',
    '\u{7F1}',
    '\u{7F3}',
    '\u{816}',
    '\u{817}',
    '\u{818}',
    '\u{819}',
    '\u{81B}',
    '\u{81C}',
    '\u{81D}',
    '\u{81E}',
    '\u{81F}',
    '\u{820}',
    '\u{821}',
    '\u{822}',
    '\u{823}',
    '\u{825}',
    '\u{826}',
    '\u{827}',
    '\u{829}',
    '\u{82A}',
    '\u{82B}',
    '\u{82C}',
    '\u{82D}',
    '\u{951}',
    '\u{953}',
    '\u{954}',
    '\u{F82}',
    '\u{F83}',
    '\u{F86}',
    '\u{F87}',
    '\u{135D}',
    '\u{135E}',
    '\u{135F}',
    '\u{17DD}',
    '\u{193A}',
    '\u{1A17}',
    '\u{1A75}',
    '\u{1A76}',
    '\u{1A77}',
    '\u{1A78}',
    '\u{1A79}',
    '\u{1A7A}',
    '\u{1A7B}',
    '\u{1A7C}',
    '\u{1B6B}',
    '\u{1B6D}',
    '\u{1B6E}',
    '\u{1B6F}',
    '\u{1B70}',
    '\u{1B71}',
    '\u{1B72}',
    '\u{1B73}',
    '\u{1CD0}',
    '\u{1CD1}',
    '\u{1CD2}',
    '\u{1CDA}',
    '\u{1CDB}',
    '\u{1CE0}',
    '\u{1DC0}',
    '\u{1DC1}',
    '\u{1DC3}',
    '\u{1DC4}',
    '\u{1DC5}',
    '\u{1DC6}',
    '\u{1DC7}',
    '\u{1DC8}',
    '\u{1DC9}',
    '\u{1DCB}',
    '\u{1DCC}',
    '\u{1DD1}',
    '\u{1DD2}',
    '\u{1DD3}',
    '\u{1DD4}',
    '\u{1DD5}',
    '\u{1DD6}',
    '\u{1DD7}',
    '\u{1DD8}',
    '\u{1DD9}',
    '\u{1DDA}',
    '\u{1DDB}',
    '\u{1DDC}',
    '\u{1DDD}',
    '\u{1DDE}',
    '\u{1DDF}',
    '\u{1DE0}',
    '\u{1DE1}',
    '\u{1DE2}',
    '\u{1DE3}',
    '\u{1DE4}',
    '\u{1DE5}',
    '\u{1DE6}',
    '\u{1DFE}',
    '\u{20D0}',
    '\u{20D1}',
    '\u{20D4}',
    '\u{20D5}',
    '\u{20D6}',
    '\u{20D7}',
    '\u{20DB}',
    '\u{20DC}',
    '\u{20E1}',
    '\u{20E7}',
    '\u{20E9}',
    '\u{20F0}',
    '\u{2CEF}',
    '\u{2CF0}',
    '\u{2CF1}',
    '\u{2DE0}',
    '\u{2DE1}',
    '\u{2DE2}',
    '\u{2DE3}',
    '\u{2DE4}',
    '\u{2DE5}',
    '\u{2DE6}',
    '\u{2DE7}',
    '\u{2DE8}',
    '\u{2DE9}',
    '\u{2DEA}',
    '\u{2DEB}',
    '\u{2DEC}',
    '\u{2DED}',
    '\u{2DEE}',
    '\u{2DEF}',
    '\u{2DF0}',
    '\u{2DF1}',
    '\u{2DF2}',
    '\u{2DF3}',
    '\u{2DF4}',
    '\u{2DF5}',
    '\u{2DF6}',
    '\u{2DF7}',
    '\u{2DF8}',
    '\u{2DF9}',
    '\u{2DFA}',
    '\u{2DFB}',
    '\u{2DFC}',
    '\u{2DFD}',
    '\u{2DFE}',
    '\u{2DFF}',
    '\u{A66F}',
    '\u{A67C}',
    '\u{A67D}',
    '\u{A6F0}',
    '\u{A6F1}',
    '\u{A8E0}',
    '\u{A8E1}',
    '\u{A8E2}',
    '\u{A8E3}',
    '\u{A8E4}',
    '\u{A8E5}',
    '\u{A8E6}',
    '\u{A8E7}',
    '\u{A8E8}',
    '\u{A8E9}',
    '\u{A8EA}',
    '\u{A8EB}',
    '\u{A8EC}',
    '\u{A8ED}',
    '\u{A8EE}',
    '\u{A8EF}',
    '\u{A8F0}',
    '\u{A8F1}',
    '\u{AAB0}',
    '\u{AAB2}',
    '\u{AAB3}',
    '\u{AAB7}',
    '\u{AAB8}',
    '\u{AABE}',
    '\u{AABF}',
    '\u{AAC1}',
    '\u{FE20}',
    '\u{FE21}',
    '\u{FE22}',
    '\u{FE23}',
    '\u{FE24}',
    '\u{FE25}',
    '\u{FE26}',
    '\u{10A0F}',
    '\u{10A38}',
    '\u{1D185}',
    '\u{1D186}',
    '\u{1D187}',
    '\u{1D188}',
    '\u{1D189}',
    '\u{1D1AA}',
    '\u{1D1AB}',
    '\u{1D1AC}',
    '\u{1D1AD}',
    '\u{1D242}',
    '\u{1D243}',
    '\u{1D244}',
];

#[cfg(test)]
mod tests {
    use super::*;

    fn reassemble(seq: &str) -> (String, Vec<u8>) {
        let mut params = String::new();
        let mut payload = String::new();
        for (i, cmd) in seq.split("\x1b_G").skip(1).enumerate() {
            let cmd = cmd.strip_suffix("\x1b\\").expect("ST");
            let (p, data) = cmd.split_once(';').expect("payload");
            if i == 0 {
                params = p.to_string();
            }
            payload.push_str(data);
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .expect("base64");
        (params, bytes)
    }

    fn flat(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, _| image::Rgb([(x / 8 * 30) as u8, 200, 240]))
    }

    #[test]
    fn compressed_where_smaller_and_inflates_back() {
        let img = flat(64, 40);
        let k = encode(&img, Size::new(8, 2), 7, false, true, true);
        assert!(k.compressed);
        let (params, bytes) = reassemble(k.transmit.as_deref().expect("transmit"));
        assert!(
            params.contains("o=z") && params.contains("f=24"),
            "{params}"
        );
        assert!(params.contains("s=64,v=40,c=8,r=2"), "{params}");
        assert!(params.contains("q=2"), "{params}");
        let mut out = Vec::new();
        std::io::copy(&mut flate2::read::ZlibDecoder::new(&bytes[..]), &mut out).expect("zlib");
        assert_eq!(out, *img.as_raw());
    }

    #[test]
    fn raw_when_terminal_cannot_inflate_or_noise_does_not_shrink() {
        let img = flat(16, 16);
        let k = encode(&img, Size::new(2, 1), 9, false, false, true);
        assert!(!k.compressed);
        let (params, bytes) = reassemble(k.transmit.as_deref().expect("transmit"));
        assert!(!params.contains("o=z"));
        assert_eq!(bytes, *img.as_raw());

        // Incompressible noise stays raw even when o=z is allowed.
        let mut x = 0x1234_5678u32;
        let noise = RgbImage::from_fn(32, 32, |_, _| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let [a, b, c, _] = x.to_le_bytes();
            image::Rgb([a, b, c])
        });
        let k = encode(&noise, Size::new(4, 2), 9, false, true, true);
        assert!(!k.compressed);
    }

    #[test]
    fn tmux_wraps_every_chunk_with_doubled_escapes() {
        let img = flat(200, 200); // several chunks even compressed? use raw
        let k = encode(&img, Size::new(20, 10), 5, true, false, true);
        let t = k.transmit.as_deref().expect("transmit");
        let wraps = t.matches("\x1bPtmux;").count();
        assert!(wraps > 1);
        assert_eq!(wraps, t.matches("\x1b\x1b_G").count());
    }

    #[test]
    fn ids_are_stable_and_well_formed() {
        for h in [0u64, 1, u64::MAX, 0xDEAD_BEEF_0000_0000] {
            let id = image_id(h);
            assert_eq!(id, image_id(h));
            assert_ne!(id >> 24, 0);
            assert_ne!(id & 0xFF_FFFF, 0);
        }
    }

    #[test]
    fn placeholders_carry_id_in_colour_and_prefix_once() {
        let area = Rect::new(0, 0, 4, 3);
        let mut buf = Buffer::empty(area);
        let id = 0x0A0B_0C0D;
        render_placeholders(id, Size::new(3, 2), area, &mut buf, Some("<T>"));
        assert!(buf[(0, 0)].symbol().starts_with("<T>"));
        assert_eq!(buf[(1, 0)].symbol(), PLACEHOLDER.to_string());
        assert_eq!(buf[(2, 1)].style().fg, Some(Color::Rgb(0x0B, 0x0C, 0x0D)));
        let row1: Vec<char> = buf[(0, 1)].symbol().chars().collect();
        assert_eq!(
            row1,
            vec![PLACEHOLDER, diacritic(1), diacritic(0), diacritic(0x0A)]
        );
        // Outside the image's cells nothing is drawn.
        assert_eq!(buf[(3, 0)].symbol(), " ");
        assert_eq!(buf[(0, 2)].symbol(), " ");
    }

    #[test]
    fn ledger_tracks_held_images_and_deletes_past_budget() {
        let mut l = KittyLedger::new(1000);
        let mk = |id, bytes| KittyImage {
            id,
            cells: Size::new(1, 1),
            transmit: None,
            terminal_bytes: bytes,
            compressed: false,
            placeholders: true,
        };
        l.mark_sent(&mk(1, 400), 10);
        l.mark_sent(&mk(2, 400), 10);
        assert!(l.holds(1).is_some() && l.holds(2).is_some());
        l.touch(1);
        l.mark_sent(&mk(3, 400), 10);
        assert!(l.holds(2).is_none(), "least recently used was dropped");
        assert_eq!(l.take_deletes(), vec![2]);
        assert!(l.take_deletes().is_empty());
        assert_eq!(l.transmitted_bytes(), 30);
        l.forget_all();
        assert!(l.is_empty());
    }
}
