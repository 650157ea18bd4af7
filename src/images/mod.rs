//! Inline image previews: capability detection, the decode → resize → encode
//! pipeline with its caches and worker, the document reading view model, and
//! bandwidth accounting.
//!
//! Only [`protocol`] names ratatui-image types; everything the console needs
//! is re-exported here with this crate's own types:
//!
//! - [`detect`](fn@detect) once at start → [`Capabilities`] (protocol, font
//!   size, reason).
//! - [`ImageWorker::spawn`] → `request` / `prefetch` → [`ImageEvent`] on a
//!   tokio channel, carrying an opaque [`Rendered`].
//! - [`ImageWidget`] draws a [`Rendered`] into a `Rect`, hidden while a popup
//!   is open; [`TerminalImages`] remembers what the terminal holds.
//! - [`line`](mod@line) fits pictures for `shenhe show`'s line mode (viuer
//!   prints them).
//!
//! The picture work only: the subcommands that use it (`show`,
//! `render-image`) are in [`crate::commands`], and nothing here imports the
//! command line, the console's state or its screens (`cli`, `app`, `ui`);
//! below it is only [`crate::domain`].
//!
//! Inside, imports point one way: [`pipeline`] (decode → [`view`] → [`resize`]
//! → encode) calls [`protocol`]'s encoders, and both take the plain data in
//! [`target`] ([`RenderTarget`], `Layout`); [`protocol`] never imports the
//! pipeline. [`worker`] and [`line`](mod@line) sit above the pipeline,
//! [`detect`](mod@detect) above [`target`] and [`protocol`].

pub mod bandwidth;
pub mod cache;
pub mod detect;
pub mod halfblocks;
pub mod jpeg_scaled;
pub mod kitty;
pub mod line;
pub mod pipeline;
pub mod protocol;
pub mod resize;
pub mod sixel;
pub mod target;
pub mod view;
pub mod worker;

use std::fmt;

use crate::domain::imaging::DecodeError;

pub use bandwidth::{ByteMeter, CountingWriter, draw_bytes};
pub use cache::ByteLru;
pub use detect::{
    Capabilities, DetectOptions, ImageProtocolSetting, Reason, detect, sixel_safe_area,
};
pub use pipeline::render_bytes;
pub use protocol::{ImageWidget, Rendered, TerminalImages};
pub use target::RenderTarget;
pub use view::{Geometry, Rotation, ViewGeometry, ViewState};
pub use worker::{
    ImageEvent, ImageEvents, ImageRequest, ImageWorker, RequestId, WorkerConfig, WorkerStats,
};

/// A graphics protocol the terminal can draw with (or half-block characters,
/// which every terminal with colours can show).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolKind {
    Halfblocks,
    Sixel,
    Kitty,
    Iterm2,
}

impl ProtocolKind {
    pub const ALL: [ProtocolKind; 4] = [
        ProtocolKind::Halfblocks,
        ProtocolKind::Sixel,
        ProtocolKind::Kitty,
        ProtocolKind::Iterm2,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolKind::Halfblocks => "halfblocks",
            ProtocolKind::Sixel => "sixel",
            ProtocolKind::Kitty => "kitty",
            ProtocolKind::Iterm2 => "iterm2",
        }
    }

    /// Sixel and iTerm2 images are painted over cells the terminal no longer
    /// tracks as text, so anything drawn on top (a popup) leaves debris
    /// unless the image is hidden first.
    pub fn paints_over_cells(self) -> bool {
        matches!(self, ProtocolKind::Sixel | ProtocolKind::Iterm2)
    }

    /// Pixels per cell this protocol resolves: half-blocks are two vertical
    /// "pixels" per cell whatever the font; the others the font's pixels.
    pub fn pixels_per_cell(self, font: FontSize) -> (u32, u32) {
        match self {
            ProtocolKind::Halfblocks => (1, 2),
            _ => (u32::from(font.width), u32::from(font.height)),
        }
    }
}

impl fmt::Display for ProtocolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The terminal's cell size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FontSize {
    pub width: u16,
    pub height: u16,
}

impl FontSize {
    /// What we assume when the terminal does not say: a common 1:2 cell.
    pub const FALLBACK: FontSize = FontSize {
        width: 10,
        height: 20,
    };

    pub const fn new(width: u16, height: u16) -> Self {
        FontSize { width, height }
    }
}

/// SHA-256 of an image's bytes: the key of every cache (the server's ETag).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash(pub [u8; 32]);

impl ContentHash {
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest;
        ContentHash(sha2::Sha256::digest(bytes).into())
    }

    /// Parse the 64 hex digits the API sends.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut out).ok()?;
        Some(ContentHash(out))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A short stable number for ids derived from the hash (kitty image ids).
    pub fn prefix_u64(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(b)
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({}…)", &self.to_hex()[..12])
    }
}

/// Everything that can go wrong between bytes and an encoded preview.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ImageError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("the preview area is empty")]
    EmptyArea,
    #[error("resizing failed: {0}")]
    Resize(String),
    #[error("{protocol} encoding failed: {message}")]
    Encode {
        protocol: ProtocolKind,
        message: String,
    },
    #[error("image previews are turned off")]
    Off,
}
