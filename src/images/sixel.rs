//! Our sixel encoder, made for document scans over slow links.
//!
//! Four choices make it smaller and faster than a general-purpose encoder
//! (icy_sixel, chafa) on the images reviewers look at:
//!
//! - **Palette**: median cut on a 15-bit histogram, refined by a few k-means
//!   rounds on the histogram bins (not the pixels), no dithering: dithering
//!   only adds noise to paper and text, and costs bytes.
//! - **Exact mapping**: each pixel goes to the nearest colour as a decoder
//!   shows it after sixel's percent rounding, searched only among the
//!   entries that can be nearest in its 4×4×4 colour cell.
//! - **Overpainting**: in each six-row band the colours are painted most
//!   frequent first, and a colour may also set the bits of pixels that a
//!   later colour paints over. Paper then costs one run (`!430~`) per band
//!   instead of a lace of gaps around every letter, and the other colours
//!   get longer runs too. Every sixel decoder paints only the bits that are
//!   set, in order, so the last colour written wins (checked in xterm by
//!   `bench/xterm_sixel.sh`).
//! - **Folding under a byte budget**: over budget, colours rare in a band
//!   are folded into a near colour present there, rarest first, as long as
//!   the error per byte saved stays under a bound chosen to fit.

use image::RgbImage;

/// What the console sends. Measured on the dense A4 scan and the ID card of
/// `tests/fixtures/images` at 60×30 and 120×45 cells, decoded back by
/// libsixel (`cargo run --release --example sixel_sweep`; `bench/README.md`).
pub const DEFAULT: Options = Options {
    colours: 48,
    merge: 0.0,
    bits_per_pixel: 4.5,
};

/// Lloyd rounds after the median cut; more rounds gained under 0.05 dB.
const KMEANS_ROUNDS: usize = 4;

/// How hard to squeeze.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Palette entries, 1–256.
    pub colours: usize,
    /// Squared error (summed over R, G, B) accepted per byte saved when a
    /// colour that is rare in a band is folded into a near one; 0 keeps
    /// every pixel's nearest colour.
    pub merge: f32,
    /// A byte budget, in bits per pixel of the image (0: none). Over it,
    /// `merge` is raised step by step until a sample of the bands says the
    /// whole fits: photos and sparse pages keep every colour, dense text
    /// gives up the rarest. 4.5 is 145 KB for a 430×600 pane.
    pub bits_per_pixel: f32,
}

/// The folding strengths tried, in order, to meet a byte budget.
const MERGE_LADDER: [f32; 10] = [
    16.0, 32.0, 48.0, 64.0, 96.0, 128.0, 192.0, 256.0, 384.0, 512.0,
];

