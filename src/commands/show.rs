//! `shenhe show CANDIDATE`: one dossier and its images printed to the
//! scrollback (line mode, no alternate screen), for quick look-ups and
//! scripts. viuer prints the images, fitted first by
//! [`crate::images::line`].

use std::io::{self, Write};

use image::DynamicImage;

use super::{Failure, LazyRuntime, log_to_file};
use crate::api::client::{Client, Timeouts};
use crate::api::dto::{CandidateDetail, CandidateQuery, ImageDto, ReviewDto};
use crate::api::error::ApiError;
use crate::cli::{Cli, ShowArgs};
use crate::domain::identity::mask_id_number;
use crate::domain::image::{Lock, Verdict};
use crate::domain::text::clean;
use crate::images::line::{fit_image, viuer_config};
use crate::images::{self, DetectOptions, FontSize, ImageProtocolSetting, ProtocolKind};
use crate::lang::Lang;
use crate::ui::i18n::{self, T, tr};
use crate::{app, config, tui};

/// Exit codes (documented in `--help` of the command).
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_NOT_LOGGED_IN: u8 = 3;
pub const EXIT_NOT_FOUND: u8 = 4;
pub const EXIT_SERVER: u8 = 5;

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
    let caps = images::detect(&DetectOptions {
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
pub async fn print(client: &Client, opts: &ShowOptions) -> Result<(), ShowError> {
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

/// `shenhe show`: the console's login (SHENHE_TOKEN, else the stored token),
/// no terminal setup, output to the scrollback. The exit status is
/// [`ShowError::exit_code`]'s.
pub fn run(cli: &Cli, args: &ShowArgs, rt: &LazyRuntime) -> Result<(), Failure> {
    let data_dir = config::data_dir();
    log_to_file(data_dir.as_deref());
    let (cfg, cfg_err) = config::load(cli.config.as_deref());
    if let Some(e) = cfg_err {
        say!("shenhe show: {e}");
    }
    let lang = cfg.lang;
    let server = cli.server.clone().unwrap_or_else(|| cfg.server.clone());
    let server = server.trim_end_matches('/').to_string();
    let token = std::env::var("SHENHE_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .or_else(|| {
            data_dir
                .as_deref()
                .and_then(|d| app::effects::load_token(d, &server, chrono::Utc::now()))
        });
    let fail =
        |e: ShowError| Failure::new(e.exit_code(), format!("shenhe show: {}", e.message(lang)));
    let Some(token) = token else {
        return Err(fail(ShowError::NotLoggedIn));
    };
    let opts = ShowOptions {
        candidate: args.candidate.clone(),
        lang,
        protocol: args.protocol.map(Into::into),
        setting: tui::protocol_setting(cfg.image_protocol),
        low_bandwidth: cli.low_bandwidth || cfg.low_bandwidth,
        cells: args.cells,
    };
    let rt = rt.get()?;
    let run = async {
        let client = Client::new(&server, Some(token), Timeouts::default())?;
        print(&client, &opts).await
    };
    match rt.block_on(run) {
        Ok(()) => Ok(()),
        // `| head` closing the pipe early is not a failure of ours.
        Err(ShowError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(fail(e)),
    }
}
