//! bytes → `decode_limited` (EXIF orientation applied) → view rotation and
//! crop → smoothing resize to exactly the pane's pixels → protocol encoding.
//!
//! Synchronous and pure CPU work: the worker runs it in `spawn_blocking`, the
//! `render-image` command and the benchmarks call it directly.

use std::hash::{Hash, Hasher};

use image::{DynamicImage, RgbImage};
use ratatui::layout::Size;

use super::view::{Geometry, ViewGeometry, ViewState};
use super::{ContentHash, ImageError, ProtocolKind, protocol, resize};
use crate::domain::imaging::{DecodeLimits, decode_limited};

// Defined in `target` (so `protocol` needs nothing from here); kept at this
// path for tests/, examples/, benches/ and fuzz/, which name them here.
pub use super::target::{Layout, RenderTarget};

/// Linear resolution factor for pixel protocols in low-bandwidth mode
/// (a quarter of the pixels).
pub const LOW_BANDWIDTH_SCALE: f64 = 0.5;

/// Channel step for half-block colours (see [`resize::posterize`]): 8 keeps
/// 32 levels a channel, invisible at cell resolution, and roughly halves the
/// colour changes on a scan.
pub const HALFBLOCK_COLOUR_STEP: u8 = 8;

/// An upright, 8-bit RGB source (alpha flattened onto white paper),
/// possibly decoded at a fraction of its size (see `jpeg_scaled`).
#[derive(Debug, Clone)]
pub struct Source {
    pub rgb: RgbImage,
    /// The picture's own upright size, whatever scale `rgb` was decoded
    /// at: what the reviewer is told and the view model works in.
    pub full: (u32, u32),
}

impl Source {
    /// The decoded pixels' size: what layout and resize work on.
    pub fn size(&self) -> (u32, u32) {
        self.rgb.dimensions()
    }

    /// The picture's upright size at full scale.
    pub fn full_size(&self) -> (u32, u32) {
        self.full
    }

    /// Bytes held, for the cache budget.
    pub fn weight(&self) -> usize {
        self.rgb.as_raw().len()
    }
}

/// Decode untrusted bytes under `limits`, orientation applied.
pub fn decode_source(bytes: &[u8], limits: DecodeLimits) -> Result<Source, ImageError> {
    let decoded = decode_limited(bytes, limits)?;
    let rgb = flatten(decoded.image);
    let full = rgb.dimensions();
    Ok(Source { rgb, full })
}

/// To RGB8; transparency becomes white, the paper a document is on.
fn flatten(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = RgbImage::new(w, h);
    for (o, p) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u16::from(p[3]);
        for c in 0..3 {
            let v = (u16::from(p[c]) * a + 255 * (255 - a) + 127) / 255;
            o[c] = v as u8;
        }
    }
    out
}

/// Bytes a pixel costs on the wire, roughly, for the budget: our sixel
/// averages under 4.5 bits a pixel on scans; kitty's deflated RGB in base64
/// about 1.5 bytes; iTerm2's PNG in base64 about 2.
fn bytes_per_pixel(p: ProtocolKind) -> f64 {
    match p {
        ProtocolKind::Sixel => 0.56,
        ProtocolKind::Kitty => 1.5,
        ProtocolKind::Iterm2 => 2.0,
        ProtocolKind::Halfblocks => 0.0,
    }
}

/// The linear scale (at most 1, at least a third) that fits the area's
/// picture into `target.step_budget` bytes.
fn budget_scale(area: Size, (pw, ph): (u32, u32), target: &RenderTarget) -> f64 {
    let Some(budget) = target.step_budget else {
        return 1.0;
    };
    let px = f64::from(u32::from(area.width) * pw) * f64::from(u32::from(area.height) * ph);
    let cost = px * bytes_per_pixel(target.protocol);
    if cost <= f64::from(budget) || cost == 0.0 {
        return 1.0;
    }
    (f64::from(budget) / cost).sqrt().clamp(0.34, 1.0)
}

