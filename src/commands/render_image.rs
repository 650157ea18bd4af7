//! `shenhe render-image FILE --protocol P --cells WxH [--font-size WxH]`:
//! the escape sequence the console would write to draw FILE in an area of
//! that many cells on a blank screen (debugging, benchmarks, comparisons).

use std::io::Write;
use std::path::PathBuf;

use ratatui::layout::Size;

use super::Failure;
use crate::cli::RenderImageArgs;
use crate::domain::imaging::DecodeLimits;
use crate::images::{
    FontSize, ImageError, ImageWidget, RenderTarget, TerminalImages, ViewState, draw_bytes,
    render_bytes,
};

#[derive(Debug, thiserror::Error)]
pub enum RenderImageError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Image { path: PathBuf, source: ImageError },
    #[error("cannot write the output: {0}")]
    Write(std::io::Error),
}

/// The bytes `render-image` writes.
pub fn render_image_bytes(
    args: &RenderImageArgs,
    low_bandwidth: bool,
) -> Result<Vec<u8>, RenderImageError> {
    let bytes = std::fs::read(&args.file).map_err(|source| RenderImageError::Read {
        path: args.file.clone(),
        source,
    })?;
    let mut target = RenderTarget::new(
        args.protocol.into(),
        FontSize::new(args.font_size.0, args.font_size.1),
    );
    target.low_bandwidth = low_bandwidth;
    let area = Size::new(args.cells.0, args.cells.1);
    let rendered = render_bytes(
        &bytes,
        area,
        ViewState::fit(),
        &target,
        DecodeLimits::DEFAULT,
    )
    .map_err(|source| RenderImageError::Image {
        path: args.file.clone(),
        source,
    })?;
    // A fresh terminal: kitty must transmit, as on first sight.
    let terminal = TerminalImages::new(false);
    draw_bytes(area, |rect, buf| {
        ratatui::widgets::Widget::render(ImageWidget::new(&rendered, &terminal), rect, buf)
    })
    .map_err(RenderImageError::Write)
}

/// Run the command: exit status 1 when it fails.
pub fn run(args: &RenderImageArgs, low_bandwidth: bool) -> Result<(), Failure> {
    write_stdout(args, low_bandwidth)
        .map_err(|e| Failure::general(format!("shenhe render-image: {e}")))
}

/// The bytes, written to stdout.
pub fn write_stdout(args: &RenderImageArgs, low_bandwidth: bool) -> Result<(), RenderImageError> {
    let out = render_image_bytes(args, low_bandwidth)?;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&out).and_then(|()| stdout.flush()) {
        // `| head -c` closing the pipe early is not a failure of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(RenderImageError::Write),
    }
}
