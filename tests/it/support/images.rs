//! Real image fixtures made in code (deterministic), shared by the image
//! tests. Nothing here is a mock: these are the bytes a decoder sees.
#![allow(dead_code)]

use std::io::Cursor;
use std::path::PathBuf;

use image::{ImageFormat, Rgb, RgbImage};

/// Deterministic xorshift: fixtures must not change between runs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n.max(1))) as u32
    }
}

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images")
}

fn blend(p: &mut Rgb<u8>, ink: [u8; 3], a: f32) {
    for c in 0..3 {
        // Multiply-like: ink darkens paper, as on a real scan.
        let v = f32::from(p[c]) * (1.0 - a) + f32::from(ink[c]) * a;
        p[c] = v.round().clamp(0.0, 255.0) as u8;
    }
}

fn fill_rect(img: &mut RgbImage, x: i64, y: i64, w: i64, h: i64, ink: [u8; 3], a: f32) {
    for yy in y.max(0)..(y + h).min(i64::from(img.height())) {
        for xx in x.max(0)..(x + w).min(i64::from(img.width())) {
            blend(img.get_pixel_mut(xx as u32, yy as u32), ink, a);
        }
    }
}

/// A CJK-looking pseudo-glyph: a few strokes in a square box.
fn glyph(img: &mut RgbImage, rng: &mut Rng, x: i64, y: i64, size: i64, thick: i64, ink: [u8; 3]) {
    let strokes = 3 + rng.below(4);
    for _ in 0..strokes {
        let a = i64::from(rng.below(size as u32 - thick as u32));
        let b = i64::from(rng.below(size as u32 / 2)) + size / 3;
        let c = i64::from(rng.below((size - b).max(1) as u32));
        match rng.below(3) {
            0 => fill_rect(img, x + c, y + a, b, thick, ink, 0.9),
            1 => fill_rect(img, x + a, y + c, thick, b, ink, 0.9),
            _ => {
                for t in 0..b {
                    fill_rect(img, x + c + t, y + a + t / 2, thick, thick, ink, 0.85);
                }
            }
        }
    }
}

fn paper(w: u32, h: u32, rng: &mut Rng) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        // Uneven scanner illumination plus a little sensor noise.
        let shade = 6.0 * (f32::from(x as u16) / w as f32) + 4.0 * (f32::from(y as u16) / h as f32);
        let n = (rng.below(5) as f32) - 2.0;
        let base = [246.0, 244.0, 236.0];
        Rgb(base.map(|b| (b - shade + n).clamp(0.0, 255.0) as u8))
    })
}

fn text_block(
    img: &mut RgbImage,
    rng: &mut Rng,
    x0: i64,
    y0: i64,
    width: i64,
    lines: i64,
    size: i64,
) {
    let ink = [28, 28, 36];
    for l in 0..lines {
        let y = y0 + l * (size * 3 / 2);
        let len = if l == lines - 1 {
            width / 2
        } else {
            width - i64::from(rng.below(size as u32 * 3))
        };
        let mut x = x0;
        while x + size <= x0 + len {
            glyph(img, rng, x, y, size, 2, ink);
            x += size + 3;
        }
    }
}

fn seal(img: &mut RgbImage, cx: i64, cy: i64, r: i64, rng: &mut Rng) {
    let red = [205, 38, 38];
    for y in cy - r..cy + r {
        for x in cx - r..cx + r {
            let d = (((x - cx).pow(2) + (y - cy).pow(2)) as f64).sqrt();
            if (d - (r as f64 - 6.0)).abs() < 4.0
                && x >= 0
                && y >= 0
                && (x as u32) < img.width()
                && (y as u32) < img.height()
            {
                blend(img.get_pixel_mut(x as u32, y as u32), red, 0.75);
            }
        }
    }
    fill_rect(img, cx - 18, cy - 18, 36, 36, red, 0.7);
    for i in 0..5 {
        let a = i as f64 * 1.2566 - 1.5;
        let gx = cx + (a.cos() * r as f64 * 0.62) as i64 - 12;
        let gy = cy + (a.sin() * r as f64 * 0.62) as i64 - 12;
        glyph(img, rng, gx, gy, 24, 3, red);
    }
}

