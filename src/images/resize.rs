//! Smoothing resize with fast_image_resize (SIMD convolution).
//!
//! Lanczos3 keeps small print legible when a scan is shrunk to a pane; the
//! nearest-neighbour default of ratatui-image drops whole strokes. fast_image_
//! resize runs the same convolution several times faster than `image`'s
//! resize (see `benches/images.rs`, group `resize`).

use std::borrow::Cow;

use fast_image_resize as fr;
use image::{Rgb, RgbImage};

use super::ImageError;
use super::view::{CropRect, Rotation};

/// The filter used for every preview.
pub const FILTER: fr::FilterType = fr::FilterType::Lanczos3;

/// Resize `crop` of `src` to exactly `out` pixels.
pub fn resize_crop(
    src: &RgbImage,
    crop: CropRect,
    out: (u32, u32),
) -> Result<RgbImage, ImageError> {
    let (ow, oh) = out;
    if ow == 0 || oh == 0 || crop.w == 0 || crop.h == 0 {
        return Err(ImageError::EmptyArea);
    }
    let src_view =
        fr::images::ImageRef::new(src.width(), src.height(), src.as_raw(), fr::PixelType::U8x3)
            .map_err(|e| ImageError::Resize(e.to_string()))?;
    let mut dst = fr::images::Image::new(ow, oh, fr::PixelType::U8x3);
    let options = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(FILTER))
        .crop(
            f64::from(crop.x),
            f64::from(crop.y),
            f64::from(crop.w),
            f64::from(crop.h),
        );
    fr::Resizer::new()
        .resize(&src_view, &mut dst, &options)
        .map_err(|e| ImageError::Resize(e.to_string()))?;
    RgbImage::from_raw(ow, oh, dst.into_vec())
        .ok_or_else(|| ImageError::Resize("buffer size mismatch".into()))
}

/// Rotate for the view (the file is never changed). Upright is the
/// picture itself: a copy of a decoded scan was a megabyte of memory
/// touched for nothing on every render.
pub fn rotate(src: &RgbImage, r: Rotation) -> Cow<'_, RgbImage> {
    match r {
        Rotation::R0 => Cow::Borrowed(src),
        Rotation::R90 => Cow::Owned(image::imageops::rotate90(src)),
        Rotation::R180 => Cow::Owned(image::imageops::rotate180(src)),
        Rotation::R270 => Cow::Owned(image::imageops::rotate270(src)),
    }
}

/// A `canvas`-sized image filled with `bg`, with `img` pasted at `at`
/// (`img` itself when it fills the canvas).
pub fn place_on_canvas(img: RgbImage, canvas: (u32, u32), at: (u32, u32), bg: [u8; 3]) -> RgbImage {
    if (img.width(), img.height()) == canvas && at == (0, 0) {
        return img;
    }
    let mut out = RgbImage::from_pixel(canvas.0.max(1), canvas.1.max(1), Rgb(bg));
    image::imageops::replace(&mut out, &img, i64::from(at.0), i64::from(at.1));
    out
}

/// Quantise each channel to multiples of `step` (round to nearest). Used
/// for half-blocks: neighbouring cells of paper then share one colour, and
/// the terminal is sent a colour change only where the picture changes.
pub fn posterize(img: &mut RgbImage, step: u8) {
    if step <= 1 {
        return;
    }
    let s = u16::from(step);
    let mut lut = [0u8; 256];
    for (v, slot) in lut.iter_mut().enumerate() {
        let q = ((v as u16 + s / 2) / s) * s;
        *slot = q.min(255) as u8;
    }
    for p in img.as_mut().iter_mut() {
        *p = lut[usize::from(*p)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_keeps_flat_colour_and_size() {
        let src = RgbImage::from_pixel(400, 300, Rgb([10, 120, 250]));
        let out = resize_crop(
            &src,
            CropRect {
                x: 0,
                y: 0,
                w: 400,
                h: 300,
            },
            (40, 30),
        )
        .expect("resize");
        assert_eq!(out.dimensions(), (40, 30));
        assert!(out.pixels().all(|p| *p == Rgb([10, 120, 250])));
    }

    #[test]
    fn resize_smooths_instead_of_sampling() {
        // 1-px black/white stripes shrink to grey with a smoothing filter;
        // nearest neighbour would keep pure black or pure white.
        let src = RgbImage::from_fn(200, 10, |x, _| {
            if x % 2 == 0 {
                Rgb([0, 0, 0])
            } else {
                Rgb([255, 255, 255])
            }
        });
        let out = resize_crop(
            &src,
            CropRect {
                x: 0,
                y: 0,
                w: 200,
                h: 10,
            },
            (20, 1),
        )
        .expect("resize");
        for p in out.pixels() {
            assert!((100..=155).contains(&p[0]), "{p:?}");
        }
    }

    #[test]
    fn crop_selects_the_region() {
        let src = RgbImage::from_fn(100, 100, |x, _| {
            if x < 50 {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        });
        let out = resize_crop(
            &src,
            CropRect {
                x: 60,
                y: 0,
                w: 40,
                h: 100,
            },
            (10, 10),
        )
        .expect("resize");
        assert!(out.pixels().all(|p| *p == Rgb([0, 0, 255])));
    }

    #[test]
    fn posterize_rounds_to_steps() {
        let mut img = RgbImage::from_pixel(1, 1, Rgb([0, 3, 254]));
        posterize(&mut img, 8);
        assert_eq!(img.get_pixel(0, 0), &Rgb([0, 0, 255]));
    }
}
