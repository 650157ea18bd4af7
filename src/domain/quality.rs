//! Quality hints computed once per uploaded image: dimensions, EXIF
//! orientation, sharpness (variance of the Laplacian), contrast and a
//! perceptual hash for near-duplicate detection across candidates.
//!
//! Pure: bytes in, report out. Decoding goes through
//! [`decode_limited`](super::imaging::decode_limited), so a decompression bomb
//! is refused before anything is allocated.
//!
//! Hints are advice for the reviewer, never a verdict: the thresholds below
//! were calibrated on the synthetic documents in `assets/` (see the numbers
//! next to each constant) and err towards not flagging.

use image::DynamicImage;

use super::imaging::{DecodeError, DecodeLimits, ExifOrientation, Format, decode_limited};

/// Shorter side below which a document is "too small" to read, and the
/// longer side's minimum (see [`MIN_WIDTH`]). Judged on the long and short
/// side rather than on width and height, so a portrait A4 form and a
/// landscape ID card meet the same bar.
///
/// 400 px across the short side of an ID card (54 mm) is ~7 px/mm: the 3 mm
/// digits of an ID number come out ~20 px tall, which is still legible; on
/// an A4 form held portrait (210 mm) it is ~1.9 px/mm, where 5 mm (14 pt)
/// characters are ~10 px, the least a reviewer can read a Chinese character
/// at. Phones and scanners deliver 1000 px and more, so only thumbnails and
/// screenshots of screenshots fall below.
pub const MIN_HEIGHT: u32 = 400;
/// Longer side's minimum: 640 px (VGA). See [`MIN_HEIGHT`].
pub const MIN_WIDTH: u32 = 640;

/// Longest side of the grayscale working copy that blur, contrast and the
/// perceptual hash are computed on. A fixed scale makes the blur score
/// independent of the upload's resolution; at 640 px the 3–6 px text
/// strokes of a 1600 px scan are 1–2 px wide, where the Laplacian still
/// sees them. [`analyze`] takes 9–11 ms for a 1.7 MP, 120–160 KB JPEG in
/// release (best of 7; 17–19 ms with the 2 shared cores at load 6):
/// decoding is ~5 ms, the rest one pass of luma + area averaging and the
/// small work after it.
pub const WORK_LONG_SIDE: u32 = 640;

/// `blur_score = v / (v + BLUR_K)` where `v` is the variance of the
/// Laplacian of the working copy: the variance at which the score is 0.5.
/// Sharp documents land at 0.65–0.92, defocused ones below 0.25.
pub const BLUR_K: f32 = 400.0;

/// Below this score an image is flagged `blurry`.
///
/// Measured on `assets/` (`cargo test --release --test it assets::
/// -- --ignored --nocapture`): 24 clean scans and photos score 0.661–0.924;
/// Gaussian-blurred ones 0.029 (σ 5), 0.043 (σ 4.5) and 0.219 (σ 3.5 at
/// 1600 px, text still guessable). 0.4 (v ≈ 267) sits near the geometric
/// middle of 0.219 and 0.661 in variance terms. A washed-out photo scores
/// low too (0.155, less contrast means smaller second derivatives): it is
/// flagged blurry as well as low contrast, which is what a reviewer would
/// say of it ("模糊不清"). A faded but sharp photocopy scores 0.464.
pub const BLURRY_BELOW: f32 = 0.4;

/// Contrast is the spread between the 1st and 99th percentile of the
/// working copy's luma, 0..1. Below this an image is washed out.
///
/// Measured on `assets/`: clean 0.706–0.914, the over-exposed photo 0.251,
/// the faded photocopy 0.227; heavy blur alone lowers a sparse form to
/// 0.447. 0.35 leaves room for gray recycled paper and pencil.
pub const LOW_CONTRAST_BELOW: f32 = 0.35;

