//! Generates the synthetic demo documents in `assets/`.
//!
//! Every image is drawn from scratch here: shapes, a 5×7 bitmap font for
//! ASCII ("SPECIMEN", fake numbers) and pseudo-CJK glyphs assembled from
//! random strokes. No real person, institution or document is depicted; ID
//! numbers use the non-existent region code 999999 and a random last digit.
//!
//! Deterministic: each file has a fixed seed and the RNG is a local
//! SplitMix64, so `cargo run --release --example make_assets` rewrites
//! `assets/` byte for byte (on the same platform and `image` version).

// Drawing primitives take a position, a size, a pen and the RNG; a struct
// per call would hide what is drawn where.
#![allow(clippy::too_many_arguments)]

use std::f32::consts::PI;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::imageops::{self, FilterType};
use image::{DynamicImage, ExtendedColorType, ImageEncoder, Rgb, RgbImage};

type Rgb3 = [u8; 3];

// ---------------------------------------------------------------- RNG

/// SplitMix64: tiny, stable across crate versions (unlike `rand`'s StdRng).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    fn from_name(name: &str) -> Self {
        // FNV-1a, so every file's seed follows from its name.
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        Rng::new(h)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn f(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.f()
    }

    /// Uniform integer in [lo, hi).
    fn int(&mut self, lo: i32, hi: i32) -> i32 {
        lo + (self.next_u64() % (hi - lo).max(1) as u64) as i32
    }

    fn chance(&mut self, p: f32) -> bool {
        self.f() < p
    }

    /// Roughly normal, mean 0, sd 1 (Irwin–Hall of 4).
    fn normal(&mut self) -> f32 {
        (self.f() + self.f() + self.f() + self.f() - 2.0) * 1.732
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.int(0, 10) as u8))
            .collect()
    }
}

// ---------------------------------------------------------------- drawing

/// How a coverage mask is laid onto the canvas.
#[derive(Clone, Copy)]
struct Pen {
    rgb: Rgb3,
    alpha: f32,
    /// Ink (seals, pen strokes) darkens what is below instead of covering.
    multiply: bool,
}

impl Pen {
    const fn solid(rgb: Rgb3) -> Pen {
        Pen {
            rgb,
            alpha: 1.0,
            multiply: false,
        }
    }
    const fn tint(rgb: Rgb3, alpha: f32) -> Pen {
        Pen {
            rgb,
            alpha,
            multiply: false,
        }
    }
    const fn ink(rgb: Rgb3, alpha: f32) -> Pen {
        Pen {
            rgb,
            alpha,
            multiply: true,
        }
    }
}

/// An anti-aliased coverage mask the size of the canvas; shapes take the
/// max coverage, so overlapping strokes of one pen do not darken twice.
struct Cov {
    w: i32,
    h: i32,
    buf: Vec<f32>,
    dirty: Option<(i32, i32, i32, i32)>,
}

impl Cov {
    /// Clip a float bounding box to the canvas and mark it dirty.
    fn span(&mut self, x0: f32, y0: f32, x1: f32, y1: f32) -> Option<(i32, i32, i32, i32)> {
        let a = (x0.floor() as i32).max(0);
        let b = (y0.floor() as i32).max(0);
        let c = (x1.ceil() as i32 + 1).min(self.w);
        let d = (y1.ceil() as i32 + 1).min(self.h);
        if a >= c || b >= d {
            return None;
        }
        self.dirty = Some(match self.dirty {
            None => (a, b, c, d),
            Some((p, q, r, s)) => (p.min(a), q.min(b), r.max(c), s.max(d)),
        });
        Some((a, b, c, d))
    }

    fn put(&mut self, x: i32, y: i32, v: f32) {
        let i = (y * self.w + x) as usize;
        if v > self.buf[i] {
            self.buf[i] = v.min(1.0);
        }
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32) {
        let (x0, y0, x1, y1) = (x.round(), y.round(), (x + w).round(), (y + h).round());
        if x1 <= x0 || y1 <= y0 {
            return;
        }
        if let Some((a, b, c, d)) = self.span(x0, y0, x1 - 1.0, y1 - 1.0) {
            let (c, d) = (c.min(x1 as i32), d.min(y1 as i32));
            for yy in b..d {
                for xx in a..c {
                    self.put(xx, yy, 1.0);
                }
            }
        }
    }

    fn frame(&mut self, x: f32, y: f32, w: f32, h: f32, t: f32) {
        self.rect(x, y, w, t);
        self.rect(x, y + h - t, w, t);
        self.rect(x, y, t, h);
        self.rect(x + w - t, y, t, h);
    }

    fn disc(&mut self, cx: f32, cy: f32, r: f32) {
        if let Some((a, b, c, d)) =
            self.span(cx - r - 1.0, cy - r - 1.0, cx + r + 1.0, cy + r + 1.0)
        {
            for y in b..d {
                for x in a..c {
                    let dist = (x as f32 - cx).hypot(y as f32 - cy);
                    self.put(x, y, (r - dist + 0.5).clamp(0.0, 1.0));
                }
            }
        }
    }

    fn ring(&mut self, cx: f32, cy: f32, r: f32, t: f32) {
        let o = r + t / 2.0 + 1.0;
        if let Some((a, b, c, d)) = self.span(cx - o, cy - o, cx + o, cy + o) {
            for y in b..d {
                for x in a..c {
                    let dist = (x as f32 - cx).hypot(y as f32 - cy);
                    self.put(x, y, (t / 2.0 - (dist - r).abs() + 0.5).clamp(0.0, 1.0));
                }
            }
        }
    }

    fn ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32) {
        if let Some((a, b, c, d)) =
            self.span(cx - rx - 1.0, cy - ry - 1.0, cx + rx + 1.0, cy + ry + 1.0)
        {
            let m = rx.min(ry);
            for y in b..d {
                for x in a..c {
                    let dn = ((x as f32 - cx) / rx).hypot((y as f32 - cy) / ry);
                    self.put(x, y, ((1.0 - dn) * m + 0.5).clamp(0.0, 1.0));
                }
            }
        }
    }

    fn ellipse_ring(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, t: f32) {
        let o = t / 2.0 + 1.0;
        if let Some((a, b, c, d)) = self.span(cx - rx - o, cy - ry - o, cx + rx + o, cy + ry + o) {
            let m = rx.min(ry);
            for y in b..d {
                for x in a..c {
                    let dn = ((x as f32 - cx) / rx).hypot((y as f32 - cy) / ry);
                    let dist = (dn - 1.0) * m;
                    self.put(x, y, (t / 2.0 - dist.abs() + 0.5).clamp(0.0, 1.0));
                }
            }
        }
    }

    /// A thick segment with round caps.
    fn seg(&mut self, ax: f32, ay: f32, bx: f32, by: f32, t: f32) {
        let o = t / 2.0 + 1.0;
        let Some((a, b, c, d)) = self.span(
            ax.min(bx) - o,
            ay.min(by) - o,
            ax.max(bx) + o,
            ay.max(by) + o,
        ) else {
            return;
        };
        let (dx, dy) = (bx - ax, by - ay);
        let len2 = (dx * dx + dy * dy).max(1e-6);
        for y in b..d {
            for x in a..c {
                let (px, py) = (x as f32 - ax, y as f32 - ay);
                let k = ((px * dx + py * dy) / len2).clamp(0.0, 1.0);
                let dist = (px - k * dx).hypot(py - k * dy);
                self.put(x, y, (t / 2.0 - dist + 0.5).clamp(0.0, 1.0));
            }
        }
    }

    fn polyline(&mut self, pts: &[(f32, f32)], t: f32) {
        for w in pts.windows(2) {
            self.seg(w[0].0, w[0].1, w[1].0, w[1].1, t);
        }
    }

    /// Even-odd fill, 4 samples per pixel.
    fn polygon(&mut self, pts: &[(f32, f32)]) {
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for &(x, y) in pts {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
        let Some((a, b, c, d)) = self.span(x0, y0, x1, y1) else {
            return;
        };
        let inside = |x: f32, y: f32| {
            let mut odd = false;
            let mut j = pts.len() - 1;
            for i in 0..pts.len() {
                let (xi, yi) = pts[i];
                let (xj, yj) = pts[j];
                if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                    odd = !odd;
                }
                j = i;
            }
            odd
        };
        for y in b..d {
            for x in a..c {
                let n = [(-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25)]
                    .iter()
                    .filter(|(ox, oy)| inside(x as f32 + ox, y as f32 + oy))
                    .count();
                if n > 0 {
                    self.put(x, y, n as f32 / 4.0);
                }
            }
        }
    }

    /// Random voids, like ink that did not take (seals, stamps).
    fn speckle(&mut self, rng: &mut Rng, strength: f32) {
        if let Some((a, b, c, d)) = self.dirty {
            for y in b..d {
                for x in a..c {
                    let i = (y * self.w + x) as usize;
                    if self.buf[i] > 0.0 {
                        let r = rng.f();
                        self.buf[i] *= 1.0 - strength * r * r;
                    }
                }
            }
        }
    }

    /// Drop coverage outside a rectangle (a photo's content stays in its box).
    fn keep_inside(&mut self, x0: f32, y0: f32, x1: f32, y1: f32) {
        if let Some((a, b, c, d)) = self.dirty {
            for y in b..d {
                for x in a..c {
                    let (fx, fy) = (x as f32, y as f32);
                    if fx < x0 || fx >= x1 || fy < y0 || fy >= y1 {
                        self.buf[(y * self.w + x) as usize] = 0.0;
                    }
                }
            }
        }
    }
}

struct Canvas {
    img: RgbImage,
    cov: Cov,
    w: f32,
    h: f32,
}

impl Canvas {
    fn new(w: u32, h: u32, bg: Rgb3) -> Canvas {
        Canvas {
            img: RgbImage::from_pixel(w, h, Rgb(bg)),
            cov: Cov {
                w: w as i32,
                h: h as i32,
                buf: vec![0.0; (w * h) as usize],
                dirty: None,
            },
            w: w as f32,
            h: h as f32,
        }
    }

