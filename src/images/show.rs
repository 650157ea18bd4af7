//! `shenhe show CANDIDATE`: one dossier and its images printed to the
//! scrollback (line mode, no alternate screen), for quick look-ups and
//! scripts. viuer prints the images; each is first decoded under the same
//! limits as the console (EXIF orientation applied) and resized with the
//! console's smoothing filter to exactly the cells it will cover, so viuer's
//! own (nearest/triangle) resize has nothing left to do.

use std::io::{self, Write};

use image::{DynamicImage, RgbImage};

use super::detect::{DetectOptions, ImageProtocolSetting};
use super::pipeline::{LOW_BANDWIDTH_SCALE, decode_source};
use super::view::{CropRect, fit_scale};
use super::{FontSize, ImageError, ProtocolKind, resize};
use crate::api::client::Client;
use crate::api::dto::{CandidateDetail, CandidateQuery, ImageDto, ReviewDto};
use crate::api::error::ApiError;
use crate::domain::identity::mask_id_number;
use crate::domain::image::{Lock, Verdict};
use crate::domain::imaging::DecodeLimits;
use crate::domain::text::clean;
use crate::lang::Lang;
use crate::ui::i18n::{self, T, tr};

/// Exit codes (documented in `--help` of the command).
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_NOT_LOGGED_IN: u8 = 3;
pub const EXIT_NOT_FOUND: u8 = 4;
pub const EXIT_SERVER: u8 = 5;

/// viuer's sixel printer resizes to 6×12 pixels a cell whatever the font;
/// handing it exactly that many makes its resize a no-op.
const VIUER_SIXEL_CELL: FontSize = FontSize::new(6, 12);

#[derive(Debug, Clone)]
pub struct ShowOptions {
    pub candidate: String,
    pub lang: Lang,
    /// `--protocol`; None: the config's setting (auto asks the terminal).
    pub protocol: Option<ProtocolKind>,
    pub setting: ImageProtocolSetting,
    pub low_bandwidth: bool,
    /// The box each image fits in, in cells; None: the terminal's width.
    pub cells: Option<(u16, u16)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    #[error("not logged in")]
    NotLoggedIn,
    #[error("the stored token was refused")]
    TokenRefused,
    #[error("no candidate {0:?}")]
    NotFound(String),
    #[error(transparent)]
    Api(ApiError),
    #[error("cannot write the output: {0}")]
    Write(#[from] io::Error),
}

impl ShowError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ShowError::NotLoggedIn | ShowError::TokenRefused => EXIT_NOT_LOGGED_IN,
            ShowError::NotFound(_) => EXIT_NOT_FOUND,
            ShowError::Api(_) => EXIT_SERVER,
            ShowError::Write(_) => EXIT_FAILED,
        }
    }

    /// The message for stderr, in the console's language.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            ShowError::NotLoggedIn => tr(lang, T::ShowNotLoggedIn).to_string(),
            ShowError::TokenRefused => tr(lang, T::ShowTokenRefused).to_string(),
            ShowError::NotFound(c) => format!("{} {}", tr(lang, T::ShowNotFound), clean(c)),
            ShowError::Api(e) => i18n::api_error(lang, e),
            ShowError::Write(e) => e.to_string(),
        }
    }
}

impl From<ApiError> for ShowError {
    fn from(e: ApiError) -> Self {
        if e.is_unauthorized() {
            ShowError::TokenRefused
        } else {
            ShowError::Api(e)
        }
    }
}

/// A reg_no first (they are digits too), then an id.
pub async fn resolve(client: &Client, candidate: &str) -> Result<CandidateDetail, ShowError> {
    let wanted = candidate.trim();
    if wanted.is_empty() {
        return Err(ShowError::NotFound(candidate.to_string()));
    }
    let list = client
        .candidates(&CandidateQuery {
            q: Some(wanted.to_string()),
            limit: Some(50),
            ..CandidateQuery::default()
        })
        .await?;
    if let Some(c) = list.items.iter().find(|c| c.reg_no == wanted) {
        return Ok(client.candidate(c.id).await?);
    }
    if let Ok(id) = wanted.parse::<i64>() {
        return match client.candidate(id).await {
            Ok(d) => Ok(d),
            Err(e) if e.status() == Some(404) => Err(ShowError::NotFound(wanted.to_string())),
            Err(e) => Err(e.into()),
        };
    }
    Err(ShowError::NotFound(wanted.to_string()))
}

fn review_line(lang: Lang, label: T, r: &ReviewDto) -> String {
    let mut s = format!("{}: {}", tr(lang, label), i18n::status_name(lang, r.state));
    if !r.reasons.is_empty() {
        let words: Vec<String> = r
            .reasons
            .iter()
            .map(|c| i18n::reason_long(lang, c))
            .collect();
        s.push_str(&format!(" · {}", clean(&words.join("、"))));
    }
    if let Some(n) = &r.note {
        s.push_str(&format!(" · {}", clean(n)));
    }
    if let Some(who) = &r.reviewer {
        s.push_str(&format!(" · {}", clean(who)));
    }
    s
}

/// The ID as the console shows it: masked unless a reveal was audited.
fn shown_id(d: &CandidateDetail) -> String {
    if d.id_revealed || d.id_number.contains('*') {
        clean(&d.id_number)
    } else {
        // The server masks; an unmasked number here is a server bug we do
        // not pass on to a scrollback.
        clean(&mask_id_number(&d.id_number))
    }
}