/// Two perceptual hashes at most this many bits apart are the same
/// document. (Distances are always even: every hash has 31 bits set.)
///
/// Measured on `assets/` with [`analyze`]:
/// - different documents (594 pairs, clean and flawed): minimum 8, median
///   30; the pairs at 8 and 10 are trial-period forms of the *same layout*
///   with other handwriting; ID cards of one template are 12–14 apart;
/// - the declared copy (diploma cropped 1% a side, re-encoded q62): 4;
/// - copies of each of the 24 clean assets, re-encoded at q50 (matched at
///   ≤ 6 / max distance): plain re-encode 24/24 (max 4), darker ×0.8 24/24
///   (4), half size 24/24 (6), 1% cropped off every side 22/24 (8),
///   brighter +30 with the paper clipped to white 20/24 (14), 2% cropped
///   off the left and top only 14/24 (12).
///
/// 6 is the largest value with no false match. A one-sided crop of 2% or
/// more is missed about half the time: documents of one template differ
/// only in mid frequencies that a 64-bit low-frequency hash barely sees,
/// and a crop moves exactly those. The hint is a lead for the reviewer,
/// never proof.
pub const NEAR_DUPLICATE_MAX_DISTANCE: u32 = 6;

/// What the server stores with each image and the console shows.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QualityReport {
    pub format: Format,
    /// Dimensions as stored in the file (before EXIF orientation), as the
    /// header states them.
    pub width: u32,
    pub height: u32,
    pub orientation: ExifOrientation,
    /// Normalised sharpness: 0.0 = flat or very blurry .. 1.0 = very sharp,
    /// on the scale of a document photo (see [`BLUR_K`]).
    pub blur_score: f32,
    pub blurry: bool,
    pub too_small: bool,
    /// The file relies on an EXIF orientation other than 1: viewers that
    /// ignore EXIF (and the authority's own system) show it sideways.
    pub not_upright: bool,
    /// 64-bit DCT perceptual hash of the upright image; compare with
    /// [`hamming`] / [`is_near_duplicate`].
    pub phash: u64,
    /// Luma spread between the 1st and 99th percentile, 0..1.
    pub contrast: f32,
    pub low_contrast: bool,
}

/// Decode `bytes` under `limits` and compute every hint.
pub fn analyze(bytes: &[u8], limits: DecodeLimits) -> Result<QualityReport, DecodeError> {
    // decode_limited also refuses truncated JPEGs (see jpeg_is_complete).
    let decoded = decode_limited(bytes, limits)?;
    let probe = decoded.probe;
    let work = working_copy(&decoded.image);

    let blur_score = normalise_blur(laplacian_variance(&work));
    let contrast = contrast(&work);
    let (long, short) = (probe.width.max(probe.height), probe.width.min(probe.height));
    Ok(QualityReport {
        format: probe.format,
        width: probe.width,
        height: probe.height,
        orientation: probe.orientation,
        blur_score,
        blurry: blur_score < BLURRY_BELOW,
        too_small: long < MIN_WIDTH || short < MIN_HEIGHT,
        not_upright: !probe.orientation.is_upright(),
        phash: phash_of(&work),
        contrast,
        low_contrast: contrast < LOW_CONTRAST_BELOW,
    })
}

/// Number of differing bits.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// Whether two perceptual hashes describe the same document (a re-encoded,
/// slightly cropped or brightness-shifted copy).
pub fn is_near_duplicate(a: u64, b: u64) -> bool {
    hamming(a, b) <= NEAR_DUPLICATE_MAX_DISTANCE
}

/// A grayscale image as `f32` luma 0..255, row-major.
struct Gray {
    w: usize,
    h: usize,
    px: Vec<f32>,
}

