//! The DCT-scaled JPEG decode (`jpeg_scaled`) against the full decode: the
//! encoder must get the same picture, only with less work.

use crate::support::images::*;
use ratatui::layout::Size;
use shenhe::domain::imaging::DecodeLimits;
use shenhe::images::pipeline::{self, RenderTarget};
use shenhe::images::{FontSize, ProtocolKind, ViewState};

const FONT: FontSize = FontSize::new(10, 20);

/// The canvas the encoder gets: from the full decode, and from the decode
/// render() uses (scaled where it pays), with the same layout rules.
fn canvases(
    bytes: &[u8],
    p: ProtocolKind,
    cells: (u16, u16),
) -> (image::RgbImage, image::RgbImage, (u32, u32)) {
    let t = RenderTarget::new(p, FONT);
    let area = Size::new(cells.0, cells.1);
    let view = ViewState::fit();
    let full = pipeline::decode_source(bytes, DecodeLimits::DEFAULT).expect("full");
    let scaled =
        pipeline::decode_for_view(bytes, area, view, &t, DecodeLimits::DEFAULT).expect("scaled");
    assert_eq!(scaled.full_size(), full.size(), "the true size is kept");
    let raster = |s: &pipeline::Source| {
        let l = pipeline::layout(s.size(), area, &view, &t).expect("layout");
        pipeline::rasterize(&s.rgb, &l, &t).expect("raster")
    };
    (raster(&full), raster(&scaled), scaled.size())
}

/// What the scaled decode costs in fidelity at pane sizes the console uses,
/// for each protocol's pixels (printed; `--nocapture`). Measured: 41.5 dB
/// for the scan's 1/2 decode at 60×30 (it was 18.9 dB while fit dropped a
/// row to rounding and stretched the rest), ≥ 47 dB where the resize then
/// shrinks by more; half-blocks (1/4, 1/8, then posterized) ≥ 36.5 dB.
/// Identical where the plan decodes in full.
#[test]
fn scaled_decode_gives_the_encoder_the_full_decodes_picture() {
    for (name, bytes) in [("scan", scan_jpeg()), ("id_card", id_card_jpeg())] {
        for p in [
            ProtocolKind::Sixel,
            ProtocolKind::Kitty,
            ProtocolKind::Halfblocks,
        ] {
            for cells in [(60, 30), (40, 18), (118, 30), (100, 45), (180, 45)] {
                let (a, b, decoded) = canvases(&bytes, p, cells);
                let db = psnr(&a, &b);
                eprintln!(
                    "{name} {p} {}x{} cells: decoded {}x{}, canvas {}x{}, {db:.2} dB",
                    cells.0,
                    cells.1,
                    decoded.0,
                    decoded.1,
                    a.width(),
                    a.height()
                );
                let floor = if p == ProtocolKind::Halfblocks {
                    35.0
                } else {
                    40.0
                };
                assert!(db >= floor, "{name} {p} {cells:?}: {db:.2} dB < {floor}");
            }
        }
    }
}
