//! What an encoder is told: the terminal it draws for ([`RenderTarget`]) and
//! where the picture goes ([`Layout`]). Plain data below both
//! [`super::pipeline`] (which computes a layout and calls the encoders) and
//! [`super::protocol`] (which encodes for one), so neither imports the other
//! for it.

use ratatui::layout::Size;

use super::view::ViewGeometry;
use super::{FontSize, ProtocolKind};

/// How the terminal draws: everything the encoders need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RenderTarget {
    pub protocol: ProtocolKind,
    pub font: FontSize,
    /// Wrap escape sequences for tmux passthrough.
    pub tmux: bool,
    /// The terminal inflates kitty `o=z` payloads.
    pub kitty_zlib: bool,
    /// Kitty Unicode placeholders (`U=1`); otherwise classic placements.
    pub kitty_placeholders: bool,
    /// Fill for the sub-cell margins around a picture.
    pub background: [u8; 3],
    pub low_bandwidth: bool,
    /// The largest sixel the terminal draws (XTSMGRAPHICS), in pixels: a
    /// picture is fitted inside it (xterm draws nothing of a larger one).
    pub sixel_max_px: Option<(u32, u32)>,
    /// Sixel colour registers the terminal has.
    pub colours: u16,
    /// Bytes one picture may cost on the wire (the measured link rate for
    /// about a second), or none: full resolution.
    pub step_budget: Option<u32>,
}

impl RenderTarget {
    pub fn new(protocol: ProtocolKind, font: FontSize) -> Self {
        RenderTarget {
            protocol,
            font,
            tmux: false,
            kitty_zlib: true,
            kitty_placeholders: true,
            background: [0, 0, 0],
            low_bandwidth: false,
            sixel_max_px: None,
            colours: 256,
            step_budget: None,
        }
    }
}

/// Where a picture goes: the cells it covers inside the requested area, the
/// canvas (pixels the encoder receives) and where the view's output sits on
/// it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    pub protocol: ProtocolKind,
    /// The area requested, in cells.
    pub area: Size,
    /// The cells the picture covers (centred in `area` when drawn).
    pub cells: Size,
    /// Pixels handed to the encoder.
    pub canvas: (u32, u32),
    /// The view's crop and output size.
    pub view: ViewGeometry,
    /// Top-left of the output on the canvas.
    pub at: (u32, u32),
    /// Drawn smaller than the area because the terminal's sixel limit
    /// (these pixels) is smaller.
    pub limited: Option<(u32, u32)>,
}
