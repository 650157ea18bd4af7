//! Pictures for line mode (`shenhe show`): printed into the scrollback by
//! viuer, no alternate screen. Each is first decoded under the same limits
//! as the console (EXIF orientation applied) and resized with the console's
//! smoothing filter to exactly the cells it will cover, so viuer's own
//! (nearest/triangle) resize has nothing left to do.

use image::RgbImage;

use super::pipeline::{LOW_BANDWIDTH_SCALE, decode_source};
use super::view::{CropRect, fit_scale};
use super::{FontSize, ImageError, ProtocolKind, resize};
use crate::domain::imaging::DecodeLimits;

/// viuer's sixel printer resizes to 6×12 pixels a cell whatever the font;
/// handing it exactly that many makes its resize a no-op.
const VIUER_SIXEL_CELL: FontSize = FontSize::new(6, 12);

/// An upright image resized to fit `cells` for `protocol`: the picture and
/// the cells it covers.
pub fn fit_image(
    bytes: &[u8],
    cells: (u16, u16),
    protocol: ProtocolKind,
    font: FontSize,
    low_bandwidth: bool,
) -> Result<(RgbImage, (u16, u16)), ImageError> {
    let src = decode_source(bytes, DecodeLimits::DEFAULT)?;
    let (iw, ih) = src.size();
    let font = if protocol == ProtocolKind::Sixel {
        VIUER_SIXEL_CELL
    } else {
        font
    };
    let (pw, ph) = protocol.pixels_per_cell(font);
    let (pw, ph) = (f64::from(pw.max(1)), f64::from(ph.max(1)));
    let area = (
        (f64::from(cells.0) * pw) as u32,
        (f64::from(cells.1) * ph) as u32,
    );
    // Never enlarge in line mode: a small image stays small in a scrollback.
    let s = fit_scale((iw, ih), area).min(1.0);
    let cw = ((f64::from(iw) * s / pw).round() as u16).clamp(1, cells.0);
    let ch = ((f64::from(ih) * s / ph).round() as u16).clamp(1, cells.1);
    // Whole cells (an even number of half-block rows): at most half a cell
    // of aspect error, and nothing for viuer to resize again.
    let scale = if low_bandwidth && protocol != ProtocolKind::Halfblocks {
        LOW_BANDWIDTH_SCALE
    } else {
        1.0
    };
    let out = (
        ((f64::from(cw) * pw * scale) as u32).max(1),
        ((f64::from(ch) * ph * scale) as u32).max(1),
    );
    let crop = CropRect {
        x: 0,
        y: 0,
        w: iw,
        h: ih,
    };
    Ok((resize::resize_crop(&src.rgb, crop, out)?, (cw, ch)))
}

/// viuer's configuration for exactly one printer: the others are off, so
/// viuer never probes the terminal for what we did not choose (a probe on a
/// pipe would wait for an answer that never comes).
pub fn viuer_config(protocol: ProtocolKind, cells: (u16, u16)) -> viuer::Config {
    viuer::Config {
        absolute_offset: false,
        width: Some(u32::from(cells.0)),
        height: Some(u32::from(cells.1)),
        truecolor: true,
        use_kitty: protocol == ProtocolKind::Kitty,
        use_iterm: protocol == ProtocolKind::Iterm2,
        use_sixel: protocol == ProtocolKind::Sixel,
        ..viuer::Config::default()
    }
}