/// Luma of the upright image, area-averaged (every source pixel weighted
/// by how much of it falls in the target pixel: a box filter, smoothing,
/// never nearest) so that its longer side is [`WORK_LONG_SIDE`]. Smaller
/// images are not scaled up: interpolation would invent blur, and they are
/// flagged too small anyway.
fn working_copy(image: &DynamicImage) -> Gray {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let long = w.max(h);
    let (tw, th) = if long <= WORK_LONG_SIDE as usize {
        (w, h)
    } else {
        let scale = WORK_LONG_SIDE as f64 / long as f64;
        (
            ((w as f64 * scale).round() as usize).max(1),
            ((h as f64 * scale).round() as usize).max(1),
        )
    };
    // Rec. 601 luma, as JPEG's Y. Transparent pixels count as white paper.
    match image {
        DynamicImage::ImageLuma8(buf) => area_resample(w, h, tw, th, |row, out| {
            let src = &buf.as_raw()[row * w..(row + 1) * w];
            for (o, &p) in out.iter_mut().zip(src) {
                *o = f32::from(p);
            }
        }),
        DynamicImage::ImageRgb8(buf) => area_resample(w, h, tw, th, |row, out| {
            let src = &buf.as_raw()[row * w * 3..(row + 1) * w * 3];
            for (o, p) in out.iter_mut().zip(src.chunks_exact(3)) {
                *o = luma(p[0], p[1], p[2]);
            }
        }),
        other => {
            let rgba = other.to_rgba8();
            area_resample(w, h, tw, th, |row, out| {
                let src = &rgba.as_raw()[row * w * 4..(row + 1) * w * 4];
                for (o, p) in out.iter_mut().zip(src.chunks_exact(4)) {
                    let a = f32::from(p[3]) / 255.0;
                    *o = luma(p[0], p[1], p[2]) * a + 255.0 * (1.0 - a);
                }
            })
        }
    }
}

fn luma(r: u8, g: u8, b: u8) -> f32 {
    0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b)
}

/// For area-averaging `src` samples into `dst` (≤ `src`): per target
/// index, the first source index and the weights of the sources it covers.
fn area_weights(src: usize, dst: usize) -> Vec<(usize, Vec<f32>)> {
    let scale = src as f64 / dst as f64;
    (0..dst)
        .map(|d| {
            let (a, b) = (d as f64 * scale, (d + 1) as f64 * scale);
            let first = a.floor() as usize;
            let last = (b.ceil() as usize).min(src);
            let weights = (first..last)
                .map(|s| {
                    let cover = (b.min(s as f64 + 1.0) - a.max(s as f64)).max(0.0);
                    (cover / scale) as f32
                })
                .collect();
            (first, weights)
        })
        .collect()
}

/// Separable area resampling; `row(y, out)` writes source row `y` as luma.
fn area_resample(
    w: usize,
    h: usize,
    tw: usize,
    th: usize,
    mut row: impl FnMut(usize, &mut [f32]),
) -> Gray {
    let xw = area_weights(w, tw);
    let yw = area_weights(h, th);
    // Which target rows each source row feeds, with what weight.
    let mut feeds: Vec<Vec<(usize, f32)>> = vec![Vec::new(); h];
    for (ty, (first, weights)) in yw.iter().enumerate() {
        for (k, &wt) in weights.iter().enumerate() {
            feeds[first + k].push((ty, wt));
        }
    }
    let mut out = vec![0f32; tw * th];
    let mut src = vec![0f32; w];
    let mut narrow = vec![0f32; tw];
    for (y, targets) in feeds.iter().enumerate() {
        if targets.is_empty() {
            continue;
        }
        row(y, &mut src);
        for (n, (first, weights)) in narrow.iter_mut().zip(&xw) {
            *n = weights
                .iter()
                .zip(&src[*first..])
                .map(|(wt, p)| wt * p)
                .sum();
        }
        for &(ty, wt) in targets {
            let dst = &mut out[ty * tw..(ty + 1) * tw];
            for (d, n) in dst.iter_mut().zip(&narrow) {
                *d += wt * n;
            }
        }
    }
    Gray {
        w: tw,
        h: th,
        px: out,
    }
}