/// The dossier as text lines, every server string sanitised.
pub fn dossier(lang: Lang, d: &CandidateDetail) -> Vec<String> {
    let mut out = vec![
        format!(
            "{} · {} · {} {}",
            clean(&d.name),
            shown_id(d),
            tr(lang, T::RegNo),
            clean(&d.reg_no)
        ),
        format!(
            "{} · {} · {} · {}/{}",
            clean(&d.gender),
            d.birth_date,
            clean(&d.exam_category),
            clean(&d.district),
            clean(&d.site)
        ),
        format!(
            "{} {} {}{}",
            clean(&d.education),
            clean(&d.school),
            clean(&d.major),
            d.graduation_date
                .map(|g| format!(" · {g}"))
                .unwrap_or_default()
        ),
    ];
    if let Some(t) = &d.trial_institution {
        out.push(format!("{}: {}", tr(lang, T::ShowTrial), clean(t)));
    }
    out.push(format!("{}: {}", tr(lang, T::ShowPhone), clean(&d.phone)));
    out.push(review_line(lang, T::SiteReview, &d.site_review));
    out.push(review_line(lang, T::DistrictReview, &d.district_review));
    for f in d.feedback.iter().take(5) {
        out.push(format!(
            "{} · {} · {}",
            i18n::channel(lang, f.channel),
            clean(&f.author),
            clean(&f.body)
        ));
    }
    out
}

/// The caption above one image.
pub fn caption(lang: Lang, img: &ImageDto, n: usize, total: usize) -> String {
    let cat = match lang {
        Lang::Zh => img.category.name_zh(),
        Lang::En => img.category.name_en(),
    };
    let slot = img
        .slot_label
        .as_deref()
        .map(clean)
        .unwrap_or_else(|| (img.slot + 1).to_string());
    let lock = match img.lock {
        Lock::Locked => tr(lang, T::Locked),
        Lock::Unlocked => tr(lang, T::UnlockedWord),
    };
    let verdict = match img.verdict {
        Verdict::Unreviewed => tr(lang, T::Unreviewed),
        Verdict::Accepted => tr(lang, T::Accepted),
        Verdict::ReplaceRequested => tr(lang, T::ReplaceRequested),
    };
    let mut s = format!(
        "── {cat} · {slot} · {n}/{total} · {} KB · {}×{} · {lock} · {verdict}",
        (img.bytes.max(0) + 1023) / 1024,
        img.width,
        img.height
    );
    if !img.reasons.is_empty() {
        let words: Vec<String> = img
            .reasons
            .iter()
            .map(|c| i18n::reason_long(lang, c))
            .collect();
        s.push_str(&format!(" · {}", clean(&words.join("、"))));
    }
    s
}

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

fn stdout_is_tty() -> bool {
    rustix::termios::isatty(rustix::stdio::stdout())
        && rustix::termios::isatty(rustix::stdio::stdin())
}

/// The protocol and cell size to print with.
fn choose(opts: &ShowOptions) -> (Option<ProtocolKind>, FontSize) {
    if let Some(p) = opts.protocol {
        return (Some(p), FontSize::FALLBACK);
    }
    // Not a terminal (a pipe, a file, a test): half-blocks are text and
    // survive anywhere; asking a pipe would only wait.
    if !stdout_is_tty() {
        let p = (opts.setting != ImageProtocolSetting::Off).then_some(ProtocolKind::Halfblocks);
        return (p, FontSize::FALLBACK);
    }
    let caps = super::detect(&DetectOptions {
        setting: opts.setting,
        low_bandwidth: opts.low_bandwidth,
        ..DetectOptions::default()
    });
    (caps.protocol, caps.font_size)
}

fn default_cells() -> (u16, u16) {
    let (cols, rows) = if stdout_is_tty() {
        crossterm::terminal::size().unwrap_or((80, 24))
    } else {
        (80, 24)
    };
    // A page fits the width; the height leaves room for the caption.
    (cols.clamp(10, 160), rows.saturating_sub(3).clamp(5, 60))
}

/// Print the dossier and the images to `out` (text) and stdout (viuer).
pub async fn run(client: &Client, opts: &ShowOptions) -> Result<(), ShowError> {
    let d = resolve(client, &opts.candidate).await?;
    let (protocol, font) = choose(opts);
    let cells = opts.cells.unwrap_or_else(default_cells);
    let mut out = io::stdout();
    for line in dossier(opts.lang, &d) {
        writeln!(out, "{line}")?;
    }
    let imgs: Vec<&ImageDto> = d.materials.iter().flat_map(|m| m.images.iter()).collect();
    if imgs.is_empty() {
        writeln!(out, "{}", tr(opts.lang, T::NoImages))?;
    }
    for (k, img) in imgs.iter().enumerate() {
        writeln!(out, "{}", caption(opts.lang, img, k + 1, imgs.len()))?;
        let Some(protocol) = protocol else { continue };
        let bytes = match client.image_content(img.id).await {
            Ok(b) => b,
            Err(e) => {
                writeln!(out, "  {}", i18n::api_error(opts.lang, &e))?;
                continue;
            }
        };
        match fit_image(&bytes, cells, protocol, font, opts.low_bandwidth) {
            Ok((pic, at)) => {
                // viuer writes to stdout itself: ours must be out first.
                out.flush()?;
                let conf = viuer_config(protocol, at);
                if let Err(e) = viuer::print(&DynamicImage::ImageRgb8(pic), &conf) {
                    writeln!(out, "  {e}")?;
                }
            }
            Err(e) => writeln!(out, "  {e}")?,
        }
    }
    out.flush()?;
    Ok(())
}
