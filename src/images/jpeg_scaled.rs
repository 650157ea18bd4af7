//! JPEGs decoded at the scale the pane needs: the inverse DCT at 1/2, 1/4
//! or 1/8 of the size (as libjpeg's `scale_denom`), which skips most of the
//! decoder's work and most of the resize's. Never below the pane's pixels
//! in either direction, so the resize only ever shrinks: a 1240×1754 A4
//! scan in a 60×30-cell pane (600×600 px) is decoded at 1/2 (620×877); a
//! 1600×1100 scan there is decoded in full (550 rows would be fewer than
//! the pane's 600). Zoom decodes in full.

use image::{DynamicImage, RgbImage};

use super::ImageError;
use super::pipeline::Source;
use crate::domain::imaging::{DecodeLimits, Format, probe};

/// The largest of 8, 4, 2, 1 that still gives at least `want` pixels from
/// an image of `full` pixels (both as stored, before EXIF orientation).
/// 1/4 and 1/8 only with twice the pixels to spare: their 2×2 and 1×1
/// inverse DCTs (and chroma at that scale) are rougher, and a following
/// downscale by two or more smooths that out; 1/2 is as good as full.
pub fn denominator(full: (u32, u32), want: (u32, u32)) -> u32 {
    let fits = |d: u32, margin: u32| {
        full.0.div_ceil(d) >= want.0 * margin && full.1.div_ceil(d) >= want.1 * margin
    };
    [8, 4]
        .into_iter()
        .find(|d| fits(*d, 2))
        .or_else(|| fits(2, 1).then_some(2))
        .unwrap_or(1)
}

/// The scale `bytes` would be decoded at for an upright area of `want`
/// pixels: 1 when not a JPEG, or not worth it.
pub fn plan(bytes: &[u8], limits: DecodeLimits, want: (u32, u32)) -> u32 {
    let Ok(p) = probe(bytes, limits) else {
        return 1;
    };
    if p.format != Format::Jpeg {
        return 1;
    }
    let want = if (5..=8).contains(&p.orientation.0) {
        (want.1, want.0)
    } else {
        want
    };
    denominator((p.width, p.height), want)
}

/// Decode at 1/`denom` (from [`plan`]), upright. `None`: use the full
/// decoder instead (it also reports any error in the file, so corrupt and
/// truncated files keep their one error path).
pub fn decode(
    bytes: &[u8],
    limits: DecodeLimits,
    denom: u32,
) -> Option<Result<Source, ImageError>> {
    if denom <= 1 || !crate::domain::imaging::jpeg_is_complete(bytes) {
        return None;
    }
    let p = probe(bytes, limits).ok()?;
    let mut d = jpeg_decoder::Decoder::new(bytes);
    d.read_info().ok()?;
    let req = |n: u32| u16::try_from(n.div_ceil(denom)).unwrap_or(u16::MAX);
    let (w, h) = d.scale(req(p.width), req(p.height)).ok()?;
    let px = d.decode().ok()?;
    let info = d.info()?;
    let (w, h) = (u32::from(w), u32::from(h));
    let rgb = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => RgbImage::from_raw(w, h, px)?,
        jpeg_decoder::PixelFormat::L8 => RgbImage::from_fn(w, h, |x, y| {
            let v = px.get((y * w + x) as usize).copied().unwrap_or(0);
            image::Rgb([v, v, v])
        }),
        // CMYK and 16-bit greys: the full decoder knows them.
        _ => return None,
    };
    let upright_turned = (5..=8).contains(&p.orientation.0);
    let full = if upright_turned {
        (p.height, p.width)
    } else {
        (p.width, p.height)
    };
    let mut img = DynamicImage::ImageRgb8(rgb);
    if let Some(o) = image::metadata::Orientation::from_exif(p.orientation.0) {
        img.apply_orientation(o);
    }
    Some(Ok(Source {
        rgb: img.into_rgb8(),
        full,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_below_the_pane() {
        assert_eq!(denominator((1600, 1100), (600, 600)), 1);
        assert_eq!(denominator((1600, 1100), (600, 500)), 2);
        assert_eq!(denominator((1600, 1100), (400, 270)), 2);
        assert_eq!(denominator((1600, 1100), (200, 130)), 4);
        assert_eq!(denominator((1600, 1100), (60, 60)), 8);
        assert_eq!(denominator((100, 100), (200, 200)), 1);
    }
}