/// Variance of the 4-neighbour Laplacian over the interior pixels.
fn laplacian_variance(g: &Gray) -> f32 {
    let (w, h) = (g.w, g.h);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let px = &g.px;
    let (mut sum, mut sum_sq) = (0f64, 0f64);
    for y in 1..h - 1 {
        let row = y * w;
        for x in 1..w - 1 {
            let i = row + x;
            let lap = px[i - 1] + px[i + 1] + px[i - w] + px[i + w] - 4.0 * px[i];
            let lap = f64::from(lap);
            sum += lap;
            sum_sq += lap * lap;
        }
    }
    let n = ((w - 2) * (h - 2)) as f64;
    let mean = sum / n;
    (sum_sq / n - mean * mean).max(0.0) as f32
}

fn normalise_blur(variance: f32) -> f32 {
    variance / (variance + BLUR_K)
}

/// Spread between the 1st and 99th percentile of luma, 0..1. Percentiles
/// rather than min/max so a few dust specks or a black JPEG border do not
/// make a washed-out scan look contrasty.
fn contrast(g: &Gray) -> f32 {
    let mut hist = [0u32; 256];
    for &p in &g.px {
        hist[p.round().clamp(0.0, 255.0) as usize] += 1;
    }
    let n = g.px.len() as u64;
    if n == 0 {
        return 0.0;
    }
    let percentile = |q: u64| -> usize {
        let target = (n * q).div_ceil(100).max(1);
        let mut acc = 0u64;
        for (v, &c) in hist.iter().enumerate() {
            acc += u64::from(c);
            if acc >= target {
                return v;
            }
        }
        255
    };
    let (lo, hi) = (percentile(1), percentile(99));
    (hi.saturating_sub(lo)) as f32 / 255.0
}

const HASH_SIDE: usize = 32;
const HASH_LOW: usize = 8;

/// DCT perceptual hash: the working copy area-averaged to 32×32 (aspect
/// ignored), its values replaced by their ranks, 2-D DCT-II, the top-left
/// 8×8 low frequencies; each AC coefficient above their median sets a bit.
/// The DC term is left out of the median and its bit is always 0.
///
/// The rank step (histogram equalisation of the 1024 cells) is what makes
/// it work on documents: a brightness, contrast or gamma change that clips
/// nothing keeps the ranks, and the mid-tones that tell two documents of one template
/// apart (photo, tint, text density) get the same weight as paper and ink.
/// Measured on `assets/` against the plain hash (same pipeline without the
/// rank step): the closest pair of different documents moves from 4 bits
/// apart (two ID card fronts of one template) to 8, and the ID fronts to
/// 14.
fn phash_of(work: &Gray) -> u64 {
    let small = area_resample(work.w, work.h, HASH_SIDE, HASH_SIDE, |row, out| {
        out.copy_from_slice(&work.px[row * work.w..(row + 1) * work.w]);
    });
    // Whole luma levels: cells of plain paper must tie exactly, not be
    // ordered by float rounding and JPEG noise a fraction of a level deep.
    let levels: Vec<f32> = small.px.iter().map(|v| v.round()).collect();
    let mut sorted = levels.clone();
    sorted.sort_by(f32::total_cmp);
    // Mid-rank for ties, so large flat areas (white paper) rank alike.
    let ranks: Vec<f32> = levels
        .iter()
        .map(|v| {
            let lo = sorted.partition_point(|x| x < v);
            let hi = sorted.partition_point(|x| x <= v);
            (lo + hi) as f32 / 2.0
        })
        .collect();
    let coeffs = dct_low(&ranks);

    let mut ac: Vec<f32> = coeffs[1..].to_vec();
    ac.sort_by(f32::total_cmp);
    // 63 values: the median is the middle one.
    let median = ac[ac.len() / 2];

    let mut hash = 0u64;
    for (i, &c) in coeffs.iter().enumerate().skip(1) {
        if c > median {
            hash |= 1 << i;
        }
    }
    hash
}