/// An A4 registration form scanned at 150 dpi: paper, title, text, a table,
/// a photo box and a red seal.
pub fn scan_image() -> RgbImage {
    let mut rng = Rng::new(20250214);
    let (w, h) = (1240u32, 1754u32);
    let mut img = paper(w, h, &mut rng);
    let ink = [20, 20, 28];
    // Title.
    let mut x = 300;
    for _ in 0..12 {
        glyph(&mut img, &mut rng, x, 110, 44, 5, ink);
        x += 54;
    }
    // A table of the candidate's details.
    let (tx, ty, tw, th) = (110i64, 230i64, 1020i64, 520i64);
    for r in 0..=8 {
        fill_rect(&mut img, tx, ty + r * th / 8, tw, 2, ink, 0.95);
    }
    for c in [0, 200, 520, 720, 1020] {
        fill_rect(&mut img, tx + c, ty, 2, th, ink, 0.95);
    }
    for r in 0..8 {
        text_block(
            &mut img,
            &mut rng,
            tx + 14,
            ty + r * th / 8 + 20,
            170,
            1,
            22,
        );
        text_block(
            &mut img,
            &mut rng,
            tx + 534,
            ty + r * th / 8 + 20,
            170,
            1,
            22,
        );
    }
    // Photo box: a smooth face-like blob on blue.
    for y in 0..300 {
        for x in 0..230 {
            let (px, py) = (tx as u32 + 790 + x, ty as u32 + 40 + y);
            let dx = f64::from(x) - 115.0;
            let dy = f64::from(y) - 130.0;
            let face = (dx * dx / 4500.0 + dy * dy / 9000.0) < 1.0;
            let c = if face {
                [222, 186, 160].map(|v: u8| v.saturating_sub((dy.abs() / 6.0) as u8))
            } else {
                [70, 120, 200].map(|v: u8| v.saturating_add((y / 12) as u8))
            };
            img.put_pixel(px, py, Rgb(c));
        }
    }
    // Body text.
    text_block(&mut img, &mut rng, 110, 820, 1020, 22, 22);
    // Signature line and seal.
    fill_rect(&mut img, 700, 1560, 400, 2, ink, 0.9);
    seal(&mut img, 930, 1500, 120, &mut rng);
    img
}

/// A resident ID card photographed on a desk, 1600×1000.
pub fn id_card_image() -> RgbImage {
    let mut rng = Rng::new(3201);
    let (w, h) = (1600u32, 1000u32);
    let mut img = RgbImage::from_fn(w, h, |x, y| {
        // Wood-ish desk, then the card with a pale blue-green pattern.
        let inside = (100..1500).contains(&x) && (80..920).contains(&y);
        if inside {
            let wave =
                ((f64::from(x) / 37.0).sin() * 6.0 + (f64::from(y) / 53.0).cos() * 6.0) as i32;
            Rgb([
                (226 + wave).clamp(0, 255) as u8,
                (236 + wave / 2).clamp(0, 255) as u8,
                (232 - wave).clamp(0, 255) as u8,
            ])
        } else {
            let grain = ((f64::from(y) / 9.0 + f64::from(x) / 300.0).sin() * 14.0) as i32;
            Rgb([
                (150 + grain).clamp(0, 255) as u8,
                (110 + grain).clamp(0, 255) as u8,
                (80 + grain).clamp(0, 255) as u8,
            ])
        }
    });
    for row in 0..6 {
        text_block(&mut img, &mut rng, 180, 160 + row * 110, 700, 1, 34);
    }
    // The 18-digit number as a row of digit-like glyphs.
    let mut x = 420;
    for _ in 0..18 {
        glyph(&mut img, &mut rng, x, 800, 34, 4, [15, 15, 20]);
        x += 42;
    }
    // Portrait.
    for y in 0..460 {
        for x in 0..360 {
            let dx = f64::from(x) - 180.0;
            let dy = f64::from(y) - 200.0;
            let face = (dx * dx / 14000.0 + dy * dy / 26000.0) < 1.0;
            let c = if face {
                [214, 176, 150]
            } else {
                [236, 240, 244]
            };
            img.put_pixel(1060 + x, 200 + y, Rgb(c));
        }
    }
    img
}

/// JPEG with the given quality and 4:2:0 sampling (as phones and scanners
/// write them).
pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    enc.encode(
        img.as_raw(),
        img.width() as u16,
        img.height() as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .expect("jpeg encode");
    out
}

/// The best quality that stays within `limit` bytes.
pub fn jpeg_within(img: &RgbImage, limit: usize) -> Vec<u8> {
    for q in (40..=92).rev().step_by(2) {
        let j = jpeg(img, q);
        if j.len() <= limit {
            return j;
        }
    }
    jpeg(img, 35)
}

/// The document scan as uploaded: a JPEG under the 200 KB upload limit.
pub fn scan_jpeg() -> Vec<u8> {
    // Generating and fitting the JPEG takes a while unoptimised: once.
    static SCAN: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    SCAN.get_or_init(|| jpeg_within(&scan_image(), 200 * 1024))
        .clone()
}

pub fn id_card_jpeg() -> Vec<u8> {
    static CARD: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    CARD.get_or_init(|| jpeg_within(&id_card_image(), 200 * 1024))
        .clone()
}