/// Compute the layout for an upright source of `source` pixels (before the
/// view's rotation, which `view` applies).
pub fn layout(
    source: (u32, u32),
    area: Size,
    view: &ViewState,
    target: &RenderTarget,
) -> Result<Layout, ImageError> {
    if area.width == 0 || area.height == 0 {
        return Err(ImageError::EmptyArea);
    }
    let (pw, ph) = target.protocol.pixels_per_cell(target.font);
    let (pw, ph) = (pw.max(1), ph.max(1));
    let low = target.low_bandwidth && target.protocol != ProtocolKind::Halfblocks;
    // A slow link: fewer pixels, so that one step costs about the budget
    // (linear scale from the estimated bytes a pixel costs).
    let fit = budget_scale(area, (pw, ph), target);
    let scale = if low {
        LOW_BANDWIDTH_SCALE.min(fit)
    } else {
        fit
    };
    // Kitty scales a placement to its cells, so fewer pixels cover the same
    // cells; sixel and iTerm2 draw pixels 1:1, so they get a smaller area.
    let (cell_scale, area_scale) = match target.protocol {
        _ if scale >= 1.0 => (1.0, 1.0),
        ProtocolKind::Kitty => (scale, 1.0),
        _ => (1.0, scale),
    };
    let mut area_px = (
        ((f64::from(u32::from(area.width) * pw) * area_scale) as u32).max(1),
        ((f64::from(u32::from(area.height) * ph) * area_scale) as u32).max(1),
    );
    // xterm draws nothing at all of a sixel past its limit: fit inside it.
    let mut limited = None;
    if target.protocol == ProtocolKind::Sixel
        && let Some((mw, mh)) = target.sixel_max_px
        && (area_px.0 > mw || area_px.1 > mh)
    {
        area_px = (area_px.0.min(mw).max(1), area_px.1.min(mh).max(1));
        limited = Some((mw, mh));
    }
    let vg = view.compute(Geometry {
        image: source,
        area_px,
    });
    if vg.out.0 == 0 || vg.out.1 == 0 {
        return Err(ImageError::EmptyArea);
    }
    let cells = Size::new(
        (vg.out.0.div_ceil(pw) as u16).clamp(1, area.width),
        (vg.out.1.div_ceil(ph) as u16).clamp(1, area.height),
    );
    let full = (u32::from(cells.width) * pw, u32::from(cells.height) * ph);
    let (canvas, out, scaled_vg) = if cell_scale < 1.0 {
        let canvas = (
            ((f64::from(full.0) * cell_scale).round() as u32).max(1),
            ((f64::from(full.1) * cell_scale).round() as u32).max(1),
        );
        let out = (
            ((f64::from(vg.out.0) * cell_scale).round() as u32).clamp(1, canvas.0),
            ((f64::from(vg.out.1) * cell_scale).round() as u32).clamp(1, canvas.1),
        );
        (
            canvas,
            out,
            ViewGeometry {
                out,
                scale: vg.scale * cell_scale,
                ..vg
            },
        )
    } else {
        (full, vg.out, vg)
    };
    Ok(Layout {
        protocol: target.protocol,
        area,
        cells,
        canvas,
        view: scaled_vg,
        at: ((canvas.0 - out.0) / 2, (canvas.1 - out.1) / 2),
        limited,
    })
}

/// Crop, resize and place the picture on its canvas.
pub fn rasterize(
    rotated: &RgbImage,
    l: &Layout,
    target: &RenderTarget,
) -> Result<RgbImage, ImageError> {
    let out = resize::resize_crop(rotated, l.view.crop, l.view.out)?;
    let mut canvas = resize::place_on_canvas(out, l.canvas, l.at, target.background);
    if l.protocol == ProtocolKind::Halfblocks {
        resize::posterize(&mut canvas, HALFBLOCK_COLOUR_STEP);
    }
    Ok(canvas)
}

/// The cache key of an encoded preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncodedKey {
    pub sha256: ContentHash,
    pub area: (u16, u16),
    pub view: ViewState,
    pub target: RenderTarget,
}

impl EncodedKey {
    pub fn new(sha256: ContentHash, area: Size, view: ViewState, target: RenderTarget) -> Self {
        EncodedKey {
            sha256,
            area: (area.width, area.height),
            view,
            target,
        }
    }

    /// A stable number for this key (kitty image ids).
    pub fn stable_hash(&self) -> u64 {
        // DefaultHasher::new() uses fixed keys: the same key gives the same
        // number in every run of this build.
        let mut h = std::hash::DefaultHasher::new();
        self.hash(&mut h);
        h.finish() ^ self.sha256.prefix_u64()
    }
}

/// Encode a rotated source for `area` and `view`: the CPU part after decode.
/// `source`: the upright source (its decoded size drives the layout, its
/// full size is what the preview reports).
pub fn render_source(
    rotated: &RgbImage,
    source: &Source,
    key: &EncodedKey,
) -> Result<super::Rendered, ImageError> {
    let area = Size::new(key.area.0, key.area.1);
    let l = layout(source.size(), area, &key.view, &key.target)?;
    let canvas = rasterize(rotated, &l, &key.target)?;
    protocol::encode(
        canvas,
        &l,
        &key.target,
        key.stable_hash(),
        source.full_size(),
    )
}

/// Decode `bytes` for showing in `area` with `view`: in fit view a JPEG is
/// decoded at the scale the pane needs (see `jpeg_scaled`), else in full.
pub fn decode_for_view(
    bytes: &[u8],
    area: Size,
    view: ViewState,
    target: &RenderTarget,
    limits: DecodeLimits,
) -> Result<Source, ImageError> {
    let denom = if view.is_fit() {
        let (pw, ph) = target.protocol.pixels_per_cell(target.font);
        let mut want = (u32::from(area.width) * pw, u32::from(area.height) * ph);
        if view.rotation().degrees() % 180 == 90 {
            want = (want.1, want.0);
        }
        super::jpeg_scaled::plan(bytes, limits, want)
    } else {
        1
    };
    match super::jpeg_scaled::decode(bytes, limits, denom) {
        Some(s) => s,
        None => decode_source(bytes, limits),
    }
}

/// The whole pipeline without caches: decode, orient, view, resize, encode.
pub fn render_bytes(
    bytes: &[u8],
    area: Size,
    view: ViewState,
    target: &RenderTarget,
    limits: DecodeLimits,
) -> Result<super::Rendered, ImageError> {
    let source = decode_for_view(bytes, area, view, target, limits)?;
    let rotated = resize::rotate(&source.rgb, view.rotation());
    let key = EncodedKey::new(ContentHash::of(bytes), area, view, *target);
    render_source(&rotated, &source, &key)
}