    /// Draw shapes into the coverage mask, then lay it on with `pen`.
    fn paint(&mut self, pen: Pen, f: impl FnOnce(&mut Cov)) {
        f(&mut self.cov);
        let Some((a, b, c, d)) = self.cov.dirty.take() else {
            return;
        };
        let w = self.cov.w;
        for y in b..d {
            for x in a..c {
                let i = (y * w + x) as usize;
                let v = self.cov.buf[i];
                if v <= 0.0 {
                    continue;
                }
                self.cov.buf[i] = 0.0;
                let a = v * pen.alpha;
                let p = self.img.get_pixel_mut(x as u32, y as u32);
                for ch in 0..3 {
                    let base = f32::from(p.0[ch]);
                    let col = f32::from(pen.rgb[ch]);
                    let out = if pen.multiply {
                        base * (1.0 - a + a * col / 255.0)
                    } else {
                        base * (1.0 - a) + col * a
                    };
                    p.0[ch] = out.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }

    fn fill(&mut self, x: f32, y: f32, w: f32, h: f32, rgb: Rgb3) {
        self.paint(Pen::solid(rgb), |c| c.rect(x, y, w, h));
    }

    /// 5×7 bitmap text; `s` is the size of one font pixel. Returns the width.
    fn text(&mut self, x: f32, y: f32, s: f32, txt: &str, pen: Pen) -> f32 {
        self.paint(pen, |c| {
            for (i, ch) in txt.chars().enumerate() {
                let rows = glyph5x7(ch);
                for (r, bits) in rows.iter().enumerate() {
                    for col in 0..5 {
                        if bits & (0x10 >> col) != 0 {
                            c.rect(
                                x + (i as f32 * 6.0 + col as f32) * s,
                                y + r as f32 * s,
                                s,
                                s,
                            );
                        }
                    }
                }
            }
        });
        text_width(txt, s)
    }

    /// A run of `n` pseudo-CJK glyphs of cell `size`. Returns the end x.
    fn hanzi(
        &mut self,
        x: f32,
        y: f32,
        size: f32,
        n: i32,
        pen: Pen,
        rng: &mut Rng,
        bold: f32,
    ) -> f32 {
        let t = (size * 0.075 * bold).max(1.4);
        for i in 0..n {
            let strokes = glyph_strokes(rng);
            let gx = x + i as f32 * size;
            self.paint(pen, |c| {
                for s in strokes {
                    c.seg(
                        gx + s[0] * size,
                        y + s[1] * size,
                        gx + s[2] * size,
                        y + s[3] * size,
                        t,
                    );
                }
            });
        }
        x + n as f32 * size
    }

    /// Handwriting: glyphs with slant, jitter, uneven width and pace.
    fn hand(&mut self, x: f32, y: f32, size: f32, n: i32, pen: Pen, rng: &mut Rng) -> f32 {
        let mut cx = x;
        for _ in 0..n {
            let strokes = glyph_strokes(rng);
            let jy = rng.range(-0.08, 0.08) * size;
            let t = size * rng.range(0.06, 0.095);
            let squash = rng.range(0.75, 0.95);
            let mut pts = Vec::with_capacity(strokes.len());
            for s in &strokes {
                let mut m = |u: f32, v: f32| {
                    (
                        cx + u * size * squash
                            + (1.0 - v) * size * 0.15
                            + rng.range(-0.04, 0.04) * size,
                        y + jy + v * size * 0.9 + rng.range(-0.04, 0.04) * size,
                    )
                };
                pts.push((m(s[0], s[1]), m(s[2], s[3])));
            }
            let joins = rng.chance(0.4);
            self.paint(pen, |c| {
                for (i, (a, b)) in pts.iter().enumerate() {
                    c.seg(a.0, a.1, b.0, b.1, t);
                    // Cursive: carry the pen to the next stroke.
                    if joins && let Some((n, _)) = pts.get(i + 1) {
                        c.seg(b.0, b.1, n.0, n.1, t * 0.45);
                    }
                }
            });
            cx += size * squash * rng.range(0.95, 1.2);
        }
        cx
    }

    fn signature(&mut self, x: f32, y: f32, w: f32, h: f32, pen: Pen, rng: &mut Rng) {
        let loops = rng.range(2.0, 4.5);
        let (p1, p2) = (rng.range(0.0, 6.0), rng.range(0.0, 6.0));
        let pts: Vec<(f32, f32)> = (0..=160)
            .map(|i| {
                let t = i as f32 / 160.0;
                let a = t * loops * 2.0 * PI;
                (
                    x + w * t + (a + p1).sin() * h * 0.22,
                    y + h * 0.5 + (a * 1.5 + p2).sin() * h * 0.35 * (1.0 - t * 0.5),
                )
            })
            .collect();
        let t = (h * 0.05).max(2.0);
        let tail = (x + w * rng.range(0.1, 0.3), y + h * 0.85);
        self.paint(pen, |c| {
            c.polyline(&pts, t);
            c.seg(
                tail.0,
                tail.1,
                x + w * 1.05,
                y + h * rng.range(0.6, 0.9),
                t * 0.8,
            );
        });
    }

    /// A round official seal: ring, star, arc of glyphs, a line below.
    fn seal(&mut self, cx: f32, cy: f32, r: f32, rng: &mut Rng, rgb: Rgb3) {
        let n = rng.int(9, 15);
        let arcs: Vec<Vec<[f32; 4]>> = (0..n).map(|_| glyph_strokes(rng)).collect();
        let bottom: Vec<Vec<[f32; 4]>> = (0..rng.int(3, 6)).map(|_| glyph_strokes(rng)).collect();
        let star = star(cx, cy - r * 0.02, r * 0.27, -PI / 2.0);
        let span = rng.range(3.6, 4.3);
        let mut voids = Rng::new(rng.next_u64());
        self.paint(Pen::ink(rgb, rng.range(0.72, 0.9)), |c| {
            c.ring(cx, cy, r * 0.93, r * 0.075);
            c.polygon(&star);
            let gs = r * 0.3;
            for (i, g) in arcs.iter().enumerate() {
                let th = -PI / 2.0 - span / 2.0 + span * (i as f32 + 0.5) / n as f32;
                let (ox, oy) = (th.cos(), th.sin());
                let (gx, gy) = (cx + ox * r * 0.64, cy + oy * r * 0.64);
                // Glyph "up" points outward; its "right" is up rotated.
                let (rx, ry) = (-oy, ox);
                let m = |u: f32, v: f32| {
                    let (u, v) = ((u - 0.5) * gs, (v - 0.5) * gs);
                    (gx + rx * u - ox * v, gy + ry * u - oy * v)
                };
                for s in g {
                    let (a, b) = (m(s[0], s[1]), m(s[2], s[3]));
                    c.seg(a.0, a.1, b.0, b.1, gs * 0.09);
                }
            }
            let bs = r * 0.2;
            let bx = cx - bs * bottom.len() as f32 / 2.0;
            for (i, g) in bottom.iter().enumerate() {
                for s in g {
                    let ox = bx + i as f32 * bs;
                    let oy = cy + r * 0.38;
                    c.seg(
                        ox + s[0] * bs,
                        oy + s[1] * bs,
                        ox + s[2] * bs,
                        oy + s[3] * bs,
                        bs * 0.1,
                    );
                }
            }
            c.speckle(&mut voids, 0.6);
        });
    }

    /// Stylised emblem (not any real state emblem): red disc, gold rim
    /// with teeth, gold stars.
    fn emblem(&mut self, cx: f32, cy: f32, r: f32) {
        let gold = [214, 168, 52];
        self.paint(Pen::solid(gold), |c| {
            c.disc(cx, cy, r);
            for k in 0..28 {
                let a = k as f32 / 28.0 * 2.0 * PI;
                c.disc(cx + a.cos() * r, cy + a.sin() * r, r * 0.07);
            }
        });
        self.paint(Pen::solid([196, 28, 32]), |c| c.disc(cx, cy, r * 0.8));
        self.paint(Pen::solid(gold), |c| {
            c.polygon(&star(cx, cy - r * 0.12, r * 0.3, -PI / 2.0));
            for k in 0..4 {
                let a = -PI * 0.95 + k as f32 * 0.32;
                c.polygon(&star(
                    cx + a.cos() * r * 0.55,
                    cy - r * 0.1 + a.sin() * r * 0.45,
                    r * 0.09,
                    a,
                ));
            }
            c.rect(cx - r * 0.55, cy + r * 0.35, r * 1.1, r * 0.12);
            c.rect(cx - r * 0.35, cy + r * 0.2, r * 0.7, r * 0.1);
        });
    }

    /// ID-style photo: plain background, a neutral silhouette.
    fn photo(&mut self, x: f32, y: f32, w: f32, h: f32, bg: Rgb3, rng: &mut Rng) {
        self.fill(x, y, w, h, bg);
        let cx = x + w * rng.range(0.47, 0.53);
        let clothes =
            [[40, 44, 58], [70, 70, 74], [30, 30, 32], [90, 60, 60]][rng.int(0, 4) as usize];
        let (x1, y1) = (x + w, y + h);
        self.paint(Pen::solid(clothes), |c| {
            c.ellipse(cx, y + h * 1.02, w * 0.5, h * 0.3);
            c.keep_inside(x, y, x1, y1);
        });
        let skin = [[214, 180, 156], [200, 164, 138], [222, 192, 170]][rng.int(0, 3) as usize];
        self.paint(Pen::solid(skin), |c| {
            c.rect(cx - w * 0.08, y + h * 0.55, w * 0.16, h * 0.2);
            c.polygon(&[
                (cx - w * 0.08, y + h * 0.72),
                (cx + w * 0.08, y + h * 0.72),
                (cx, y + h * 0.8),
            ]);
        });
        let hair = [[22, 20, 20], [40, 30, 26], [30, 28, 30]][rng.int(0, 3) as usize];
        let hair_len = rng.range(0.4, 0.62);
        self.paint(Pen::solid(hair), |c| {
            c.ellipse(cx, y + h * 0.38, w * 0.25, h * 0.24);
            c.rect(cx - w * 0.25, y + h * 0.38, w * 0.5, h * (hair_len - 0.38));
        });
        self.paint(Pen::solid(skin), |c| {
            c.ellipse(cx, y + h * 0.44, w * 0.19, h * 0.2)
        });
        self.paint(Pen::tint([255, 255, 255], 0.12), |c| {
            c.ellipse(cx - w * 0.06, y + h * 0.38, w * 0.06, h * 0.08)
        });
    }

    /// A QR-like block: three finder squares and seeded modules.
    fn qr(&mut self, x: f32, y: f32, size: f32, rng: &mut Rng) {
        let n = 25;
        let m = size / (n as f32 + 2.0);
        self.fill(x, y, size, size, [255, 255, 255]);
        let finder = |i: i32, j: i32| -> Option<bool> {
            for (fx, fy) in [(0, 0), (n - 7, 0), (0, n - 7)] {
                let (a, b) = (i - fx, j - fy);
                if (-1..=7).contains(&a) && (-1..=7).contains(&b) {
                    let ring = a.min(b).min(6 - a).min(6 - b);
                    return Some(ring == 0 || ring >= 2);
                }
            }
            None
        };
        let mut cells = Vec::new();
        for j in 0..n {
            for i in 0..n {
                let on = finder(i, j).unwrap_or_else(|| rng.chance(0.48));
                if on {
                    cells.push((i, j));
                }
            }
        }
        self.paint(Pen::solid([18, 18, 20]), |c| {
            for (i, j) in cells {
                c.rect(x + (i + 1) as f32 * m, y + (j + 1) as f32 * m, m, m);
            }
        });
    }

    /// Fine sinuous security lines over a region.
    fn guilloche(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, pen: Pen, n: i32, rng: &mut Rng) {
        let params: Vec<(f32, f32, f32, f32, f32)> = (0..n)
            .map(|_| {
                (
                    rng.range(0.004, 0.012),
                    rng.range(0.0, 6.3),
                    rng.range(0.015, 0.03),
                    rng.range(0.0, 6.3),
                    rng.range(1.2, 2.6),
                )
            })
            .collect();
        let band = (y1 - y0) / n as f32;
        self.paint(pen, |c| {
            for (k, (f1, p1, f2, p2, amp)) in params.into_iter().enumerate() {
                let base = y0 + band * (k as f32 + 0.5);
                let at =
                    |x: f32| base + band * amp * ((x * f1 + p1).sin() + 0.35 * (x * f2 + p2).sin());
                let mut x = x0;
                while x < x1 {
                    let nx = x + 5.0;
                    c.seg(x, at(x), nx, at(nx), 1.3);
                    x = nx;
                }
            }
        });
    }

    /// Per-row forms: each row has its height and its own column splits
    /// (fractions of the width). Returns the row tops.
    fn form(
        &mut self,
        x: f32,
        y: f32,
        w: f32,
        rows: &[(f32, &[f32])],
        t: f32,
        pen: Pen,
    ) -> Vec<f32> {
        let mut tops = Vec::with_capacity(rows.len() + 1);
        let mut yy = y;
        for (h, _) in rows {
            tops.push(yy);
            yy += h;
        }
        tops.push(yy);
        self.paint(pen, |c| {
            c.frame(x, y, w, yy - y, t * 1.6);
            for (i, (h, cols)) in rows.iter().enumerate() {
                c.rect(x, tops[i], w, t);
                for f in cols.iter() {
                    c.rect(x + w * f, tops[i], t, *h);
                }
            }
        });
        tops
    }

    /// A paragraph of pseudo-CJK lines; the first line indented two cells,
    /// the last one short. Returns the y below it.
    fn paragraph(
        &mut self,
        x: f32,
        y: f32,
        w: f32,
        size: f32,
        lines: i32,
        lead: f32,
        pen: Pen,
        rng: &mut Rng,
    ) -> f32 {
        let per = (w / size).floor() as i32;
        for l in 0..lines {
            let (indent, n) = match l {
                0 => (2, per - 2),
                _ if l == lines - 1 => (0, rng.int(per / 4, per - 2)),
                _ => (0, per),
            };
            self.hanzi(
                x + indent as f32 * size,
                y + l as f32 * size * lead,
                size,
                n,
                pen,
                rng,
                1.0,
            );
        }
        y + lines as f32 * size * lead
    }

    /// Paper: slow blotches of tone plus fine grain.
    fn paper(&mut self, amount: f32, rng: &mut Rng) {
        let (f1, f2, p1, p2) = (
            rng.range(0.002, 0.006),
            rng.range(0.003, 0.007),
            rng.range(0.0, 6.3),
            rng.range(0.0, 6.3),
        );
        for (x, y, p) in self.img.enumerate_pixels_mut() {
            let (fx, fy) = (x as f32, y as f32);
            let slow = ((fx * f1 + p1).sin() * (fy * f2 + p2).cos()) * amount * 0.6;
            let grain = rng.normal() * amount * 0.15;
            for ch in p.0.iter_mut() {
                *ch = (f32::from(*ch) + slow + grain).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}

fn text_width(txt: &str, s: f32) -> f32 {
    (txt.chars().count() as f32 * 6.0 - 1.0) * s
}

fn star(cx: f32, cy: f32, r: f32, rot: f32) -> Vec<(f32, f32)> {
    (0..10)
        .map(|k| {
            let a = rot + k as f32 * PI / 5.0;
            let rr = if k % 2 == 0 { r } else { r * 0.382 };
            (cx + a.cos() * rr, cy + a.sin() * rr)
        })
        .collect()
}

/// Strokes of one pseudo-CJK glyph in the unit square, as segments
/// [x0, y0, x1, y1]: one, two side by side, or two stacked components.
fn glyph_strokes(rng: &mut Rng) -> Vec<[f32; 4]> {
    let mut out = Vec::with_capacity(8);
    let p = 0.1;
    match rng.int(0, 5) {
        0 | 1 => {
            let n = rng.int(4, 7);
            component(rng, p, p, 1.0 - 2.0 * p, 1.0 - 2.0 * p, n, &mut out)
        }
        2 | 3 => {
            let s = rng.range(0.3, 0.45);
            let (a, b) = (rng.int(2, 4), rng.int(3, 6));
            component(rng, p, p, s, 1.0 - 2.0 * p, a, &mut out);
            component(
                rng,
                p + s + 0.06,
                p,
                1.0 - 2.0 * p - s - 0.06,
                1.0 - 2.0 * p,
                b,
                &mut out,
            );
        }
        _ => {
            let s = rng.range(0.3, 0.45);
            let (a, b) = (rng.int(2, 4), rng.int(3, 6));
            component(rng, p, p, 1.0 - 2.0 * p, s, a, &mut out);
            component(
                rng,
                p,
                p + s + 0.06,
                1.0 - 2.0 * p,
                1.0 - 2.0 * p - s - 0.06,
                b,
                &mut out,
            );
        }
    }
    out
}

/// `n` strokes in a box; the first is always a horizontal, the backbone
/// most characters have, so glyphs read as dense squares, not scribbles.
fn component(rng: &mut Rng, x: f32, y: f32, w: f32, h: f32, n: i32, out: &mut Vec<[f32; 4]>) {
    for i in 0..n {
        let k = if i == 0 { 0.0 } else { rng.f() };
        if k < 0.3 {
            let yy = y + h * rng.range(0.05, 0.95);
            out.push([
                x + w * rng.range(0.0, 0.15),
                yy,
                x + w * rng.range(0.85, 1.0),
                yy,
            ]);
        } else if k < 0.5 {
            let xx = x + w * rng.range(0.15, 0.85);
            out.push([
                xx,
                y + h * rng.range(0.0, 0.1),
                xx,
                y + h * rng.range(0.9, 1.0),
            ]);
        } else if k < 0.62 {
            out.push([
                x + w * rng.range(0.5, 0.9),
                y + h * rng.range(0.0, 0.3),
                x + w * rng.range(0.0, 0.2),
                y + h * rng.range(0.7, 1.0),
            ]);
        } else if k < 0.72 {
            out.push([
                x + w * rng.range(0.1, 0.5),
                y + h * rng.range(0.0, 0.4),
                x + w * rng.range(0.8, 1.0),
                y + h * rng.range(0.8, 1.0),
            ]);
        } else if k < 0.87 {
            let (bx, by) = (x + w * rng.range(0.0, 0.3), y + h * rng.range(0.0, 0.4));
            let (bw, bh) = (w * rng.range(0.5, 0.7), h * rng.range(0.35, 0.55));
            out.push([bx, by, bx + bw, by]);
            out.push([bx, by, bx, by + bh]);
            out.push([bx + bw, by, bx + bw, by + bh]);
            out.push([bx, by + bh, bx + bw, by + bh]);
        } else {
            let (dx, dy) = (x + w * rng.range(0.2, 0.8), y + h * rng.range(0.0, 0.3));
            out.push([dx, dy, dx + w * 0.1, dy + h * 0.12]);
        }
    }
}

/// 5×7 font: each row's bits, MSB-first in the low five bits.
fn glyph5x7(c: char) -> [u8; 7] {
    let rows: [&str; 7] = match c.to_ascii_uppercase() {
        '0' => [
            "01110", "10001", "10011", "10101", "11001", "10001", "01110",
        ],
        '1' => [
            "00100", "01100", "00100", "00100", "00100", "00100", "01110",
        ],
        '2' => [
            "01110", "10001", "00001", "00010", "00100", "01000", "11111",
        ],
        '3' => [
            "11111", "00010", "00100", "00010", "00001", "10001", "01110",
        ],
        '4' => [
            "00010", "00110", "01010", "10010", "11111", "00010", "00010",
        ],
        '5' => [
            "11111", "10000", "11110", "00001", "00001", "10001", "01110",
        ],
        '6' => [
            "00110", "01000", "10000", "11110", "10001", "10001", "01110",
        ],
        '7' => [
            "11111", "00001", "00010", "00100", "01000", "01000", "01000",
        ],
        '8' => [
            "01110", "10001", "10001", "01110", "10001", "10001", "01110",
        ],
        '9' => [
            "01110", "10001", "10001", "01111", "00001", "00010", "01100",
        ],
        'A' => [
            "01110", "10001", "10001", "11111", "10001", "10001", "10001",
        ],
        'B' => [
            "11110", "10001", "10001", "11110", "10001", "10001", "11110",
        ],
        'C' => [
            "01110", "10001", "10000", "10000", "10000", "10001", "01110",
        ],
        'D' => [
            "11100", "10010", "10001", "10001", "10001", "10010", "11100",
        ],
        'E' => [
            "11111", "10000", "10000", "11110", "10000", "10000", "11111",
        ],
        'F' => [
            "11111", "10000", "10000", "11110", "10000", "10000", "10000",
        ],
        'G' => [
            "01110", "10001", "10000", "10111", "10001", "10001", "01111",
        ],
        'H' => [
            "10001", "10001", "10001", "11111", "10001", "10001", "10001",
        ],
        'I' => [
            "01110", "00100", "00100", "00100", "00100", "00100", "01110",
        ],
        'J' => [
            "00111", "00010", "00010", "00010", "00010", "10010", "01100",
        ],
        'K' => [
            "10001", "10010", "10100", "11000", "10100", "10010", "10001",
        ],
        'L' => [
            "10000", "10000", "10000", "10000", "10000", "10000", "11111",
        ],
        'M' => [
            "10001", "11011", "10101", "10101", "10001", "10001", "10001",
        ],
        'N' => [
            "10001", "10001", "11001", "10101", "10011", "10001", "10001",
        ],
        'O' => [
            "01110", "10001", "10001", "10001", "10001", "10001", "01110",
        ],
        'P' => [
            "11110", "10001", "10001", "11110", "10000", "10000", "10000",
        ],
        'Q' => [
            "01110", "10001", "10001", "10001", "10101", "10010", "01101",
        ],
        'R' => [
            "11110", "10001", "10001", "11110", "10100", "10010", "10001",
        ],
        'S' => [
            "01111", "10000", "10000", "01110", "00001", "00001", "11110",
        ],
        'T' => [
            "11111", "00100", "00100", "00100", "00100", "00100", "00100",
        ],
        'U' => [
            "10001", "10001", "10001", "10001", "10001", "10001", "01110",
        ],
        'V' => [
            "10001", "10001", "10001", "10001", "10001", "01010", "00100",
        ],
        'W' => [
            "10001", "10001", "10001", "10101", "10101", "10101", "01010",
        ],
        'X' => [
            "10001", "10001", "01010", "00100", "01010", "10001", "10001",
        ],
        'Y' => [
            "10001", "10001", "01010", "00100", "00100", "00100", "00100",
        ],
        'Z' => [
            "11111", "00001", "00010", "00100", "01000", "10000", "11111",
        ],
        '.' => [
            "00000", "00000", "00000", "00000", "00000", "01100", "01100",
        ],
        ',' => [
            "00000", "00000", "00000", "00000", "01100", "00100", "01000",
        ],
        '-' => [
            "00000", "00000", "00000", "11111", "00000", "00000", "00000",
        ],
        ':' => [
            "00000", "01100", "01100", "00000", "01100", "01100", "00000",
        ],
        '/' => [
            "00001", "00001", "00010", "00100", "01000", "10000", "10000",
        ],
        '#' => [
            "01010", "01010", "11111", "01010", "11111", "01010", "01010",
        ],
        '*' => [
            "00000", "00100", "10101", "01110", "10101", "00100", "00000",
        ],
        '(' => [
            "00010", "00100", "01000", "01000", "01000", "00100", "00010",
        ],
        ')' => [
            "01000", "00100", "00010", "00010", "00010", "00100", "01000",
        ],
        _ => ["00000"; 7],
    };
    let mut out = [0u8; 7];
    for (o, r) in out.iter_mut().zip(rows) {
        *o = r.bytes().fold(0, |acc, b| (acc << 1) | u8::from(b == b'1'));
    }
    out
}

// ------------------------------------------------- capture and damage

/// A desk surface: wood grain or cloth.
fn desk(w: u32, h: u32, base: Rgb3, grain: bool, rng: &mut Rng) -> RgbImage {
    let (f, p) = (rng.range(0.02, 0.05), rng.range(0.0, 6.3));
    let mut img = RgbImage::new(w, h);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let (fx, fy) = (x as f32, y as f32);
        let g = if grain {
            0.9 + 0.1 * (fy * f + 4.0 * (fx * 0.004 + p).sin()).sin()
        } else {
            1.0
        };
        let n = 1.0 + rng.normal() * 0.01;
        for (c, b) in px.0.iter_mut().zip(base) {
            *c = (f32::from(b) * g * n).clamp(0.0, 255.0) as u8;
        }
    }
    img
}

/// Lay `doc` on `bg`, scaled to `frac` of the width, turned by `angle`
/// degrees, with rounded corners and a soft shadow: a phone photo.
fn place(
    doc: &RgbImage,
    mut bg: RgbImage,
    frac: f32,
    angle: f32,
    corner: f32,
    offset: (f32, f32),
) -> RgbImage {
    let (ow, oh) = (bg.width() as f32, bg.height() as f32);
    let (dw, dh) = (doc.width() as f32, doc.height() as f32);
    let scale = ow * frac / dw;
    let (cx, cy) = (ow / 2.0 + offset.0 * ow, oh / 2.0 + offset.1 * oh);
    let (sin, cos) = (angle.to_radians().sin(), angle.to_radians().cos());
    let rr = corner * dw;
    // Signed distance (output pixels) from the document's edge, positive
    // inside; `u, v` are document coordinates.
    let inside = |px: f32, py: f32| -> (f32, f32, f32) {
        let (dx, dy) = (px - cx, py - cy);
        let u = (dx * cos + dy * sin) / scale + dw / 2.0;
        let v = (-dx * sin + dy * cos) / scale + dh / 2.0;
        let (ex, ey) = (u.min(dw - u), v.min(dh - v));
        let d = if ex < rr && ey < rr {
            rr - (rr - ex).hypot(rr - ey)
        } else {
            ex.min(ey)
        };
        (d * scale, u, v)
    };
    for (x, y, p) in bg.enumerate_pixels_mut() {
        let (fx, fy) = (x as f32, y as f32);
        let (sd, _, _) = inside(fx - 6.0, fy - 9.0);
        let shadow = ((sd + 14.0) / 28.0).clamp(0.0, 1.0) * 0.45;
        let mut out = p.0.map(|c| f32::from(c) * (1.0 - shadow));
        let (d, u, v) = inside(fx, fy);
        let cov = (d + 0.5).clamp(0.0, 1.0);
        if cov > 0.0 {
            let s = bilinear(doc, u, v);
            for (o, s) in out.iter_mut().zip(s) {
                *o = *o * (1.0 - cov) + s * cov;
            }
        }
        p.0 = out.map(|o| o.round().clamp(0.0, 255.0) as u8);
    }
    bg
}

fn bilinear(img: &RgbImage, u: f32, v: f32) -> [f32; 3] {
    let (w, h) = (img.width() as i32, img.height() as i32);
    let (x0, y0) = ((u - 0.5).floor(), (v - 0.5).floor());
    let (tx, ty) = (u - 0.5 - x0, v - 0.5 - y0);
    let at = |x: i32, y: i32| {
        img.get_pixel(x.clamp(0, w - 1) as u32, y.clamp(0, h - 1) as u32)
            .0
    };
    let (x0, y0) = (x0 as i32, y0 as i32);
    let (a, b, c, d) = (
        at(x0, y0),
        at(x0 + 1, y0),
        at(x0, y0 + 1),
        at(x0 + 1, y0 + 1),
    );
    let mut out = [0f32; 3];
    for ch in 0..3 {
        let top = f32::from(a[ch]) * (1.0 - tx) + f32::from(b[ch]) * tx;
        let bot = f32::from(c[ch]) * (1.0 - tx) + f32::from(d[ch]) * tx;
        out[ch] = top * (1.0 - ty) + bot * ty;
    }
    out
}

/// Uneven light: a linear fall-off plus vignetting, then sensor noise.
fn camera(mut img: RgbImage, light: f32, noise: f32, rng: &mut Rng) -> RgbImage {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let (lx, ly) = (rng.range(0.2, 0.8) * w, rng.range(0.1, 0.6) * h);
    let diag2 = w * w + h * h;
    for (x, y, p) in img.enumerate_pixels_mut() {
        let (dx, dy) = (x as f32 - lx, y as f32 - ly);
        let gain = 1.04 - light * (dx * dx + dy * dy) / diag2;
        let n = rng.normal() * noise;
        for ch in p.0.iter_mut() {
            *ch = (f32::from(*ch) * gain + n).round().clamp(0.0, 255.0) as u8;
        }
    }
    img
}

/// A flatbed scan: a touch of optical softness and fine noise.
fn scan(img: RgbImage, rng: &mut Rng) -> RgbImage {
    let img = imageops::blur(&img, 0.55);
    camera(img, 0.0, 0.9, rng)
}

/// Over-exposure: everything pushed towards white, the darks lifted.
fn wash_out(mut img: RgbImage, floor: f32) -> RgbImage {
    for p in img.pixels_mut() {
        for ch in p.0.iter_mut() {
            *ch = (floor + f32::from(*ch) * (255.0 - floor) / 255.0).round() as u8;
        }
    }
    img
}

fn gray(img: &RgbImage) -> RgbImage {
    DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(img.clone()).into_luma8()).into_rgb8()
}

// ------------------------------------------------------------ encoding

/// Highest JPEG quality (80 down to 50) whose file fits `budget` bytes.
fn jpeg(img: &RgbImage, budget: usize) -> Vec<u8> {
    let mut q = 80;
    loop {
        let bytes = jpeg_q(img, q);
        if bytes.len() <= budget || q <= 50 {
            return bytes;
        }
        q -= 3;
    }
}

/// Baseline, interleaved, 4:2:0 with the standard Huffman tables: the
/// layout phones and libjpeg write. (With optimised tables jpeg-encoder
/// switches to one scan per component, which zune-jpeg 0.5.15, the
/// decoder behind `image`, decodes as green stripes.) Every file is
/// decoded back and compared with its source, so that cannot slip in.
fn jpeg_q(img: &RgbImage, q: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, q);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    enc.encode(
        img.as_raw(),
        img.width() as u16,
        img.height() as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .expect("jpeg encode");
    let back = image::load_from_memory(&out)
        .expect("decode own jpeg")
        .into_rgb8();
    let diff = img
        .as_raw()
        .iter()
        .zip(back.as_raw())
        .map(|(a, b)| u64::from(a.abs_diff(*b)))
        .sum::<u64>() as f64
        / img.as_raw().len() as f64;
    assert!(
        diff < 4.0,
        "JPEG round trip differs by {diff:.1} per sample"
    );
    out
}

fn png(img: &RgbImage, grayscale: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = PngEncoder::new_with_quality(&mut out, CompressionType::Best, PngFilter::Adaptive);
    if grayscale {
        let g = DynamicImage::ImageRgb8(img.clone()).into_luma8();
        enc.write_image(g.as_raw(), g.width(), g.height(), ExtendedColorType::L8)
    } else {
        enc.write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::Rgb8,
        )
    }
    .expect("png encode");
    out
}

/// Splice an EXIF APP1 segment (big-endian TIFF with one IFD0 entry,
/// Orientation) right after SOI, as a phone camera does.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\x00\x2A\x00\x00\x00\x08");
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&0x0112u16.to_be_bytes());
    tiff.extend_from_slice(&3u16.to_be_bytes());
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

// ----------------------------------------------------------- documents

const INK: Rgb3 = [26, 26, 32];
const SEAL_RED: Rgb3 = [214, 36, 40];
const BLUE_INK: Rgb3 = [28, 48, 150];

fn fake_id_number(rng: &mut Rng) -> (String, String) {
    let year = 1985 + rng.int(0, 16);
    let month = rng.int(1, 13);
    let day = rng.int(1, 29);
    let birth = format!("{year}{month:02}{day:02}");
    let last = if rng.chance(0.2) {
        "X".to_string()
    } else {
        rng.digits(1)
    };
    (format!("999999{birth}{}{last}", rng.digits(3)), birth)
}

fn id_front(w: u32, h: u32, rng: &mut Rng, style: usize) -> RgbImage {
    let bgs = [
        [236, 241, 240],
        [242, 238, 230],
        [232, 238, 246],
        [240, 240, 236],
    ];
    let mut cv = Canvas::new(w, h, bgs[style % 4]);
    let (fw, fh) = (cv.w, cv.h);
    let line = [
        [130, 175, 205],
        [205, 160, 150],
        [150, 180, 150],
        [170, 170, 200],
    ][style % 4];
    cv.guilloche(0.0, 0.0, fw, fh, Pen::tint(line, 0.35), 22, rng);
    let (rx, ry) = (fw * rng.range(0.35, 0.55), fh * rng.range(0.35, 0.6));
    cv.paint(Pen::tint(line, 0.3), |c| {
        for k in 0..9 {
            c.ring(rx, ry, fh * (0.06 + 0.035 * k as f32), 1.5);
        }
    });
    let label = Pen::solid([60, 100, 150]);
    let ink = Pen::solid(INK);
    let (ls, vs) = (fh * 0.05, fh * 0.062);
    let x0 = fw * 0.06;
    let xv = x0 + ls * 2.8;
    let photo_left = style == 2;
    let (px, tx) = if photo_left {
        (fw * 0.05, fw * 0.36)
    } else {
        (fw * 0.63, 0.0)
    };
    let (x0, xv) = (x0 + tx, xv + tx);
    let (num, birth) = fake_id_number(rng);

    cv.hanzi(x0, fh * 0.11, ls, 2, label, rng, 1.0);
    let n = rng.int(2, 4);
    cv.hanzi(xv, fh * 0.1, vs, n, ink, rng, 1.3);
    cv.hanzi(x0, fh * 0.24, ls, 2, label, rng, 1.0);
    cv.hanzi(xv, fh * 0.235, vs, 1, ink, rng, 1.2);
    cv.hanzi(x0 + ls * 6.0, fh * 0.24, ls, 2, label, rng, 1.0);
    cv.hanzi(x0 + ls * 8.8, fh * 0.235, vs, 1, ink, rng, 1.2);
    cv.hanzi(x0, fh * 0.37, ls, 2, label, rng, 1.0);
    let ds = vs / 7.0 * 0.95;
    let mut x = xv;
    for (part, gap) in [(&birth[..4], 0.5), (&birth[4..6], 0.5), (&birth[6..], 0.5)] {
        x += cv.text(x, fh * 0.368, ds, part.trim_start_matches('0'), ink) + ls * 0.2;
        x = cv.hanzi(x, fh * 0.37, ls, 1, label, rng, 1.0) + ls * gap;
    }
    cv.hanzi(x0, fh * 0.5, ls, 2, label, rng, 1.0);
    let addr = [11, 11, rng.int(3, 9)];
    for (i, n) in addr.iter().enumerate() {
        cv.hanzi(
            xv,
            fh * 0.495 + i as f32 * vs * 1.22,
            vs * 0.92,
            *n,
            ink,
            rng,
            1.1,
        );
    }
    let pb = [[250, 250, 250], [232, 238, 248], [244, 244, 240]][style % 3];
    cv.photo(px, fh * 0.11, fw * 0.3, fh * 0.63, pb, rng);
    let ny = fh * 0.835;
    let nx = if photo_left { fw * 0.06 } else { x0 };
    let after = cv.hanzi(nx, ny, ls, 6, label, rng, 1.0) + ls * 0.8;
    let s = ((fw - after - fw * 0.05) / text_width(&num, 1.0)).min(fh * 0.075 / 7.0);
    cv.text(after, ny - fh * 0.005, s, &num, ink);
    let ws = fh * 0.018;
    cv.text(
        fw * 0.5 - text_width("SPECIMEN", ws) / 2.0,
        fh * 0.62,
        ws,
        "SPECIMEN",
        Pen::ink([220, 40, 40], 0.5),
    );
    cv.paper(3.0, rng);
    cv.img
}

fn id_back(w: u32, h: u32, rng: &mut Rng, style: usize, grain: f32) -> RgbImage {
    let bgs = [
        [238, 240, 232],
        [236, 240, 244],
        [244, 238, 230],
        [240, 236, 240],
    ];
    let mut cv = Canvas::new(w, h, bgs[style % 4]);
    let (fw, fh) = (cv.w, cv.h);
    let line = [
        [150, 190, 160],
        [140, 170, 210],
        [210, 170, 130],
        [190, 160, 200],
    ][style % 4];
    cv.guilloche(0.0, 0.0, fw, fh, Pen::tint(line, 0.35), 20, rng);
    // A wall-like skyline across the lower half: big, faint structure.
    let base = fh * rng.range(0.52, 0.62);
    let mut pts = vec![(0.0, fh)];
    let mut x = 0.0;
    let (amp, f, p) = (fh * 0.08, rng.range(0.004, 0.008), rng.range(0.0, 6.3));
    while x <= fw {
        let y = base + amp * (x * f + p).sin();
        let tooth = if (x / (fw * 0.02)) as i32 % 2 == 0 {
            0.0
        } else {
            fh * 0.02
        };
        let tower = if (x / (fw * 0.11)) as i32 % 3 == 0 {
            fh * 0.06
        } else {
            0.0
        };
        pts.push((x, y - tooth - tower));
        x += fw * 0.01;
    }
    pts.push((fw, fh));
    cv.paint(Pen::tint(line, 0.28), |c| c.polygon(&pts));

    let right = style != 1;
    let (ex, tx) = if right {
        (fw * 0.15, fw * 0.3)
    } else {
        (fw * 0.85, fw * 0.06)
    };
    cv.emblem(ex, fh * 0.26, fh * 0.15);
    cv.hanzi(tx, fh * 0.12, fh * 0.075, 7, Pen::solid(INK), rng, 1.2);
    cv.hanzi(tx, fh * 0.26, fh * 0.12, 5, Pen::solid(INK), rng, 1.8);
    let label = Pen::solid([60, 60, 70]);
    let ls = fh * 0.052;
    let lx = fw * 0.18;
    cv.hanzi(lx, fh * 0.68, ls, 4, label, rng, 1.0);
    let n = rng.int(6, 10);
    cv.hanzi(
        lx + ls * 5.0,
        fh * 0.675,
        ls * 1.1,
        n,
        Pen::solid(INK),
        rng,
        1.1,
    );
    cv.hanzi(lx, fh * 0.81, ls, 4, label, rng, 1.0);
    let y0 = 2010 + rng.int(0, 12);
    let (m, d) = (rng.int(1, 13), rng.int(1, 29));
    let span = [10, 20][rng.int(0, 2) as usize];
    let valid = format!("{y0}.{m:02}.{d:02}-{}.{m:02}.{d:02}", y0 + span);
    cv.text(
        lx + ls * 5.0,
        fh * 0.808,
        ls * 1.05 / 7.0,
        &valid,
        Pen::solid(INK),
    );
    cv.paper(grain, rng);
    cv.img
}

fn ornate_border(cv: &mut Canvas, m: f32, color: Rgb3, rng: &mut Rng) {
    let (w, h) = (cv.w, cv.h);
    let t = w.min(h) * 0.018;
    let gap = t * 1.6;
    let style = rng.int(0, 3);
    cv.paint(Pen::solid(color), |c| {
        c.frame(m, m, w - 2.0 * m, h - 2.0 * m, t);
        let i = m + t + gap * 2.0;
        c.frame(i, i, w - 2.0 * i, h - 2.0 * i, t * 0.25);
        // A chain of diamonds or beads between the frames.
        let mid = m + t + gap;
        let step = gap * 1.4;
        let r = gap * 0.5;
        let mut bead = |x: f32, y: f32| {
            if style == 0 {
                c.polygon(&[(x, y - r), (x + r, y), (x, y + r), (x - r, y)]);
            } else {
                c.disc(x, y, r * 0.6);
            }
        };
        let mut x = mid;
        while x <= w - mid {
            bead(x, mid);
            bead(x, h - mid);
            x += step;
        }
        let mut y = mid;
        while y <= h - mid {
            bead(mid, y);
            bead(w - mid, y);
            y += step;
        }
        for (cx, cy) in [(m, m), (w - m, m), (m, h - m), (w - m, h - m)] {
            c.disc(cx, cy, t * 1.8);
            c.ring(cx, cy, t * 2.8, t * 0.4);
        }
    });
}

fn diploma(w: u32, h: u32, rng: &mut Rng, style: usize) -> RgbImage {
    let papers = [[250, 246, 232], [246, 248, 242], [252, 250, 244]];
    let mut cv = Canvas::new(w, h, papers[style % 3]);
    let (fw, fh) = (cv.w, cv.h);
    let border = [[168, 30, 36], [24, 92, 64], [28, 52, 110]][style % 3];
    cv.guilloche(
        fw * 0.1,
        fh * 0.1,
        fw * 0.9,
        fh * 0.9,
        Pen::tint(border, 0.07),
        14,
        rng,
    );
    ornate_border(&mut cv, fw.min(fh) * 0.035, border, rng);
    let portrait = fh > fw;
    let title_red = style != 1;
    let tpen = Pen::solid(if title_red { [180, 28, 30] } else { INK });
    let ts = fw.min(fh) * 0.1;
    let n_title = 4;
    cv.hanzi(
        fw / 2.0 - ts * n_title as f32 / 2.0,
        fh * 0.1,
        ts,
        n_title,
        tpen,
        rng,
        2.0,
    );
    let ink = Pen::solid(INK);
    let s = fw.min(fh) * 0.042;
    let (body_x, body_w, body_y, photo) = if portrait {
        let pw = fw * 0.2;
        (
            fw * 0.14,
            fw * 0.72,
            fh * 0.48,
            (fw / 2.0 - pw / 2.0, fh * 0.2, pw, pw * 1.35),
        )
    } else if style == 2 {
        (
            fw * 0.12,
            fw * 0.56,
            fh * 0.3,
            (fw * 0.74, fh * 0.27, fw * 0.14, fw * 0.19),
        )
    } else {
        (
            fw * 0.3,
            fw * 0.6,
            fh * 0.3,
            (fw * 0.1, fh * 0.27, fw * 0.14, fw * 0.19),
        )
    };
    let pbg = [[70, 130, 200], [240, 240, 240], [200, 40, 40]][rng.int(0, 3) as usize];
    cv.photo(photo.0, photo.1, photo.2, photo.3, pbg, rng);
    let mut y = body_y;
    let lead = 1.9;
    for l in 0..5 {
        let per = (body_w / s) as i32;
        let n = if l == 4 { per / 2 } else { per - rng.int(0, 3) };
        let ind = if l == 0 { 2.0 } else { 0.0 };
        let mut x = body_x + ind * s;
        // Names, dates and majors are filled in bolder, with numbers.
        let chunks = rng.int(2, 4);
        let mut left = n - ind as i32;
        for k in 0..chunks {
            let len = if k == chunks - 1 {
                left
            } else {
                rng.int(2, (left / 2).max(3))
            };
            left -= len;
            if k % 2 == 1 && rng.chance(0.5) {
                let d = format!("{}", 2010 + rng.int(0, 14));
                x += cv.text(x, y + s * 0.12, s * 0.8 / 7.0, &d, ink) + s * 0.3;
            } else {
                x = cv.hanzi(
                    x,
                    y,
                    s,
                    len.max(1),
                    ink,
                    rng,
                    if k % 2 == 1 { 1.5 } else { 1.0 },
                );
            }
        }
        y += s * lead;
    }
    // School, president, date at the bottom right; the seal over them.
    let bx = if portrait { fw * 0.5 } else { fw * 0.58 };
    let by = if portrait { fh * 0.8 } else { fh * 0.74 };
    cv.hanzi(bx, by, s, 8, ink, rng, 1.2);
    cv.hanzi(bx, by + s * 1.6, s, 3, ink, rng, 1.0);
    cv.signature(
        bx + s * 3.5,
        by + s * 1.2,
        s * 4.0,
        s * 1.6,
        Pen::ink(INK, 0.9),
        rng,
    );
    let date = format!("{}", 2015 + rng.int(0, 10));
    let dx = cv.text(bx, by + s * 3.2, s * 0.8 / 7.0, &date, ink);
    cv.hanzi(bx + dx + s * 0.2, by + s * 3.1, s, 1, ink, rng, 1.0);
    let no = format!("NO. 1031{}", rng.digits(14));
    cv.text(fw * 0.1, fh * 0.86, s * 0.55 / 7.0, &no, ink);
    cv.seal(bx + s * 4.0, by + s * 1.0, fw.min(fh) * 0.11, rng, SEAL_RED);
    if style == 2 {
        // Embossed steel seal over the photo's corner: a pale ring.
        cv.paint(Pen::tint([255, 255, 255], 0.35), |c| {
            c.ring(photo.0, photo.1 + photo.3, photo.2 * 0.45, photo.2 * 0.05)
        });
    }
    cv.paper(3.0, rng);
    cv.img
}

fn degree_record(w: u32, h: u32, rng: &mut Rng, style: usize) -> RgbImage {
    let mut cv = Canvas::new(w, h, [252, 252, 250]);
    let (fw, fh) = (cv.w, cv.h);
    let accent = [[40, 96, 170], [24, 130, 96]][style % 2];
    // Faint repeated watermark, as on verification printouts.
    let ws = fw * 0.004;
    for j in 0..14 {
        for i in 0..4 {
            let off = if j % 2 == 0 { 0.0 } else { fw * 0.12 };
            cv.text(
                fw * 0.04 + off + i as f32 * fw * 0.25,
                fh * 0.04 + j as f32 * fh * 0.07,
                ws,
                "SPECIMEN",
                Pen::tint(accent, 0.08),
            );
        }
    }
    let s = fw * 0.03;
    if style == 1 {
        cv.fill(0.0, 0.0, fw, fh * 0.09, accent);
        cv.hanzi(
            fw * 0.06,
            fh * 0.025,
            s * 1.4,
            10,
            Pen::solid([255, 255, 255]),
            rng,
            1.5,
        );
    } else {
        cv.hanzi(
            fw / 2.0 - s * 1.3 * 6.5,
            fh * 0.05,
            s * 1.3,
            13,
            Pen::solid(INK),
            rng,
            1.6,
        );
        cv.fill(fw * 0.08, fh * 0.1, fw * 0.84, fh * 0.004, accent);
    }
    let ly = fh * 0.125;
    let lx = cv.hanzi(fw * 0.08, ly, s * 0.8, 4, Pen::solid(INK), rng, 1.0);
    let upd = format!(
        "{}-{:02}-{:02}",
        2020 + rng.int(0, 5),
        rng.int(1, 13),
        rng.int(1, 29)
    );
    cv.text(
        lx + s * 0.4,
        ly + s * 0.05,
        s * 0.6 / 7.0,
        &upd,
        Pen::solid(INK),
    );

    let x = fw * 0.08;
    let tw = fw * 0.84;
    let rh = fh * 0.058;
    let split: &[f32] = &[0.2, 0.5, 0.66];
    let wide: &[f32] = &[0.2];
    let rows: Vec<(f32, &[f32])> = if style == 1 {
        vec![
            (rh, split),
            (rh, split),
            (rh, split),
            (rh, split),
            (rh, wide),
            (rh, wide),
            (rh, split),
            (rh, wide),
            (rh, split),
        ]
    } else {
        vec![
            (rh, &[0.18, 0.36, 0.52, 0.76]),
            (rh, &[0.18, 0.36, 0.52, 0.76]),
            (rh, &[0.18, 0.36, 0.52, 0.76]),
            (rh, &[0.18, 0.76]),
            (rh, wide),
            (rh, &[0.18, 0.5, 0.68]),
            (rh, &[0.18, 0.5, 0.68]),
            (rh, wide),
            (rh, wide),
            (rh, &[0.18, 0.5, 0.68]),
        ]
    };
    let ty = fh * 0.17;
    // Shade the label cells first, then rule the table over them.
    for (i, (_, cols)) in rows.iter().enumerate() {
        let y = ty + i as f32 * rh;
        cv.fill(x, y, tw * cols[0], rh, [232, 238, 244]);
        if cols.len() > 2 {
            cv.fill(
                x + tw * cols[1],
                y,
                tw * (cols[2] - cols[1]),
                rh,
                [232, 238, 244],
            );
        }
    }
    let tops = cv.form(x, ty, tw, &rows, 2.0, Pen::solid([90, 100, 120]));
    for (i, (_, cols)) in rows.iter().enumerate() {
        let y = tops[i] + rh * 0.3;
        let cs = rh * 0.42;
        cv.hanzi(x + tw * 0.02, y, cs, 4, Pen::solid([40, 50, 70]), rng, 1.0);
        let mut bounds: Vec<f32> = cols.to_vec();
        bounds.push(1.0);
        // The first four rows of style 0 end in the photo cell.
        let photo_rows = style == 0 && i < 4;
        let cells = bounds.len() - 1 - usize::from(photo_rows);
        for k in 0..cells {
            let cx = x + tw * bounds[k] + tw * 0.02;
            let room = ((tw * (bounds[k + 1] - bounds[k]) * 0.9) / cs) as i32;
            if k % 2 == 0 && room > 0 {
                let fit =
                    ((tw * (bounds[k + 1] - bounds[k]) * 0.9) / (cs * 0.8 / 7.0 * 6.0)) as i32;
                if rng.chance(0.3) && fit >= 6 {
                    let k = rng.int(6, 12).min(fit) as usize;
                    let d = rng.digits(k);
                    cv.text(cx, y + cs * 0.1, cs * 0.8 / 7.0, &d, Pen::solid(INK));
                } else {
                    cv.hanzi(
                        cx,
                        y,
                        cs,
                        rng.int(2, room.max(3)).min(room),
                        Pen::solid(INK),
                        rng,
                        1.0,
                    );
                }
            } else if room > 0 {
                cv.hanzi(cx, y, cs, room.min(4), Pen::solid([40, 50, 70]), rng, 1.0);
            }
        }
    }
    // Photo in the top right corner of the table (left for style 1).
    let pw = tw * 0.2;
    let (px, py) = if style == 1 {
        (x + tw * 0.0, ty + rh * 9.3)
    } else {
        (x + tw * 0.8, ty)
    };
    if style == 1 {
        cv.photo(px, py, pw, pw * 1.3, [245, 245, 245], rng);
    } else {
        cv.photo(
            x + tw * 0.76 + 3.0,
            py + 3.0,
            tw * 0.24 - 4.0,
            rh * 4.0 - 5.0,
            [245, 245, 245],
            rng,
        );
    }
    let qy = fh * 0.78;
    let qx = if style == 1 { fw * 0.7 } else { fw * 0.08 };
    cv.qr(qx, qy, fw * 0.17, rng);
    let code: String = (0..16)
        .map(|_| {
            let k = rng.int(0, 36) as u8;
            char::from(if k < 10 { b'0' + k } else { b'A' + k - 10 })
        })
        .collect();
    let cx = if style == 1 { fw * 0.08 } else { fw * 0.3 };
    cv.hanzi(cx, qy + fw * 0.02, s * 0.8, 5, Pen::solid(INK), rng, 1.0);
    cv.text(cx, qy + fw * 0.07, s * 0.75 / 7.0, &code, Pen::solid(INK));
    cv.paragraph(
        cx,
        qy + fw * 0.12,
        fw * 0.4,
        s * 0.55,
        3,
        1.6,
        Pen::solid([80, 80, 90]),
        rng,
    );
    let sx = if style == 1 { fw * 0.5 } else { fw * 0.76 };
    cv.seal(sx, qy + fw * 0.08, fw * 0.1, rng, SEAL_RED);
    cv.paper(2.0, rng);
    cv.img
}

fn trial_assessment(w: u32, h: u32, rng: &mut Rng, style: usize) -> RgbImage {
    let mut cv = Canvas::new(w, h, [250, 250, 247]);
    let (fw, fh) = (cv.w, cv.h);
    let s = fw * 0.034;
    let pen_ink = [BLUE_INK, INK, [20, 60, 120]][style % 3];
    let hand = Pen::ink(pen_ink, 0.92);
    cv.hanzi(
        fw / 2.0 - s * 1.4 * 4.5,
        fh * 0.05,
        s * 1.4,
        9,
        Pen::solid(INK),
        rng,
        1.8,
    );
    let x = fw * 0.08;
    let tw = fw * 0.84;
    let rh = fh * 0.055;
    let big = [fh * 0.2, fh * 0.26, fh * 0.16][style % 3];
    let rows: Vec<(f32, &[f32])> = match style % 3 {
        0 => vec![
            (rh, &[0.15, 0.35, 0.5, 0.65, 0.8]),
            (rh, &[0.15, 0.6, 0.75]),
            (rh, &[0.15]),
            (rh, &[0.15, 0.5, 0.65]),
            (big, &[0.15]),
            (big, &[0.15]),
            (rh * 2.6, &[0.15]),
        ],
        1 => vec![
            (rh, &[0.2, 0.45, 0.6]),
            (rh, &[0.2, 0.45, 0.6]),
            (rh, &[0.2]),
            (big, &[0.2]),
            (big * 0.8, &[0.2]),
        ],
        _ => vec![
            (rh, &[0.14, 0.3, 0.44, 0.6, 0.74]),
            (rh, &[0.14]),
            (rh, &[0.14, 0.56, 0.7]),
            (rh, &[0.14]),
            (big, &[0.14]),
            (big, &[0.14]),
            (big, &[0.14]),
        ],
    };
    let ty = fh * 0.13;
    let tops = cv.form(x, ty, tw, &rows, 2.0, Pen::solid([40, 40, 50]));
    let mut seals = Vec::new();
    for (i, (rhh, cols)) in rows.iter().enumerate() {
        let top = tops[i];
        let cs = rh * 0.4;
        let mut bounds: Vec<f32> = vec![0.0];
        bounds.extend_from_slice(cols);
        bounds.push(1.0);
        if *rhh > rh * 1.5 {
            // Label column printed vertically, the opinion handwritten.
            let lx = x + tw * bounds[1] / 2.0 - cs / 2.0;
            for k in 0..4 {
                cv.hanzi(
                    lx,
                    top + rhh * 0.15 + k as f32 * cs * 1.5,
                    cs,
                    1,
                    Pen::solid(INK),
                    rng,
                    1.0,
                );
            }
            let hx = x + tw * bounds[1] + tw * 0.03;
            // Signature and date sit at the bottom of the box; the opinion
            // fills what is above them.
            let sy = top + rhh - cs * 3.4;
            let lines = ((sy - top - rhh * 0.1) / (cs * 2.0)) as i32;
            for l in 0..lines.max(1) {
                let n = rng.int(10, 17);
                cv.hand(
                    hx,
                    top + rhh * 0.1 + l as f32 * cs * 2.0,
                    cs * 1.3,
                    n,
                    hand,
                    rng,
                );
            }
            let sx = x + tw * 0.55;
            cv.hanzi(sx, sy, cs, 4, Pen::solid(INK), rng, 1.0);
            cv.signature(sx + cs * 4.5, sy - cs * 0.6, cs * 6.0, cs * 2.2, hand, rng);
            let date = format!(
                "{}.{}.{}",
                2023 + rng.int(0, 3),
                rng.int(1, 13),
                rng.int(1, 29)
            );
            cv.text(sx + cs * 4.5, sy + cs * 1.7, cs * 0.9 / 7.0, &date, hand);
            if rng.chance(0.8) {
                seals.push((sx + cs * rng.range(2.0, 7.0), sy - cs * rng.range(0.5, 2.5)));
            }
        } else {
            for k in 0..bounds.len() - 1 {
                let cx = x + tw * bounds[k] + tw * 0.015;
                let room = ((tw * (bounds[k + 1] - bounds[k]) * 0.85) / cs) as i32;
                if k % 2 == 0 {
                    cv.hanzi(
                        cx,
                        top + rhh * 0.3,
                        cs,
                        room.clamp(1, 4),
                        Pen::solid(INK),
                        rng,
                        1.0,
                    );
                } else if rng.chance(0.25) && room >= 8 {
                    let d = format!("{}.{:02}", 1990 + rng.int(0, 10), rng.int(1, 13));
                    cv.text(cx, top + rhh * 0.3, cs * 1.1 / 7.0, &d, hand);
                } else {
                    let n = rng.int(2, room.max(3)).min(room.max(1));
                    cv.hand(cx, top + rhh * 0.18, cs * 1.4, n, hand, rng);
                }
            }
        }
    }
    cv.paragraph(
        x,
        tops[rows.len()] + s,
        tw,
        s * 0.6,
        2,
        1.6,
        Pen::solid([70, 70, 80]),
        rng,
    );
    for (sx, sy) in seals {
        cv.seal(sx, sy, fw * 0.085, rng, SEAL_RED);
    }
    cv.paper(2.5, rng);
    cv.img
}

/// An open booklet (certificate): two pages inside a coloured cover.
fn booklet(
    w: u32,
    h: u32,
    rng: &mut Rng,
    cover: Rgb3,
    page: Rgb3,
    pattern: Rgb3,
    licence: bool,
) -> RgbImage {
    let mut cv = Canvas::new(w, h, cover);
    let (fw, fh) = (cv.w, cv.h);
    let m = fw * 0.03;
    let (pw, ph) = ((fw - 3.0 * m) / 2.0, fh - 2.0 * m);
    cv.fill(m, m, pw * 2.0 + m, ph, page);
    cv.guilloche(
        m,
        m,
        m + pw * 2.0 + m,
        m + ph,
        Pen::tint(pattern, 0.18),
        34,
        rng,
    );
    // The fold: a soft dark gutter.
    for k in 0..12 {
        let a = 0.22 * (1.0 - k as f32 / 12.0);
        let cx = fw / 2.0;
        cv.paint(Pen::tint([60, 50, 40], a * 0.5), |c| {
            c.rect(cx - k as f32 * 2.0, m, 2.0, ph);
            c.rect(cx + k as f32 * 2.0, m, 2.0, ph);
        });
    }
    let s = ph * 0.045;
    let ink = Pen::solid(INK);
    let (l0, r0) = (m, fw / 2.0 + m * 0.5);
    // Left page: emblem, title, issuing authority.
    let lc = l0 + pw / 2.0;
    if licence {
        cv.photo(
            l0 + pw * 0.08,
            m + ph * 0.1,
            pw * 0.3,
            pw * 0.4,
            [240, 244, 250],
            rng,
        );
        let fy = m + ph * 0.1;
        for k in 0..6 {
            let y = fy + k as f32 * s * 1.8;
            let x = cv.hanzi(l0 + pw * 0.45, y, s * 0.8, 3, ink, rng, 1.0) + s * 0.4;
            if k == 3 {
                let (num, _) = fake_id_number(rng);
                cv.text(x, y + s * 0.1, s * 0.55 / 7.0, &num, ink);
            } else {
                let n = rng.int(2, 6);
                cv.hanzi(x, y, s * 0.8, n, ink, rng, 1.2);
            }
        }
        cv.emblem(lc, m + ph * 0.72, ph * 0.1);
    } else {
        cv.emblem(lc, m + ph * 0.2, ph * 0.11);
        let n = 5;
        cv.hanzi(
            lc - s * 1.6 * n as f32 / 2.0,
            m + ph * 0.4,
            s * 1.6,
            n,
            Pen::solid([150, 30, 30]),
            rng,
            1.8,
        );
        cv.hanzi(
            lc - s * 1.6 * 2.5,
            m + ph * 0.4 + s * 2.2,
            s * 1.6,
            5,
            Pen::solid([150, 30, 30]),
            rng,
            1.8,
        );
        cv.paragraph(
            l0 + pw * 0.12,
            m + ph * 0.66,
            pw * 0.76,
            s * 0.75,
            3,
            1.8,
            ink,
            rng,
        );
    }
    // Right page: field rows, number, seal.
    let fx = r0 + pw * 0.08;
    let mut y = m + ph * 0.1;
    if !licence {
        cv.photo(
            r0 + pw * 0.64,
            m + ph * 0.08,
            pw * 0.28,
            pw * 0.37,
            [236, 240, 248],
            rng,
        );
    }
    let rows = if licence { 9 } else { 8 };
    for k in 0..rows {
        let x = cv.hanzi(fx, y, s * 0.8, rng.int(2, 5), ink, rng, 1.0) + s * 0.5;
        let num_row = if licence { 2 } else { 5 };
        if k == num_row || k == rows - 2 {
            let d = if k == num_row {
                rng.digits(15)
            } else {
                format!(
                    "{}.{:02}.{:02}",
                    2015 + rng.int(0, 10),
                    rng.int(1, 13),
                    rng.int(1, 29)
                )
            };
            cv.text(x, y + s * 0.1, s * 0.6 / 7.0, &d, ink);
        } else {
            let room = if !licence && k < 4 { 5 } else { 10 };
            let n = rng.int(2, room);
            cv.hanzi(x, y, s * 0.8, n, ink, rng, 1.2);
        }
        y += s * 1.9;
    }
    cv.seal(r0 + pw * 0.68, m + ph * 0.78, ph * 0.12, rng, SEAL_RED);
    cv.paper(2.5, rng);
    cv.img
}

fn single_licence(w: u32, h: u32, rng: &mut Rng) -> RgbImage {
    let mut cv = Canvas::new(w, h, [246, 249, 252]);
    let (fw, fh) = (cv.w, cv.h);
    cv.guilloche(0.0, 0.0, fw, fh, Pen::tint([120, 160, 210], 0.2), 40, rng);
    cv.fill(0.0, 0.0, fw, fh * 0.16, [34, 78, 150]);
    cv.emblem(fw * 0.14, fh * 0.08, fh * 0.055);
    let s = fw * 0.04;
    cv.hanzi(
        fw * 0.26,
        fh * 0.05,
        s * 1.3,
        6,
        Pen::solid([255, 255, 255]),
        rng,
        1.6,
    );
    cv.photo(
        fw * 0.36,
        fh * 0.2,
        fw * 0.28,
        fw * 0.37,
        [250, 250, 250],
        rng,
    );
    let mut y = fh * 0.2 + fw * 0.42;
    for k in 0..8 {
        let x = cv.hanzi(fw * 0.1, y, s * 0.75, 4, Pen::solid([50, 60, 80]), rng, 1.0) + s * 0.6;
        if k == 1 || k == 5 {
            let d = rng.digits(15);
            cv.text(x, y + s * 0.1, s * 0.55 / 7.0, &d, Pen::solid(INK));
        } else {
            let n = rng.int(2, 10);
            cv.hanzi(x, y, s * 0.75, n, Pen::solid(INK), rng, 1.2);
        }
        y += s * 1.6;
    }
    cv.qr(fw * 0.1, fh * 0.83, fw * 0.15, rng);
    cv.seal(fw * 0.72, fh * 0.86, fw * 0.11, rng, SEAL_RED);
    cv.paper(2.0, rng);
    cv.img
}

fn institution_licence(w: u32, h: u32, rng: &mut Rng, style: usize) -> RgbImage {
    let mut cv = Canvas::new(w, h, [251, 249, 242]);
    let (fw, fh) = (cv.w, cv.h);
    let col = [[150, 110, 40], [150, 30, 40]][style % 2];
    // Broad patterned band inside the border.
    let m = fw.min(fh) * 0.03;
    let band = fw.min(fh) * 0.06;
    cv.fill(m, m, fw - 2.0 * m, fh - 2.0 * m, col);
    cv.fill(
        m + band,
        m + band,
        fw - 2.0 * (m + band),
        fh - 2.0 * (m + band),
        [251, 249, 242],
    );
    cv.guilloche(
        m,
        m,
        fw - m,
        fh - m,
        Pen::tint([255, 240, 200], 0.4),
        50,
        rng,
    );
    cv.fill(
        m + band,
        m + band,
        fw - 2.0 * (m + band),
        fh - 2.0 * (m + band),
        [251, 249, 242],
    );
    let inner = m + band + fw.min(fh) * 0.01;
    cv.paint(Pen::solid(col), |c| {
        c.frame(inner, inner, fw - 2.0 * inner, fh - 2.0 * inner, 2.0)
    });
    let s = fw.min(fh) * 0.04;
    let portrait = fh > fw;
    cv.emblem(fw / 2.0, inner + fh * 0.09, fw.min(fh) * 0.07);
    let n = 8;
    cv.hanzi(
        fw / 2.0 - s * 1.6 * n as f32 / 2.0,
        inner + fh * 0.18,
        s * 1.6,
        n,
        Pen::solid(INK),
        rng,
        1.8,
    );
    let (cols, x0) = if portrait {
        (1, fw * 0.16)
    } else {
        (2, fw * 0.12)
    };
    let rows = if portrait { 10 } else { 5 };
    let ystart = inner + fh * 0.18 + s * 2.8;
    for c in 0..cols {
        let xc = x0 + c as f32 * fw * 0.4;
        for r in 0..rows {
            let y = ystart + r as f32 * s * 1.7;
            let x = cv.hanzi(xc, y, s * 0.8, 4, Pen::solid([60, 50, 40]), rng, 1.0) + s * 0.3;
            let n = rng.int(3, 9);
            cv.hanzi(x, y, s * 0.8, n, Pen::solid(INK), rng, 1.2);
        }
    }
    // QR bottom left; registration number and validity beside it.
    let qs = fw.min(fh) * 0.14;
    let (qx, qy) = (inner + fw * 0.03, fh - inner - qs - fh * 0.03);
    cv.qr(qx, qy, qs, rng);
    let no = format!("PDY{}", rng.digits(17));
    cv.text(
        qx + qs + s * 0.6,
        qy + qs * 0.3,
        s * 0.6 / 7.0,
        &no,
        Pen::solid(INK),
    );
    let valid = format!(
        "{}.{:02}.{:02}-{}.12.31",
        2020 + rng.int(0, 5),
        rng.int(1, 13),
        rng.int(1, 29),
        2026 + rng.int(0, 5)
    );
    cv.text(
        qx + qs + s * 0.6,
        qy + qs * 0.3 + s * 1.2,
        s * 0.6 / 7.0,
        &valid,
        Pen::solid(INK),
    );
    cv.seal(
        fw - inner - fw.min(fh) * 0.2,
        fh - inner - fw.min(fh) * 0.16,
        fw.min(fh) * 0.11,
        rng,
        SEAL_RED,
    );
    cv.paper(2.5, rng);
    cv.img
}

fn pledge(w: u32, h: u32, rng: &mut Rng, style: usize, grain: f32) -> RgbImage {
    let mut cv = Canvas::new(w, h, [251, 251, 249]);
    let (fw, fh) = (cv.w, cv.h);
    let s = fw * 0.03;
    cv.hanzi(
        fw / 2.0 - s * 1.5 * 2.5,
        fh * 0.06,
        s * 1.5,
        5,
        Pen::solid(INK),
        rng,
        1.9,
    );
    let x = fw * 0.1;
    let tw = fw * 0.8;
    let mut y = fh * 0.13;
    let paras = if style == 0 {
        [4, 5, 4, 2]
    } else {
        [5, 2, 4, 2]
    };
    for p in paras {
        y = cv.paragraph(x, y, tw, s, p, 1.7, Pen::solid(INK), rng) + s * 0.5;
    }
    let hand = Pen::ink(BLUE_INK, 0.9);
    let sy = y + s * 1.5;
    let sx = fw * 0.5;
    let after = cv.hanzi(sx, sy, s, 6, Pen::solid(INK), rng, 1.0);
    cv.signature(after + s * 0.5, sy - s * 0.8, s * 5.0, s * 2.2, hand, rng);
    let date = format!(
        "{}.{}.{}",
        2025 + rng.int(0, 2),
        rng.int(1, 13),
        rng.int(1, 29)
    );
    cv.text(sx + s * 2.0, sy + s * 2.2, s * 0.9 / 7.0, &date, hand);
    // A red fingerprint next to the name.
    let (fx, fy) = (after + s * 6.5, sy + s * 0.4);
    let mut voids = Rng::new(rng.next_u64());
    cv.paint(Pen::ink(SEAL_RED, 0.7), |c| {
        for k in 1..9 {
            let r = k as f32 * s * 0.1;
            c.ellipse_ring(fx, fy, r * 0.8, r, s * 0.045);
        }
        c.speckle(&mut voids, 0.7);
    });
    if style == 1 {
        // School opinion box with seal.
        let by = sy + s * 4.0;
        cv.paint(Pen::solid(INK), |c| c.frame(x, by, tw, fh * 0.93 - by, 2.0));
        cv.hanzi(x + s * 0.5, by + s * 0.5, s, 4, Pen::solid(INK), rng, 1.0);
        cv.hand(x + s * 0.8, by + s * 2.0, s * 1.2, 12, hand, rng);
        cv.seal(
            x + tw * 0.7,
            by + (fh * 0.93 - by) * 0.5,
            fw * 0.1,
            rng,
            SEAL_RED,
        );
    } else {
        cv.seal(sx + s * 3.0, sy + s * 1.2, fw * 0.1, rng, SEAL_RED);
    }
    cv.paper(grain, rng);
    cv.img
}

fn letter(w: u32, h: u32, rng: &mut Rng, style: usize) -> RgbImage {
    let mut cv = Canvas::new(w, h, [252, 252, 250]);
    let (fw, fh) = (cv.w, cv.h);
    let s = fw * 0.032;
    let x = fw * 0.1;
    let tw = fw * 0.8;
    if style == 0 {
        // Red letterhead: a big name over a double rule.
        let red = Pen::solid([200, 30, 30]);
        cv.hanzi(
            fw / 2.0 - s * 2.0 * 5.0,
            fh * 0.05,
            s * 2.0,
            10,
            red,
            rng,
            2.0,
        );
        cv.fill(x, fh * 0.05 + s * 2.6, tw, s * 0.18, [200, 30, 30]);
        cv.fill(x, fh * 0.05 + s * 3.0, tw, s * 0.06, [200, 30, 30]);
        cv.hanzi(
            fw / 2.0 - s * 1.4 * 2.0,
            fh * 0.16,
            s * 1.4,
            4,
            Pen::solid(INK),
            rng,
            1.8,
        );
        let mut y = fh * 0.24;
        for p in [5, 4, 2] {
            y = cv.paragraph(x, y, tw, s, p, 1.8, Pen::solid(INK), rng) + s * 0.6;
        }
        let by = y + s * 2.0;
        cv.hanzi(fw * 0.56, by, s, 8, Pen::solid(INK), rng, 1.0);
        let date = format!(
            "{}.{:02}.{:02}",
            2025 + rng.int(0, 2),
            rng.int(1, 13),
            rng.int(1, 29)
        );
        cv.text(
            fw * 0.6,
            by + s * 1.8,
            s * 0.9 / 7.0,
            &date,
            Pen::solid(INK),
        );
        cv.seal(fw * 0.68, by + s * 0.6, fw * 0.11, rng, SEAL_RED);
    } else {
        // A registry extract: a blue bordered form with a stamp.
        let blue = [60, 100, 160];
        cv.paint(Pen::solid(blue), |c| {
            c.frame(fw * 0.05, fh * 0.04, fw * 0.9, fh * 0.92, s * 0.3);
            c.frame(fw * 0.065, fh * 0.05, fw * 0.87, fh * 0.9, 2.0);
        });
        cv.hanzi(
            fw / 2.0 - s * 1.5 * 3.0,
            fh * 0.08,
            s * 1.5,
            6,
            Pen::solid(blue),
            rng,
            1.8,
        );
        let rows: Vec<(f32, &[f32])> = (0..12)
            .map(|k| {
                (
                    fh * 0.045,
                    if k % 3 == 0 {
                        &[0.2][..]
                    } else {
                        &[0.2, 0.5, 0.7][..]
                    },
                )
            })
            .collect();
        let tops = cv.form(x, fh * 0.16, tw, &rows, 2.0, Pen::solid(blue));
        for (i, (rhh, cols)) in rows.iter().enumerate() {
            let cs = rhh * 0.45;
            let y = tops[i] + rhh * 0.28;
            cv.hanzi(x + tw * 0.02, y, cs, 4, Pen::solid(blue), rng, 1.0);
            let n = rng.int(2, if cols.len() > 1 { 6 } else { 16 });
            cv.hanzi(x + tw * 0.22, y, cs, n, Pen::solid(INK), rng, 1.1);
            if cols.len() > 1 {
                cv.hanzi(x + tw * 0.52, y, cs, 3, Pen::solid(blue), rng, 1.0);
                let k = rng.int(4, 9) as usize;
                let d = rng.digits(k);
                cv.text(
                    x + tw * 0.72,
                    y + cs * 0.1,
                    cs * 0.8 / 7.0,
                    &d,
                    Pen::solid(INK),
                );
            }
        }
        let y = tops[rows.len()] + s;
        cv.paragraph(x, y, tw, s * 0.8, 3, 1.7, Pen::solid(INK), rng);
        cv.seal(fw * 0.72, fh * 0.84, fw * 0.1, rng, SEAL_RED);
    }
    cv.paper(2.0, rng);
    cv.img
}

// -------------------------------------------------------------- catalogue

struct Out {
    file: &'static str,
    category: &'static str,
    slot: Option<u8>,
    flaw: Option<&'static str>,
    what: &'static str,
    bytes: Vec<u8>,
}

const DEFAULT_BUDGET: usize = 120_000;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    fs::create_dir_all(&dir).expect("create assets/");
    let mut outs: Vec<Out> = Vec::new();
    let mut add = |file: &'static str,
                   category: &'static str,
                   slot: Option<u8>,
                   flaw: Option<&'static str>,
                   what: &'static str,
                   bytes: Vec<u8>| {
        assert!(bytes.len() <= 204_800, "{file} is {} bytes", bytes.len());
        println!("{file:32} {:>7} bytes", bytes.len());
        outs.push(Out {
            file,
            category,
            slot,
            flaw,
            what,
            bytes,
        });
    };
    let r = Rng::from_name;
    let wood = |w: u32, h: u32, rng: &mut Rng| desk(w, h, [120, 84, 56], true, rng);
    let cloth = |w: u32, h: u32, rng: &mut Rng| desk(w, h, [70, 74, 82], false, rng);

    // ID card, front. Card ratio 85.6 × 54 mm.
    {
        let mut g = r("id_front_1");
        let img = scan(id_front(1600, 1010, &mut g, 0), &mut g);
        add(
            "id_front_1.jpg",
            "ID_PROOF",
            Some(0),
            None,
            "ID card front, flatbed scan cropped to the card",
            jpeg(&img, 190_000),
        );
        let mut g = r("id_front_2");
        let card = id_front(1200, 757, &mut g, 1);
        let img = camera(
            place(
                &card,
                wood(1440, 1080, &mut g),
                0.82,
                -2.0,
                0.04,
                (0.01, 0.02),
            ),
            0.25,
            1.5,
            &mut g,
        );
        add(
            "id_front_2.jpg",
            "ID_PROOF",
            Some(0),
            None,
            "ID card front, phone photo on a wooden desk, slight tilt",
            jpeg(&img, DEFAULT_BUDGET),
        );
        let mut g = r("id_front_3");
        let card = id_front(1300, 820, &mut g, 2);
        let img = camera(
            place(
                &card,
                cloth(1400, 1000, &mut g),
                0.88,
                1.2,
                0.04,
                (0.0, -0.01),
            ),
            0.2,
            1.2,
            &mut g,
        );
        add(
            "id_front_3.jpg",
            "ID_PROOF",
            Some(0),
            None,
            "ID card front, photo on a dark cloth, photo on the left",
            jpeg(&img, DEFAULT_BUDGET),
        );
    }
    // ID card, back.
    {
        let mut g = r("id_back_1");
        let img = scan(id_back(1600, 1010, &mut g, 0, 3.0), &mut g);
        add(
            "id_back_1.jpg",
            "ID_PROOF",
            Some(1),
            None,
            "ID card back, flatbed scan cropped to the card",
            jpeg(&img, 190_000),
        );
        let mut g = r("id_back_2");
        let card = id_back(1200, 757, &mut g, 1, 3.0);
        let img = camera(
            place(
                &card,
                wood(1440, 1080, &mut g),
                0.8,
                2.5,
                0.04,
                (-0.02, 0.0),
            ),
            0.25,
            1.5,
            &mut g,
        );
        add(
            "id_back_2.jpg",
            "ID_PROOF",
            Some(1),
            None,
            "ID card back, phone photo on a wooden desk, emblem on the right",
            jpeg(&img, DEFAULT_BUDGET),
        );
        let mut g = r("id_back_3");
        let img = id_back(1000, 631, &mut g, 2, 0.0);
        add(
            "id_back_3.png",
            "ID_PROOF",
            Some(1),
            None,
            "ID card back, clean PNG export (no scan noise)",
            png(&img, false),
        );
    }
    // Diplomas.
    let diploma_1 = {
        let mut g = r("diploma_1");
        let img = scan(diploma(1600, 1130, &mut g, 0), &mut g);
        let bytes = jpeg(&img, 170_000);
        add(
            "diploma_1.jpg",
            "DIPLOMA",
            None,
            None,
            "diploma, red ornamental border, photo left, red seal",
            bytes.clone(),
        );
        bytes
    };
    {
        let mut g = r("diploma_2");
        let img = scan(diploma(1130, 1600, &mut g, 1), &mut g);
        add(
            "diploma_2.jpg",
            "DIPLOMA",
            None,
            None,
            "diploma, portrait, green border, photo centred",
            jpeg(&img, DEFAULT_BUDGET),
        );
        let mut g = r("diploma_3");
        let doc = diploma(1400, 990, &mut g, 2);
        let img = camera(
            place(&doc, cloth(1600, 1200, &mut g), 0.9, -1.0, 0.0, (0.0, 0.0)),
            0.3,
            1.5,
            &mut g,
        );
        add(
            "diploma_3.jpg",
            "DIPLOMA",
            None,
            None,
            "diploma, blue border, photo right with embossed seal, phone photo",
            jpeg(&img, DEFAULT_BUDGET),
        );
    }
    // Degree records (学历证明).
    for (i, file) in ["degree_record_1.jpg", "degree_record_2.jpg"]
        .into_iter()
        .enumerate()
    {
        let mut g = r(file);
        let img = scan(degree_record(1000, 1414, &mut g, i), &mut g);
        let what = [
            "degree record (registration form), blue title rule, photo in the table, QR",
            "degree record, green header band, photo below the table, QR right",
        ][i];
        add(
            file,
            "DEGREE_RECORD",
            None,
            None,
            what,
            jpeg(&img, DEFAULT_BUDGET),
        );
    }
    // Trial-period assessments.
    for (i, file) in [
        "trial_assessment_1.jpg",
        "trial_assessment_2.jpg",
        "trial_assessment_3.jpg",
    ]
    .into_iter()
    .enumerate()
    {
        let mut g = r(file);
        let doc = trial_assessment(1000, 1414, &mut g, i);
        let img = if i == 1 {
            camera(
                place(&doc, wood(1200, 1600, &mut g), 0.86, 1.5, 0.0, (0.0, 0.0)),
                0.3,
                1.5,
                &mut g,
            )
        } else {
            scan(doc, &mut g)
        };
        let what = [
            "trial-period assessment form, blue handwriting, seals, signature",
            "trial-period assessment form, black ink, phone photo on a desk",
            "trial-period assessment form, three opinion boxes",
        ][i];
        add(
            file,
            "TRIAL_ASSESSMENT",
            None,
            None,
            what,
            jpeg(&img, DEFAULT_BUDGET),
        );
    }
    // Assistant physician certificates: open booklets.
    {
        let mut g = r("assistant_cert_1");
        let img = scan(
            booklet(
                1600,
                1100,
                &mut g,
                [120, 26, 30],
                [250, 246, 236],
                [200, 160, 120],
                false,
            ),
            &mut g,
        );
        add(
            "assistant_cert_1.jpg",
            "ASSISTANT_CERT",
            None,
            None,
            "assistant physician certificate, open booklet, red cover",
            jpeg(&img, DEFAULT_BUDGET),
        );
        let mut g = r("assistant_cert_2");
        let doc = booklet(
            1400,
            960,
            &mut g,
            [24, 80, 52],
            [246, 250, 244],
            [120, 180, 140],
            false,
        );
        let img = camera(
            place(&doc, wood(1600, 1200, &mut g), 0.9, -1.5, 0.01, (0.0, 0.0)),
            0.3,
            1.5,
            &mut g,
        );
        add(
            "assistant_cert_2.jpg",
            "ASSISTANT_CERT",
            None,
            None,
            "assistant physician certificate, green cover, phone photo",
            jpeg(&img, DEFAULT_BUDGET),
        );
    }
    // Practice licences.
    {
        let mut g = r("practice_license_1");
        let img = scan(
            booklet(
                1600,
                1100,
                &mut g,
                [28, 50, 100],
                [244, 248, 252],
                [130, 160, 210],
                true,
            ),
            &mut g,
        );
        add(
            "practice_license_1.jpg",
            "PRACTICE_LICENSE",
            None,
            None,
            "physician practice licence, open booklet, blue cover, photo left",
            jpeg(&img, DEFAULT_BUDGET),
        );
        let mut g = r("practice_license_2");
        let img = scan(single_licence(1100, 1500, &mut g), &mut g);
        add(
            "practice_license_2.jpg",
            "PRACTICE_LICENSE",
            None,
            None,
            "physician practice licence, single page with blue header band and QR",
            jpeg(&img, DEFAULT_BUDGET),
        );
    }
    // Institution licences.
    {
        let mut g = r("institution_license_1");
        let img = scan(institution_licence(1600, 1130, &mut g, 0), &mut g);
        add(
            "institution_license_1.jpg",
            "INSTITUTION_LICENSE",
            None,
            None,
            "medical institution licence, landscape, gold band border, QR",
            jpeg(&img, DEFAULT_BUDGET),
        );
        let mut g = r("institution_license_2");
        let doc = institution_licence(1060, 1500, &mut g, 1);
        let img = camera(
            place(&doc, cloth(1200, 1600, &mut g), 0.88, 0.8, 0.0, (0.0, 0.0)),
            0.25,
            1.2,
            &mut g,
        );
        add(
            "institution_license_2.jpg",
            "INSTITUTION_LICENSE",
            None,
            None,
            "medical institution licence, portrait copy, red band, phone photo",
            jpeg(&img, DEFAULT_BUDGET),
        );
    }
    // Graduate pledges.
    {
        let mut g = r("graduate_pledge_1");
        let img = pledge(1000, 1414, &mut g, 0, 0.0);
        add(
            "graduate_pledge_1.png",
            "GRADUATE_PLEDGE",
            None,
            None,
            "graduate pledge, grayscale scan saved as PNG, signature and fingerprint",
            png(&img, true),
        );
        let mut g = r("graduate_pledge_2");
        let doc = pledge(1000, 1414, &mut g, 1, 2.0);
        let img = camera(
            place(&doc, wood(1200, 1600, &mut g), 0.86, -1.2, 0.0, (0.0, 0.01)),
            0.3,
            1.5,
            &mut g,
        );
        add(
            "graduate_pledge_2.jpg",
            "GRADUATE_PLEDGE",
            None,
            None,
            "graduate pledge with school opinion box and seal, phone photo",
            jpeg(&img, DEFAULT_BUDGET),
        );
    }
    // Other supporting documents.
    {
        let mut g = r("other_1");
        let img = scan(letter(1000, 1414, &mut g, 0), &mut g);
        add(
            "other_1.jpg",
            "OTHER",
            None,
            None,
            "work certificate letter, red letterhead, seal",
            jpeg(&img, DEFAULT_BUDGET),
        );
        let mut g = r("other_2");
        let img = scan(letter(1000, 1414, &mut g, 1), &mut g);
        add(
            "other_2.jpg",
            "OTHER",
            None,
            None,
            "registry extract, blue bordered form, seal",
            jpeg(&img, DEFAULT_BUDGET),
        );
    }

    // ------------------------------------------------ flawed uploads
    {
        // Blurry: each is its own document, so that it is not a near
        // duplicate of a clean asset another demo candidate uploads.
        let mut g = r("id_front_blurry");
        let card = id_front(1200, 757, &mut g, 3);
        let img = place(&card, wood(1440, 1080, &mut g), 0.84, 1.0, 0.04, (0.0, 0.0));
        let img = camera(imageops::blur(&img, 4.5), 0.25, 1.5, &mut g);
        add(
            "id_front_blurry.jpg",
            "ID_PROOF",
            Some(0),
            Some("Blurry"),
            "ID card front, out of focus (Gaussian blur sigma 4.5)",
            jpeg(&img, DEFAULT_BUDGET),
        );

        let mut g = r("diploma_blurry");
        let doc = diploma(1600, 1130, &mut g, 1);
        let img = camera(imageops::blur(&doc, 3.5), 0.2, 1.2, &mut g);
        add(
            "diploma_blurry.jpg",
            "DIPLOMA",
            None,
            Some("Blurry"),
            "diploma, camera shake (Gaussian blur sigma 3.5)",
            jpeg(&img, DEFAULT_BUDGET),
        );

        let mut g = r("trial_assessment_blurry");
        let doc = trial_assessment(1000, 1414, &mut g, 2);
        let img = camera(imageops::blur(&doc, 5.0), 0.2, 1.2, &mut g);
        add(
            "trial_assessment_blurry.jpg",
            "TRIAL_ASSESSMENT",
            None,
            Some("Blurry"),
            "trial-period assessment, unreadable (Gaussian blur sigma 5)",
            jpeg(&img, DEFAULT_BUDGET),
        );

        // Rotated: the pixels themselves lie sideways, no EXIF to fix it.
        let mut g = r("id_back_sideways");
        let img = scan(id_back(1400, 884, &mut g, 3, 3.0), &mut g);
        add(
            "id_back_sideways.jpg",
            "ID_PROOF",
            Some(1),
            Some("Rotated"),
            "ID card back, pixels rotated 90 degrees (no EXIF)",
            jpeg(&imageops::rotate90(&img), DEFAULT_BUDGET),
        );

        let mut g = r("degree_record_sideways");
        let img = scan(degree_record(1000, 1414, &mut g, 0), &mut g);
        add(
            "degree_record_sideways.jpg",
            "DEGREE_RECORD",
            None,
            Some("Rotated"),
            "degree record, pixels rotated 270 degrees (no EXIF)",
            jpeg(&imageops::rotate270(&img), DEFAULT_BUDGET),
        );

        // EXIF orientation 6: stored sideways, a real APP1 says "rotate
        // 90° clockwise to view".
        let mut g = r("practice_license_exif6");
        let doc = booklet(
            1400,
            960,
            &mut g,
            [60, 30, 90],
            [248, 246, 252],
            [170, 150, 200],
            true,
        );
        let img = camera(
            place(&doc, wood(1600, 1200, &mut g), 0.9, 1.0, 0.01, (0.0, 0.0)),
            0.25,
            1.5,
            &mut g,
        );
        let stored = imageops::rotate270(&img);
        add(
            "practice_license_exif6.jpg",
            "PRACTICE_LICENSE",
            None,
            Some("ExifRotated"),
            "practice licence, phone photo stored sideways with EXIF Orientation=6",
            with_exif_orientation(&jpeg(&stored, DEFAULT_BUDGET), 6),
        );

        // Too small: thumbnails, one JPEG and one PNG.
        let mut g = r("id_front_small");
        let img = scan(id_front(1200, 757, &mut g, 1), &mut g);
        let small = imageops::resize(&img, 240, 150, FilterType::Triangle);
        add(
            "id_front_small.jpg",
            "ID_PROOF",
            Some(0),
            Some("TooSmall"),
            "ID card front, 240x150 thumbnail",
            jpeg(&small, DEFAULT_BUDGET),
        );

        let mut g = r("graduate_pledge_small");
        let img = pledge(1000, 1414, &mut g, 1, 2.0);
        let small = imageops::resize(&img, 300, 424, FilterType::Triangle);
        add(
            "graduate_pledge_small.png",
            "GRADUATE_PLEDGE",
            None,
            Some("TooSmall"),
            "graduate pledge, 300x424 PNG screenshot",
            png(&small, false),
        );

        // Near duplicate: diploma_1 as another candidate uploads it —
        // decoded, 1% cropped off every side (2% of each dimension, as a
        // re-scan framed a little tighter) and re-encoded at a lower
        // quality. Offsets on the 8-px block grid: a misaligned crop
        // re-encodes the old blocking as detail and does not fit 200 KB.
        let orig = image::load_from_memory(&diploma_1)
            .expect("decode diploma_1")
            .into_rgb8();
        let (w, h) = orig.dimensions();
        let (cx, cy) = ((w / 100).div_ceil(8) * 8, (h / 100).div_ceil(8) * 8);
        let crop = imageops::crop_imm(&orig, cx, cy, w - 2 * cx, h - 2 * cy).to_image();
        add(
            "diploma_1_copy.jpg",
            "DIPLOMA",
            None,
            Some("NearDuplicate"),
            "diploma_1 cropped 1% on every side and re-encoded at quality 62 (another candidate's upload)",
            jpeg_q(&crop, 62),
        );

        // Low contrast: an over-exposed phone photo and a faded copy.
        let mut g = r("id_back_overexposed");
        let card = id_back(1200, 757, &mut g, 0, 3.0);
        let img = place(
            &card,
            desk(1440, 1080, [200, 200, 200], false, &mut g),
            0.84,
            -1.0,
            0.04,
            (0.0, 0.0),
        );
        let img = camera(wash_out(img, 175.0), 0.05, 1.5, &mut g);
        add(
            "id_back_overexposed.jpg",
            "ID_PROOF",
            Some(1),
            Some("LowContrast"),
            "ID card back, over-exposed photo (washed out)",
            jpeg(&img, DEFAULT_BUDGET),
        );

        let mut g = r("trial_assessment_faded");
        let doc = gray(&trial_assessment(1000, 1414, &mut g, 0));
        let img = scan(wash_out(doc, 165.0), &mut g);
        add(
            "trial_assessment_faded.jpg",
            "TRIAL_ASSESSMENT",
            None,
            Some("LowContrast"),
            "trial-period assessment, faded grayscale photocopy",
            jpeg(&img, DEFAULT_BUDGET),
        );
    }

    // Write files and README; remove stale images.
    let keep: Vec<&str> = outs.iter().map(|o| o.file).collect();
    for e in fs::read_dir(&dir).expect("read assets/").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if (name.ends_with(".jpg") || name.ends_with(".png")) && !keep.contains(&name.as_str()) {
            fs::remove_file(e.path()).expect("remove stale asset");
        }
    }
    let mut readme = String::from(
        "# Demo assets\n\n\
         Synthetic document images for the demo server's seed data and the tests.\n\
         Every file is drawn by `examples/make_assets.rs` (pseudo-CJK strokes, a\n\
         5x7 bitmap font, shapes); none shows a real person, document or\n\
         institution, and ID numbers use the non-existent region code 999999.\n\
         Regenerate with `cargo run --release --example make_assets` (deterministic).\n\
         The catalogue the code uses is `src/assets.rs`.\n\n\
         | file | category | slot | flaw | what | bytes |\n\
         |---|---|---|---|---|---|\n",
    );
    let mut total = 0;
    for o in &outs {
        fs::write(dir.join(o.file), &o.bytes).expect("write asset");
        total += o.bytes.len();
        let slot = match o.slot {
            Some(0) => "0 正面",
            Some(_) => "1 反面",
            None => "",
        };
        let _ = writeln!(
            readme,
            "| {} | {} | {} | {} | {}; synthetic, drawn by examples/make_assets.rs | {} |",
            o.file,
            o.category,
            slot,
            o.flaw.unwrap_or("none"),
            o.what,
            o.bytes.len()
        );
    }
    let _ = writeln!(readme, "\n{} files, {} bytes in total.", outs.len(), total);
    fs::write(dir.join("README.md"), readme).expect("write README");
    println!("{} files, {} bytes", outs.len(), total);
}