pub fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .expect("png encode");
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut c = kind.to_vec();
    c.extend_from_slice(data);
    out.extend_from_slice(&c);
    out.extend_from_slice(&crc32(&c).to_be_bytes());
}

/// A well-formed PNG header declaring `w`×`h` RGB pixels, with one tiny IDAT:
/// a decompression bomb's shape.
pub fn bomb_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // zlib stream of a few zero bytes (a real bomb would be long runs).
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A valid PNG whose IDAT CRC is wrong.
pub fn wrong_crc_png() -> Vec<u8> {
    let mut p = png(&RgbImage::from_fn(64, 48, |x, y| {
        Rgb([x as u8 * 4, y as u8 * 5, 90])
    }));
    let pos = p.windows(4).position(|w| w == b"IDAT").expect("IDAT");
    let len = u32::from_be_bytes([p[pos - 4], p[pos - 3], p[pos - 2], p[pos - 1]]) as usize;
    let crc_at = pos + 4 + len;
    p[crc_at] ^= 0xFF;
    p
}

/// A 16-bit RGB PNG with a known gradient.
pub fn png16() -> (Vec<u8>, image::ImageBuffer<Rgb<u16>, Vec<u16>>) {
    let img = image::ImageBuffer::from_fn(80, 40, |x, y| {
        Rgb([(x * 800) as u16, (y * 1600) as u16, 0x8000u16])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb16(img.clone())
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .expect("png16");
    (out, img)
}

/// A CMYK JPEG (Adobe APP14) of four flat quadrants: red, green, blue,
/// black, written in CMYK the way print workflows do.
pub fn cmyk_jpeg() -> Vec<u8> {
    let (w, h) = (64u16, 64u16);
    let mut data = Vec::with_capacity(usize::from(w) * usize::from(h) * 4);
    for y in 0..h {
        for x in 0..w {
            let (c, m, ye, k) = match (x < 32, y < 32) {
                (true, true) => (0, 255, 255, 0),  // red
                (false, true) => (255, 0, 255, 0), // green
                (true, false) => (255, 255, 0, 0), // blue
                (false, false) => (0, 0, 0, 255),  // black
            };
            data.extend_from_slice(&[c, m, ye, k]);
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 95)
        .encode(&data, w, h, jpeg_encoder::ColorType::Cmyk)
        .expect("cmyk jpeg");
    out
}

/// The stored pixels that EXIF orientation `o` turns into `upright`
/// (per the EXIF definition of where row 0 and column 0 go).
pub fn stored_for_orientation(upright: &RgbImage, o: u8) -> RgbImage {
    let (w, h) = upright.dimensions();
    let swap = o >= 5;
    let (sw, sh) = if swap { (h, w) } else { (w, h) };
    RgbImage::from_fn(sw, sh, |x, y| {
        let (ux, uy) = match o {
            1 => (x, y),
            2 => (w - 1 - x, y),
            3 => (w - 1 - x, h - 1 - y),
            4 => (x, h - 1 - y),
            5 => (y, x),
            6 => (w - 1 - y, x),
            7 => (w - 1 - y, h - 1 - x),
            _ => (y, h - 1 - x),
        };
        *upright.get_pixel(ux, uy)
    })
}

/// A JPEG of `stored` with a real APP1 EXIF segment saying orientation `o`.
pub fn exif_jpeg(stored: &RgbImage, o: u8) -> Vec<u8> {
    // TIFF header (little endian), one IFD with one entry: 0x0112 SHORT 1 o.
    let mut tiff = vec![b'I', b'I', 42, 0, 8, 0, 0, 0];
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&[o, 0, 0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 92);
    enc.add_exif_metadata(&tiff).expect("exif");
    enc.encode(
        stored.as_raw(),
        stored.width() as u16,
        stored.height() as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .expect("exif jpeg");
    out
}

/// An asymmetric picture: four coloured quadrants, wider than tall, so every
/// flip and turn is distinguishable.
pub fn quadrants(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| match (x < w / 2, y < h / 2) {
        (true, true) => Rgb([230, 30, 30]),
        (false, true) => Rgb([30, 200, 40]),
        (true, false) => Rgb([30, 40, 220]),
        (false, false) => Rgb([240, 220, 30]),
    })
}

/// PSNR in dB between two same-size RGB images.
pub fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "psnr needs equal sizes");
    let mut se = 0f64;
    for (p, q) in a.as_raw().iter().zip(b.as_raw()) {
        let d = f64::from(*p) - f64::from(*q);
        se += d * d;
    }
    let mse = se / a.as_raw().len() as f64;
    if mse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}