/// The `HASH_LOW`×`HASH_LOW` lowest-frequency coefficients of the 2-D
/// DCT-II of a `HASH_SIDE`² block, row-major (index 0 = DC). Only the
/// needed outputs are computed: 8×32 per pass instead of 32×32.
fn dct_low(pixels: &[f32]) -> [f32; HASH_LOW * HASH_LOW] {
    let n = HASH_SIDE;
    let mut basis = [[0f32; HASH_SIDE]; HASH_LOW];
    for (k, row) in basis.iter_mut().enumerate() {
        for (x, b) in row.iter_mut().enumerate() {
            *b = (std::f32::consts::PI / n as f32 * (x as f32 + 0.5) * k as f32).cos();
        }
    }
    // Rows first: for every image row, its low horizontal frequencies.
    let mut rows = [[0f32; HASH_LOW]; HASH_SIDE];
    for (y, out) in rows.iter_mut().enumerate() {
        let line = &pixels[y * n..(y + 1) * n];
        for (u, o) in out.iter_mut().enumerate() {
            *o = line.iter().zip(basis[u].iter()).map(|(p, b)| p * b).sum();
        }
    }
    // Then columns of that.
    let mut out = [0f32; HASH_LOW * HASH_LOW];
    for v in 0..HASH_LOW {
        for u in 0..HASH_LOW {
            out[v * HASH_LOW + u] = (0..n).map(|y| rows[y][u] * basis[v][y]).sum();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::jpeg::JpegEncoder;
    use image::imageops;
    use image::{ImageBuffer, ImageFormat, Luma, Rgb, RgbImage};
    use std::io::Cursor;

    /// A document-like test card: white paper, a dark frame, text-like bars
    /// whose lengths come from `seed`, a filled "photo" block.
    fn document(w: u32, h: u32, seed: u32) -> RgbImage {
        let mut img = RgbImage::from_pixel(w, h, Rgb([245, 243, 236]));
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let line_h = h / 28;
        for line in 0..10 + next() % 9 {
            let y0 = h / 8 + line * (line_h + line_h / 2);
            let x0 = w / 10 + (next() % (w / 10));
            let len = w / 3 + (next() % (w / 3));
            let mut x = x0;
            while x < (x0 + len).min(w - w / 10) {
                let glyph = line_h.max(2);
                for yy in y0..(y0 + glyph).min(h) {
                    for xx in x..(x + glyph * 8 / 10).min(w) {
                        if (xx + yy).wrapping_add(next()) % 5 != 0 {
                            img.put_pixel(xx, yy, Rgb([30, 30, 40]));
                        }
                    }
                }
                x += glyph + glyph / 4;
            }
        }
        // The photo sits left or right, high or low, so seeds are different
        // documents rather than one template with other text.
        let px = if seed.is_multiple_of(2) {
            w / 12
        } else {
            w * 7 / 10
        } + next() % (w / 20);
        let py = h / 6 + next() % (h / 3);
        for yy in py..(py + h / 3).min(h) {
            for xx in px..(px + w / 6).min(w) {
                img.put_pixel(xx, yy, Rgb([90, 110, 150]));
            }
        }
        for i in 0..w {
            for t in 0..4 {
                img.put_pixel(i, t + 6, Rgb([120, 20, 20]));
                img.put_pixel(i, h - 10 + t, Rgb([120, 20, 20]));
            }
        }
        img
    }

    fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(img)
            .expect("encode jpeg");
        out
    }

    fn png(img: &RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .expect("encode png");
        out
    }

    fn analyze_ok(bytes: &[u8]) -> QualityReport {
        analyze(bytes, DecodeLimits::DEFAULT).expect("analyze")
    }

    #[test]
    fn sharp_scores_above_blurred_and_blurred_is_flagged() {
        let doc = document(1400, 900, 1);
        let sharp = analyze_ok(&jpeg(&doc, 90));
        let soft = analyze_ok(&jpeg(&imageops::blur(&doc, 2.0), 90));
        let very = analyze_ok(&jpeg(&imageops::blur(&doc, 6.0), 90));
        assert!(sharp.blur_score > soft.blur_score, "{sharp:?} {soft:?}");
        assert!(soft.blur_score > very.blur_score, "{soft:?} {very:?}");
        assert!(!sharp.blurry, "{sharp:?}");
        assert!(very.blurry, "{very:?}");
    }

    #[test]
    fn blur_score_does_not_depend_much_on_resolution() {
        let big = analyze_ok(&jpeg(&document(1600, 1000, 3), 90));
        let mid = analyze_ok(&jpeg(&document(1100, 688, 3), 90));
        assert!(
            (big.blur_score - mid.blur_score).abs() < 0.2,
            "{} vs {}",
            big.blur_score,
            mid.blur_score
        );
    }

    #[test]
    fn flat_image_is_blurry_and_low_contrast() {
        let flat = RgbImage::from_pixel(1000, 700, Rgb([200, 200, 200]));
        let r = analyze_ok(&png(&flat));
        assert_eq!(r.blur_score, 0.0);
        assert!(r.blurry && r.low_contrast);
    }

    #[test]
    fn near_duplicates_match_and_other_documents_do_not() {
        let doc = document(1400, 900, 7);
        let original = analyze_ok(&jpeg(&doc, 92)).phash;

        let reencoded = analyze_ok(&jpeg(&doc, 55)).phash;
        let (cw, ch) = (doc.width() * 98 / 100, doc.height() * 98 / 100);
        let cropped = imageops::crop_imm(&doc, doc.width() / 100, doc.height() / 100, cw, ch);
        let cropped = analyze_ok(&jpeg(&cropped.to_image(), 80)).phash;
        let mut brighter = doc.clone();
        for p in brighter.pixels_mut() {
            for c in p.0.iter_mut() {
                *c = c.saturating_add(25);
            }
        }
        let brighter = analyze_ok(&png(&brighter)).phash;
        for (what, h) in [
            ("re-encoded", reencoded),
            ("cropped", cropped),
            ("brighter", brighter),
        ] {
            assert!(
                is_near_duplicate(original, h),
                "{what}: distance {}",
                hamming(original, h)
            );
        }

        for seed in [8, 9, 10] {
            let other = analyze_ok(&jpeg(&document(1400, 900, seed), 92)).phash;
            assert!(
                !is_near_duplicate(original, other),
                "seed {seed}: distance {}",
                hamming(original, other)
            );
        }
    }

    #[test]
    fn hamming_counts_bits() {
        assert_eq!(hamming(0, 0), 0);
        assert_eq!(hamming(0b1011, 0b0010), 2);
        assert_eq!(hamming(u64::MAX, 0), 64);
    }

    #[test]
    fn too_small_is_judged_on_long_and_short_side() {
        let thumb = analyze_ok(&jpeg(&document(240, 150, 2), 90));
        assert!(thumb.too_small);
        let portrait = analyze_ok(&jpeg(&document(700, 990, 2), 90));
        assert!(!portrait.too_small, "{portrait:?}");
        let narrow = analyze_ok(&jpeg(&document(1200, 300, 2), 90));
        assert!(narrow.too_small);
    }

    /// A minimal EXIF APP1 segment (big-endian TIFF, one IFD entry:
    /// Orientation) spliced in right after SOI.
    fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
        let mut tiff = Vec::new();
        tiff.extend_from_slice(b"MM\x00\x2A\x00\x00\x00\x08");
        tiff.extend_from_slice(&1u16.to_be_bytes());
        tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
        tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
        tiff.extend_from_slice(&1u32.to_be_bytes());
        tiff.extend_from_slice(&orientation.to_be_bytes());
        tiff.extend_from_slice(&[0, 0]);
        tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
        let mut app1 = b"Exif\x00\x00".to_vec();
        app1.extend_from_slice(&tiff);
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&app1);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    #[test]
    fn exif_orientation_6_is_not_upright_and_hash_is_of_upright_pixels() {
        let doc = document(1200, 800, 4);
        let upright = analyze_ok(&jpeg(&doc, 90));
        assert!(!upright.not_upright);

        // Stored sideways, EXIF says "rotate 90° clockwise to view".
        let sideways = imageops::rotate270(&doc);
        let r = analyze_ok(&with_orientation(&jpeg(&sideways, 90), 6));
        assert_eq!(r.orientation, ExifOrientation(6));
        assert!(r.not_upright);
        assert_eq!((r.width, r.height), (800, 1200));
        assert!(
            is_near_duplicate(upright.phash, r.phash),
            "distance {}",
            hamming(upright.phash, r.phash)
        );
    }

    /// A valid PNG header declaring 30000×30000 followed by a few bytes of
    /// data: must be refused from the header, not allocated (that would be
    /// 2.7 GB of RGB).
    #[test]
    fn decompression_bomb_is_refused() {
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            let crc = crc32(kind.iter().chain(data.iter()).copied());
            out.extend_from_slice(&crc.to_be_bytes());
        }
        fn crc32(bytes: impl Iterator<Item = u8>) -> u32 {
            let mut crc = !0u32;
            for b in bytes {
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
        let mut bomb = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&30_000u32.to_be_bytes());
        ihdr.extend_from_slice(&30_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
        chunk(&mut bomb, b"IHDR", &ihdr);
        // zlib stream of a few zero bytes: tiny data for a huge image.
        chunk(
            &mut bomb,
            b"IDAT",
            &[0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
        );
        chunk(&mut bomb, b"IEND", &[]);
        assert!(bomb.len() < 100);

        let err = analyze(&bomb, DecodeLimits::DEFAULT).expect_err("bomb refused");
        assert!(
            matches!(err, DecodeError::TooLarge { .. } | DecodeError::MemoryLimit),
            "{err:?}"
        );
    }

    #[test]
    fn truncated_jpeg_is_an_error() {
        let full = jpeg(&document(800, 500, 5), 90);
        for cut in [full.len() / 2, 600, 20] {
            let err = analyze(&full[..cut], DecodeLimits::DEFAULT).expect_err("truncated");
            assert!(matches!(err, DecodeError::Corrupt(_)), "cut {cut}: {err:?}");
        }
    }

    #[test]
    fn grayscale_png_is_analyzed() {
        let img: ImageBuffer<Luma<u8>, Vec<u8>> = ImageBuffer::from_fn(900, 700, |x, y| {
            Luma([if (x / 9 + y / 13) % 2 == 0 { 20 } else { 240 }])
        });
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .expect("encode");
        let r = analyze_ok(&out);
        assert_eq!(r.format, Format::Png);
        assert!(!r.low_contrast && !r.blurry, "{r:?}");
    }

    /// A PNG with a transparent background (a screenshot, an export) is
    /// judged as if on white paper, not as black.
    #[test]
    fn transparent_background_counts_as_white() {
        let doc = document(1000, 700, 6);
        let rgba = image::RgbaImage::from_fn(1000, 700, |x, y| {
            let p = doc.get_pixel(x, y).0;
            if p == [245, 243, 236] {
                image::Rgba([0, 0, 0, 0])
            } else {
                image::Rgba([p[0], p[1], p[2], 255])
            }
        });
        let mut out = Vec::new();
        rgba.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .expect("encode");
        let r = analyze_ok(&out);
        let opaque = analyze_ok(&png(&doc));
        assert!(!r.low_contrast && !r.blurry, "{r:?}");
        assert!(
            hamming(r.phash, opaque.phash) <= 2,
            "distance {}",
            hamming(r.phash, opaque.phash)
        );
    }
}