/// A complete sixel image (`ESC P … ESC \`) for exactly these pixels,
/// 1:1 pixel aspect.
pub fn encode(img: &RgbImage, opts: &Options) -> String {
    let colours = opts.colours;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut out = String::with_capacity(w * h / 4 + 4096);
    // P1 = 9 (square pixels), P2 = 1 (bits left clear keep what is there),
    // then the raster attributes, which tmux and some terminals require.
    out.push_str("\x1bP9;1;0q\"1;1;");
    push_num(&mut out, w);
    out.push(';');
    push_num(&mut out, h);
    if w == 0 || h == 0 {
        out.push_str("\x1b\\");
        return out;
    }
    let palette = palette(img, colours.clamp(1, 256));
    for (i, c) in palette.iter().enumerate() {
        out.push('#');
        push_num(&mut out, i);
        out.push_str(";2");
        for p in c.percent {
            out.push(';');
            push_num(&mut out, usize::from(p));
        }
    }
    let shown: Vec<[u8; 3]> = palette.iter().map(|c| c.shown).collect();
    let indices = map_pixels(img, &shown);
    let mut bands = Bands::new(&indices, w, h, &shown);
    let mut merge = opts.merge;
    if opts.bits_per_pixel > 0.0 {
        let budget = (opts.bits_per_pixel * (w * h) as f32 / 8.0) as usize;
        // Aim 5% under: the dozen-band sample misses by up to that on a
        // dense scan (151 KB written for a 145 KB aim at 430×600).
        let spare = budget.saturating_sub(out.len()) * 95 / 100;
        if bands.projected_bytes(merge) > spare {
            // The weakest step that fits (bytes fall as folding grows),
            // found by bisection; the strongest if none does.
            let ladder: Vec<f32> = MERGE_LADDER.into_iter().filter(|&m| m > merge).collect();
            let (mut lo, mut hi) = (0, ladder.len().saturating_sub(1));
            while lo < hi {
                let mid = (lo + hi) / 2;
                if bands.projected_bytes(ladder[mid]) > spare {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            merge = ladder.get(lo).copied().unwrap_or(merge);
        }
    }
    for b in 0..bands.count() {
        if b > 0 {
            out.push('-');
        }
        bands.write(b, merge, &mut out);
    }
    out.push_str("\x1b\\");
    out
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// What the sixel palette says, in percent.
    percent: [u8; 3],
    /// What a decoder shows for that: `(p × 255 + 50) / 100` per channel.
    shown: [u8; 3],
}

fn entry(c: [f32; 3]) -> Entry {
    let percent = c.map(|v| (v.clamp(0.0, 255.0) * 100.0 / 255.0).round() as u8);
    let shown = percent.map(|p| ((u32::from(p) * 255 + 50) / 100) as u8);
    Entry { percent, shown }
}

/// A bin of the 15-bit histogram: how many pixels, and their mean colour.
#[derive(Debug, Clone, Copy)]
struct Bin {
    c: [f32; 3],
    w: f32,
}

fn histogram(img: &RgbImage) -> Vec<Bin> {
    let mut count = vec![0u32; 1 << 15];
    let mut sum = vec![[0u64; 3]; 1 << 15];
    for p in img.pixels() {
        let [r, g, b] = p.0;
        let k = (usize::from(r >> 3) << 10) | (usize::from(g >> 3) << 5) | usize::from(b >> 3);
        count[k] += 1;
        let s = &mut sum[k];
        s[0] += u64::from(r);
        s[1] += u64::from(g);
        s[2] += u64::from(b);
    }
    count
        .iter()
        .zip(&sum)
        .filter(|(n, _)| **n > 0)
        .map(|(&n, s)| {
            let w = n as f32;
            Bin {
                c: [s[0] as f32 / w, s[1] as f32 / w, s[2] as f32 / w],
                w,
            }
        })
        .collect()
}

/// Weighted mean and squared error of a set of bins.
fn stats(bins: &[Bin]) -> ([f32; 3], f32, [f32; 3]) {
    let mut w = 0.0f32;
    let mut m = [0.0f32; 3];
    for b in bins {
        w += b.w;
        for (mi, ci) in m.iter_mut().zip(b.c) {
            *mi += b.w * ci;
        }
    }
    if w > 0.0 {
        m = m.map(|v| v / w);
    }
    let mut var = [0.0f32; 3];
    for b in bins {
        for i in 0..3 {
            let d = b.c[i] - m[i];
            var[i] += b.w * d * d;
        }
    }
    (m, var.iter().sum(), var)
}

fn palette(img: &RgbImage, colours: usize) -> Vec<Entry> {
    let mut bins = histogram(img);
    // Median cut: split the box with the largest squared error along its
    // widest axis at the weighted median, until there are enough boxes.
    let mut boxes: Vec<(usize, usize, f32)> = vec![(0, bins.len(), stats(&bins).1)];
    while boxes.len() < colours {
        let Some((bi, _)) = boxes
            .iter()
            .enumerate()
            .filter(|(_, b)| b.1 - b.0 > 1)
            .max_by(|a, b| a.1.2.total_cmp(&b.1.2))
        else {
            break;
        };
        let (lo, hi, _) = boxes[bi];
        let part = &mut bins[lo..hi];
        let (_, _, var) = stats(part);
        let axis = (0..3)
            .max_by(|&a, &b| var[a].total_cmp(&var[b]))
            .unwrap_or(0);
        part.sort_unstable_by(|a, b| a.c[axis].total_cmp(&b.c[axis]));
        let half = part.iter().map(|b| b.w).sum::<f32>() / 2.0;
        let mut acc = 0.0;
        let mut cut = 1;
        for (i, b) in part.iter().enumerate() {
            acc += b.w;
            if acc >= half {
                cut = (i + 1).clamp(1, part.len() - 1);
                break;
            }
        }
        let mid = lo + cut;
        boxes[bi] = (lo, mid, stats(&bins[lo..mid]).1);
        boxes.push((mid, hi, stats(&bins[mid..hi]).1));
    }
    let mut centres: Vec<[f32; 3]> = boxes
        .iter()
        .map(|&(lo, hi, _)| stats(&bins[lo..hi]).0)
        .collect();
    // k-means on the bins (weighted), starting from the median cut.
    let mut sums = vec![[0.0f32; 4]; centres.len()];
    for _ in 0..KMEANS_ROUNDS {
        sums.iter_mut().for_each(|s| *s = [0.0; 4]);
        for b in &bins {
            let k = nearest_f(&centres, b.c);
            let s = &mut sums[k];
            for (si, ci) in s.iter_mut().zip(b.c) {
                *si += b.w * ci;
            }
            s[3] += b.w;
        }
        for (c, s) in centres.iter_mut().zip(&sums) {
            if s[3] > 0.0 {
                *c = [s[0] / s[3], s[1] / s[3], s[2] / s[3]];
            }
        }
    }
    // Most used first: they get the one-digit `#n` selectors.
    let mut order: Vec<usize> = (0..centres.len()).collect();
    order.sort_by(|&a, &b| sums[b][3].total_cmp(&sums[a][3]));
    let mut out: Vec<Entry> = Vec::with_capacity(centres.len());
    for c in order.into_iter().map(|i| centres[i]) {
        let e = entry(c);
        // Two centres that round to the same percent are one colour.
        if !out.iter().any(|o| o.percent == e.percent) {
            out.push(e);
        }
    }
    out
}

fn nearest_f(centres: &[[f32; 3]], c: [f32; 3]) -> usize {
    let mut best = 0;
    let mut best_d = f32::MAX;
    for (i, p) in centres.iter().enumerate() {
        let d = (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2) + (p[2] - c[2]).powi(2);
        if d < best_d {
            best_d = d;
            best = i;
        }
    }
    best
}

fn err2(a: [u8; 3], b: [u8; 3]) -> u32 {
    (0..3)
        .map(|k| {
            let d = i32::from(a[k]) - i32::from(b[k]);
            (d * d) as u32
        })
        .sum()
}

/// Each pixel's nearest palette colour, exactly, without searching the
/// whole palette per pixel: per 18-bit colour cell (a scan uses a few
/// thousand) the entries that can be nearest to some colour in the cell are
/// listed once, and a pixel searches only those (usually one or two).
fn map_pixels(img: &RgbImage, shown: &[[u8; 3]]) -> Vec<u8> {
    // `memo[cell]`: `offset << 9 | len` of the cell's candidates in `arena`;
    // a cell has at least one, so 0 is "not yet": a zeroed megabyte comes
    // from the allocator untouched, and only the pages of the few thousand
    // cells a picture uses are ever faulted in.
    const UNKNOWN: u32 = 0;
    let mut memo = vec![UNKNOWN; 1 << 18];
    let mut arena: Vec<u8> = Vec::new();
    let mut out: Vec<u8> = Vec::with_capacity(img.as_raw().len() / 3);
    // Scans repeat the same pixel along the paper: remember the last one.
    let mut last: Option<([u8; 3], u8)> = None;
    for p in img.pixels() {
        let c = p.0;
        if let Some((lc, li)) = last
            && lc == c
        {
            out.push(li);
            continue;
        }
        let [r, g, b] = c;
        let k = (usize::from(r >> 2) << 12) | (usize::from(g >> 2) << 6) | usize::from(b >> 2);
        let mut m = memo[k];
        if m == UNKNOWN {
            let start = arena.len();
            cell_candidates([r & !3, g & !3, b & !3], shown, &mut arena);
            m = ((start as u32) << 9) | (arena.len() - start) as u32;
            memo[k] = m;
        }
        let (off, len) = ((m >> 9) as usize, (m & 0x1ff) as usize);
        let cands = &arena[off..off + len];
        let mut pick = cands[0];
        if len > 1 {
            let mut best = u32::MAX;
            for &j in cands {
                let e = err2(c, shown[usize::from(j)]);
                if e < best {
                    best = e;
                    pick = j;
                }
            }
        }
        last = Some((c, pick));
        out.push(pick);
    }
    out
}

/// The palette entries that are nearest to at least one colour of the cell
/// `lo..=lo+3` per channel (a superset): an entry farther from the whole
/// cell than some other entry is from all of its corners never is.
fn cell_candidates(lo: [u8; 3], shown: &[[u8; 3]], arena: &mut Vec<u8>) {
    let mut near = [0u32; 256];
    let mut bound = u32::MAX;
    for (n, q) in near.iter_mut().zip(shown) {
        let (mut dn, mut df) = (0u32, 0u32);
        for j in 0..3 {
            let (v, a) = (i32::from(q[j]), i32::from(lo[j]));
            let inside = v.clamp(a, a + 3);
            let far = if v - a < a + 3 - v { a + 3 } else { a };
            dn += ((v - inside) * (v - inside)) as u32;
            df += ((v - far) * (v - far)) as u32;
        }
        *n = dn;
        bound = bound.min(df);
    }
    arena.extend(
        (0..shown.len())
            .filter(|&j| near[j] <= bound)
            .map(|j| j as u8),
    );
}

/// The sixel rows. Per six-pixel band: colours that are rare in the band
/// are folded into a near colour present there when the bytes saved are
/// worth the error (`merge`), then the band is written most frequent colour
/// first, each colour allowed to set bits that later colours overwrite.
struct Bands<'a> {
    indices: &'a [u8],
    w: usize,
    h: usize,
    colours: usize,
    /// Squared distances between palette colours, for folding.
    dist: Vec<u32>,
    band: Band,
    order: Vec<usize>,
}

impl<'a> Bands<'a> {
    fn new(indices: &'a [u8], w: usize, h: usize, shown: &[[u8; 3]]) -> Self {
        let colours = shown.len();
        let dist = (0..colours * colours)
            .map(|i| err2(shown[i / colours], shown[i % colours]))
            .collect();
        Bands {
            indices,
            w,
            h,
            colours,
            dist,
            band: Band {
                w,
                req: vec![0u8; colours * w],
                count: vec![0u32; colours],
                used: Vec::with_capacity(colours),
                painted: vec![0u8; w],
                cost: vec![0; colours],
            },
            order: Vec::with_capacity(colours),
        }
    }

    fn count(&self) -> usize {
        self.h.div_ceil(6)
    }

    /// Band `b`'s sixels (without the `-` between bands).
    fn write(&mut self, b: usize, merge: f32, out: &mut String) {
        let (w, band) = (self.w, &mut self.band);
        band.clear();
        let y0 = b * 6;
        let rows = (self.h - y0).min(6);
        band.fill(&self.indices[y0 * w..(y0 + rows) * w], rows);
        if merge > 0.0 {
            band.fold_rare(&self.dist, self.colours, merge);
        }
        // Rows past the image's bottom must stay clear.
        let outside = 0x3fu8 & !((1u8 << rows) - 1);
        // Most pixels first: the paper of a scan becomes one run. (Trying
        // light-to-dark and dark-to-light too and keeping the shortest saved
        // under 1% for 35% more time.)
        self.order.clear();
        self.order
            .extend(band.used.iter().copied().filter(|&c| band.count[c] > 0));
        self.order
            .sort_by(|&a, &c| band.count[c].cmp(&band.count[a]).then(a.cmp(&c)));
        band.write(out, &self.order, outside);
    }

    /// The whole image's band bytes at this folding strength, from about a
    /// dozen evenly spread bands.
    fn projected_bytes(&mut self, merge: f32) -> usize {
        let n = self.count();
        let step = (n / 12).max(1);
        let mut sample = String::new();
        let mut taken = 0;
        for b in (step / 2..n).step_by(step) {
            self.write(b, merge, &mut sample);
            taken += 1;
        }
        (sample.len() + taken) * n / taken.max(1)
    }
}

/// One six-pixel band being written.
struct Band {
    w: usize,
    /// `req[c * w + x]`: the bits colour c must set in column x.
    req: Vec<u8>,
    count: Vec<u32>,
    /// Colours present, in the order first seen (some may be folded away:
    /// count 0).
    used: Vec<usize>,
    /// Bits already painted by earlier colours: later ones leave them clear.
    painted: Vec<u8>,
    /// Scratch for folding: each colour's pass cost on its own.
    cost: Vec<i64>,
}

/// What a pass of these sixels costs written on its own (`$#nn`, then
/// runs up to the last non-empty column): the estimate folding weighs.
fn pass_cost(sixels: impl Iterator<Item = u8>) -> i64 {
    let mut cost = 4;
    let mut pending = 0i64;
    let mut run: Option<(u8, i64)> = None;
    let run_bytes = |len: i64| {
        if len > 3 {
            2 + len.ilog10() as i64 + 1
        } else {
            len
        }
    };
    for v in sixels {
        match run {
            Some((r, ref mut len)) if r == v => *len += 1,
            _ => {
                if let Some((r, len)) = run {
                    // Trailing empties are never written.
                    if r == 0 {
                        pending += run_bytes(len);
                    } else {
                        cost += pending + run_bytes(len);
                        pending = 0;
                    }
                }
                run = Some((v, 1));
            }
        }
    }
    if let Some((r, len)) = run
        && r != 0
    {
        cost += pending + run_bytes(len);
    }
    cost
}

impl Band {
    fn clear(&mut self) {
        let w = self.w;
        for &c in &self.used {
            self.req[c * w..(c + 1) * w].fill(0);
            self.count[c] = 0;
        }
        self.used.clear();
    }

    fn fill(&mut self, rows: &[u8], n: usize) {
        let w = self.w;
        for r in 0..n {
            let bit = 1u8 << r;
            for (x, &c) in rows[r * w..(r + 1) * w].iter().enumerate() {
                let c = usize::from(c);
                if self.count[c] == 0 {
                    self.used.push(c);
                }
                self.count[c] += 1;
                self.req[c * w + x] |= bit;
            }
        }
    }

    /// Fold each colour, rarest first, into the nearest colour still in the
    /// band when its squared error is at most `lambda` per byte saved.
    fn fold_rare(&mut self, dist: &[u32], colours: usize, lambda: f32) {
        let w = self.w;
        let mut by_count = self.used.clone();
        by_count.sort_by_key(|&c| (self.count[c], c));
        // Each colour's own pass cost, kept up to date as colours merge.
        for &c in &by_count {
            self.cost[c] = pass_cost(self.req[c * w..(c + 1) * w].iter().copied());
        }
        for (i, &c) in by_count.iter().enumerate() {
            let n = self.count[c];
            let Some(&into) = by_count[i + 1..]
                .iter()
                .filter(|&&o| self.count[o] > 0)
                .min_by_key(|&&o| dist[c * colours + o])
            else {
                break;
            };
            let a = &self.req[c * w..(c + 1) * w];
            let b = &self.req[into * w..(into + 1) * w];
            let error = (n as f32) * (dist[c * colours + into] as f32);
            // Merging saves at most both passes; most candidates stop here.
            if error > lambda * (self.cost[c] + self.cost[into]) as f32 {
                continue;
            }
            // Bytes saved, as if each pass were written on its own.
            let both = pass_cost(a.iter().zip(b).map(|(x, y)| x | y));
            if error > lambda * (self.cost[c] + self.cost[into] - both) as f32 {
                continue;
            }
            self.cost[into] = both;
            for x in 0..w {
                let bits = std::mem::take(&mut self.req[c * w + x]);
                self.req[into * w + x] |= bits;
            }
            self.count[into] += n;
            self.count[c] = 0;
        }
    }

    fn write(&mut self, out: &mut String, order: &[usize], outside: u8) {
        let w = self.w;
        self.painted.fill(outside);
        for (n, &c) in order.iter().enumerate() {
            if n > 0 {
                out.push('$');
            }
            out.push('#');
            push_num(out, c);
            let row = &self.req[c * w..(c + 1) * w];
            let end = row.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
            let mut x = 0;
            while x < end {
                // Grow a run while one sixel satisfies every column in it:
                // the bits this colour needs set, and the bits earlier
                // colours painted left clear; the rest may be either.
                let mut fixed = row[x] | self.painted[x];
                let mut val = row[x];
                let mut len = 1;
                while x + len < end {
                    let f = row[x + len] | self.painted[x + len];
                    let v = row[x + len];
                    if (val ^ v) & fixed & f != 0 {
                        break;
                    }
                    fixed |= f;
                    val |= v;
                    len += 1;
                }
                push_run(out, len, val);
                x += len;
            }
            for (p, &r) in self.painted[..end].iter_mut().zip(&row[..end]) {
                *p |= r;
            }
        }
    }
}

fn push_run(out: &mut String, len: usize, bits: u8) {
    let ch = char::from(63 + bits);
    if len > 3 {
        out.push('!');
        push_num(out, len);
        out.push(ch);
    } else {
        for _ in 0..len {
            out.push(ch);
        }
    }
}

fn push_num(out: &mut String, n: usize) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(out, "{n}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn exact(colours: usize) -> Options {
        Options {
            colours,
            merge: 0.0,
            bits_per_pixel: 0.0,
        }
    }

    /// Decode with an independent decoder (icy_sixel's) and return RGB of
    /// the `w`×`h` raster. That decoder rounds the height up to whole bands;
    /// the rows below the raster must be left unpainted.
    fn decode(s: &str, w: u32, h: u32) -> RgbImage {
        let img = icy_sixel::SixelImage::decode(s.as_bytes()).expect("decodes");
        assert_eq!(img.width as u32, w);
        assert!(img.height as u32 >= h);
        for (i, q) in img.pixels.chunks(4).enumerate() {
            if i / img.width >= h as usize {
                assert_eq!(q[3], 0, "pixel {i} painted below the raster");
            }
        }
        let mut out = RgbImage::new(w, h);
        for (i, p) in out.pixels_mut().enumerate() {
            let q = &img.pixels[i * 4..i * 4 + 4];
            assert_eq!(q[3], 255, "pixel {i} left unpainted");
            *p = Rgb([q[0], q[1], q[2]]);
        }
        out
    }

    #[test]
    fn few_colours_round_trip_exactly() {
        // Colours that are exact in percent steps survive unchanged,
        // including an odd height (a partial last band) and overpainting.
        let cols = [[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 0, 255]];
        let img = RgbImage::from_fn(37, 17, |x, y| Rgb(cols[((x * 7 + y * 3) / 5 % 4) as usize]));
        let s = encode(&img, &exact(16));
        assert_eq!(decode(&s, 37, 17), img);
    }

    #[test]
    fn every_pixel_gets_its_mapped_colour() {
        // A random picture with more colours than the palette: what the
        // decoder shows must be exactly each pixel's mapped palette colour,
        // which catches any overpainting mistake.
        let mut seed = 0x1234_5678u32;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for (w, h) in [(1, 1), (5, 6), (13, 7), (64, 25), (3, 40)] {
            let img = RgbImage::from_fn(w, h, |_, _| {
                let v = rnd();
                Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
            });
            let pal = palette(&img, 16);
            let shown: Vec<[u8; 3]> = pal.iter().map(|c| c.shown).collect();
            let idx = map_pixels(&img, &shown);
            let back = decode(&encode(&img, &exact(16)), w, h);
            for (i, p) in back.pixels().enumerate() {
                assert_eq!(p.0, shown[usize::from(idx[i])], "{w}x{h} pixel {i}");
            }
        }
    }

    #[test]
    fn paper_costs_one_run_per_band() {
        // White page with a black dot in the middle of each band: the white
        // is written as one full-width run per band.
        let img = RgbImage::from_fn(200, 12, |x, y| {
            if x == 100 && y % 6 == 3 {
                Rgb([0, 0, 0])
            } else {
                Rgb([255, 255, 255])
            }
        });
        let s = encode(&img, &exact(2));
        assert_eq!(s.matches("!200~").count(), 2, "{s}");
        assert!(s.len() < 120, "{} bytes: {s}", s.len());
    }

    #[test]
    fn nothing_past_the_bottom_row() {
        // Height 1: only the top bit of each sixel may ever be set.
        let img = RgbImage::from_fn(50, 1, |x, _| Rgb([(x * 5) as u8, 0, 0]));
        let s = encode(&img, &exact(8));
        let body = &s[s.rfind(";2;").map_or(0, |i| i)..s.len() - 2];
        for ch in body.chars().filter(|c| ('?'..='~').contains(c)) {
            assert!(matches!(ch, '?' | '@'), "sixel {ch:?} paints below row 0");
        }
        decode(&s, 50, 1);
    }

    #[test]
    fn folding_trades_rare_colours_for_bytes_and_paints_every_pixel() {
        // Text-like: paper, ink, and scattered specks of near-paper tones
        // that each cost a pass of their own in the bands they appear in.
        let img = RgbImage::from_fn(240, 60, |x, y| {
            if (x / 3 + y / 5) % 7 == 0 {
                Rgb([20, 20, 20])
            } else if (x * 31 + y * 17) % 97 == 0 {
                Rgb([235, 230, 225])
            } else if (x * 13 + y * 29) % 89 == 0 {
                Rgb([225, 235, 230])
            } else {
                Rgb([250, 248, 245])
            }
        });
        let exact_s = encode(&img, &exact(16));
        let folded_s = encode(
            &img,
            &Options {
                merge: 200.0,
                ..exact(16)
            },
        );
        assert!(
            folded_s.len() < exact_s.len() * 9 / 10,
            "{} vs {} bytes",
            folded_s.len(),
            exact_s.len()
        );
        // Every pixel is still painted, and with a colour near its own.
        let back = decode(&folded_s, 240, 60);
        for (p, q) in back.pixels().zip(img.pixels()) {
            assert!(err2(p.0, q.0) <= 3 * 30 * 30, "{p:?} for {q:?}");
        }
    }

    #[test]
    fn a_byte_budget_folds_only_when_needed() {
        // Dense specks over paper: over a tight budget the encoder folds;
        // under a generous one it is the exact encoding.
        let img = RgbImage::from_fn(300, 120, |x, y| {
            let v = (x * 7 + y * 13) % 11;
            if v == 0 {
                Rgb([30, 30, 30])
            } else {
                Rgb([250 - (v * 3) as u8, 248 - (v * 2) as u8, 245 - v as u8])
            }
        });
        let exact_s = encode(&img, &exact(32));
        let budget = |bpp: f32| Options {
            bits_per_pixel: bpp,
            ..exact(32)
        };
        let tight = 0.6 * exact_s.len() as f32 * 8.0 / (300.0 * 120.0);
        let squeezed = encode(&img, &budget(tight));
        assert!(
            squeezed.len() < exact_s.len() * 8 / 10,
            "{} vs {}",
            squeezed.len(),
            exact_s.len()
        );
        decode(&squeezed, 300, 120);
        assert_eq!(encode(&img, &budget(64.0)), exact_s);
    }

    #[test]
    fn pass_cost_counts_what_is_written() {
        // `$#nn` (4) + "!5~" (3) + "??" (2) + "@" (1); trailing empties free.
        let row = [63, 63, 63, 63, 63, 0, 0, 1, 0, 0, 0];
        assert_eq!(pass_cost(row.iter().copied()), 10);
        assert_eq!(pass_cost([0u8; 8].iter().copied()), 4);
    }

    #[test]
    fn empty_image_is_a_valid_empty_sixel() {
        let s = encode(&RgbImage::new(0, 0), &DEFAULT);
        assert!(s.starts_with("\x1bP") && s.ends_with("\x1b\\"));
    }
}
