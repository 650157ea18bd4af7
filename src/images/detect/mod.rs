//! Which graphics protocol to draw with, decided once at console start by
//! asking the terminal in-band, with the environment only as a tie-breaker,
//! and a config override.
//!
//! - [`replies`]: the query and a tolerant parser of the answers (XTVERSION,
//!   DA1, kitty, XTSMGRAPHICS, cell and window size, background colour).
//! - [`tty`]: one write and a bounded read on the terminal's descriptors.
//! - [`tmux`]: what only the tmux program can say (passthrough, pane place).
//! - [`decide`](mod@decide): the pure decision and its reason in words.
//!
//! Inside tmux a first, direct query reaches tmux itself (it answers DA1,
//! XTVERSION and DSR). A second, passthrough-wrapped query then reaches the
//! terminal outside (tmux 3.3 hands those answers back to the pane), as
//! yazi does: that terminal's name, version, kitty support, sixel limits,
//! cell size and background decide what is drawn and how it is wrapped.

pub mod decide;
pub mod replies;
pub mod tmux;
pub mod tty;

use std::os::fd::BorrowedFd;
use std::str::FromStr;
use std::time::Duration;

use ratatui::layout::Rect;

use super::protocol::TerminalImages;
use super::target::RenderTarget;
use super::{FontSize, ProtocolKind};

pub use decide::{Answers, decide};
pub use replies::{Replies, TerminalVersion, parse_replies};
pub use tmux::{PaneOffset, Passthrough};

/// The configured protocol (`image_protocol` in the config).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ImageProtocolSetting {
    #[default]
    Auto,
    Kitty,
    Sixel,
    Iterm2,
    Halfblocks,
    Off,
}

impl FromStr for ImageProtocolSetting {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "auto" => ImageProtocolSetting::Auto,
            "kitty" => ImageProtocolSetting::Kitty,
            "sixel" => ImageProtocolSetting::Sixel,
            "iterm2" | "iterm" => ImageProtocolSetting::Iterm2,
            "halfblocks" | "half-blocks" | "blocks" => ImageProtocolSetting::Halfblocks,
            "off" | "none" => ImageProtocolSetting::Off,
            other => {
                return Err(format!(
                    "unknown image protocol {other:?} (auto, kitty, sixel, iterm2, halfblocks, off)"
                ));
            }
        })
    }
}

impl ImageProtocolSetting {
    fn forced(self) -> Option<ProtocolKind> {
        match self {
            ImageProtocolSetting::Kitty => Some(ProtocolKind::Kitty),
            ImageProtocolSetting::Sixel => Some(ProtocolKind::Sixel),
            ImageProtocolSetting::Iterm2 => Some(ProtocolKind::Iterm2),
            ImageProtocolSetting::Halfblocks => Some(ProtocolKind::Halfblocks),
            ImageProtocolSetting::Auto | ImageProtocolSetting::Off => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectOptions {
    pub setting: ImageProtocolSetting,
    pub low_bandwidth: bool,
    /// Upper bound on the whole query. Terminals answer within a round trip;
    /// one that never answers costs exactly this, once.
    pub timeout: Duration,
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions {
            setting: ImageProtocolSetting::Auto,
            low_bandwidth: false,
            timeout: Duration::from_millis(1000),
        }
    }
}

/// A human reason for the choice, for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub zh: String,
    pub en: String,
}

impl Reason {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Reason {
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// The text in the console's language.
    pub fn text(&self, english: bool) -> &str {
        if english { &self.en } else { &self.zh }
    }
}

/// What was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// `None`: previews are off.
    pub protocol: Option<ProtocolKind>,
    pub font_size: FontSize,
    /// The font size came from the terminal (not the 10×20 guess).
    pub font_size_known: bool,
    pub tmux: bool,
    /// Inside tmux, tmux itself draws sixel (it said so in DA1: 3.4+).
    pub tmux_sixel: bool,
    /// Inside tmux: whether passthrough is allowed.
    pub passthrough: Option<Passthrough>,
    /// Inside tmux: the terminal outside answered through passthrough.
    pub outer_answered: bool,
    pub kitty_zlib: bool,
    /// The drawing terminal shows kitty Unicode placeholders (kitty ≥ 0.28,
    /// Ghostty); otherwise kitty images are placed at the cell.
    pub kitty_placeholders: bool,
    /// The background colour the drawing terminal reported (OSC 11).
    pub background: Option<[u8; 3]>,
    /// XTSMGRAPHICS: the largest sixel the terminal draws, in pixels.
    pub sixel_max_px: Option<(u32, u32)>,
    /// XTSMGRAPHICS: sixel colour registers.
    pub colour_registers: Option<u16>,
    /// XTVERSION of the drawing terminal (outside tmux when it answered),
    /// e.g. "kitty(0.26.5)", "XTerm(379)"; else tmux's.
    pub terminal: Option<String>,
    /// Inside tmux: its version, e.g. "3.3".
    pub tmux_version: Option<String>,
    pub low_bandwidth: bool,
    pub reason: Reason,
}

impl Capabilities {
    /// Whether pictures of protocol `p` go through tmux passthrough (to the
    /// terminal outside) rather than to the terminal we talk to.
    pub fn wraps(&self, p: ProtocolKind) -> bool {
        match p {
            ProtocolKind::Halfblocks => false,
            // tmux 3.4+ draws sixel itself.
            ProtocolKind::Sixel => self.tmux && !self.tmux_sixel,
            _ => self.tmux,
        }
    }

    /// What the pipeline needs, or `None` when previews are off.
    pub fn target(&self) -> Option<RenderTarget> {
        let protocol = self.protocol?;
        Some(RenderTarget {
            protocol,
            font: self.font_size,
            tmux: self.wraps(protocol),
            kitty_zlib: self.kitty_zlib,
            kitty_placeholders: self.kitty_placeholders,
            background: self.background.unwrap_or([0, 0, 0]),
            low_bandwidth: self.low_bandwidth,
            sixel_max_px: self.sixel_max_px,
            colours: self.colour_registers.unwrap_or(256),
            step_budget: None,
        })
    }

    /// The ledger of what the terminal holds; one per console.
    pub fn terminal_images(&self) -> TerminalImages {
        TerminalImages::new(self.protocol.is_some_and(|p| self.wraps(p)))
    }

    /// Half-blocks with the fallback font: for tests and non-terminals.
    pub fn halfblocks() -> Self {
        Capabilities {
            protocol: Some(ProtocolKind::Halfblocks),
            font_size: FontSize::FALLBACK,
            font_size_known: false,
            tmux: false,
            tmux_sixel: false,
            passthrough: None,
            outer_answered: false,
            kitty_zlib: false,
            kitty_placeholders: false,
            background: None,
            sixel_max_px: None,
            colour_registers: None,
            terminal: None,
            tmux_version: None,
            low_bandwidth: false,
            reason: Reason::new("半块字符", "half-blocks"),
        }
    }
}

/// Never put a sixel on the last row of the screen: a sixel that reaches it
/// scrolls the whole screen up in several terminals. Returns `area` with its
/// height reduced so that it ends above the last row (only for sixel).
pub fn sixel_safe_area(area: Rect, screen: Rect, protocol: ProtocolKind) -> Rect {
    if protocol != ProtocolKind::Sixel || screen.height == 0 {
        return area;
    }
    let last_row = screen.bottom().saturating_sub(1);
    if area.bottom() > last_row {
        Rect {
            height: last_row.saturating_sub(area.y),
            ..area
        }
    } else {
        area
    }
}

/// Environment facts used as tie-breakers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvHints {
    pub term: String,
    pub term_program: String,
    pub lc_terminal: String,
    pub kitty_window_id: bool,
    pub ghostty: bool,
    pub wezterm: bool,
    pub konsole: bool,
    pub tmux: bool,
}

impl EnvHints {
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
        let term = var("TERM");
        let term_program = var("TERM_PROGRAM");
        EnvHints {
            tmux: set("TMUX") || term.starts_with("tmux") || term_program == "tmux",
            kitty_window_id: set("KITTY_WINDOW_ID"),
            ghostty: set("GHOSTTY_RESOURCES_DIR"),
            wezterm: set("WEZTERM_EXECUTABLE") || set("WEZTERM_PANE"),
            konsole: set("KONSOLE_VERSION"),
            lc_terminal: var("LC_TERMINAL"),
            term,
            term_program,
        }
    }

    /// The outer terminal may speak kitty graphics (hint only: these can be
    /// stale inside tmux).
    pub fn suggests_kitty(&self) -> bool {
        self.kitty_window_id
            || self.ghostty
            || self.term == "xterm-kitty"
            || self.term == "xterm-ghostty"
            || self.term_program.eq_ignore_ascii_case("ghostty")
    }

    fn iterm2_name(&self) -> Option<&str> {
        let tp = self.term_program.as_str();
        if self.lc_terminal.contains("iTerm") {
            return Some("iTerm2");
        }
        if self.wezterm {
            return Some("WezTerm");
        }
        ["iTerm", "WezTerm", "mintty", "rio", "WarpTerminal"]
            .into_iter()
            .find(|n| tp.contains(n))
    }
}

/// The terminal size from the kernel (pixels are 0 when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WinSize {
    pub cols: u16,
    pub rows: u16,
    pub x_px: u16,
    pub y_px: u16,
}

/// Run once at console start, after entering the alternate screen and
/// before reading events (the answers arrive on stdin). Never takes longer
/// than twice `opts.timeout` plus the time to ask the tmux program.
pub fn detect(opts: &DetectOptions) -> Capabilities {
    let env = EnvHints::from_env();
    let stdin = rustix::stdio::stdin();
    let stdout = rustix::stdio::stdout();
    if !rustix::termios::isatty(stdin) || !rustix::termios::isatty(stdout) {
        let mut caps = decide(opts, &Answers::default(), &env, None);
        if caps.protocol.is_some() && opts.setting == ImageProtocolSetting::Auto {
            caps.reason = Reason::new("半块字符 (不是终端)", "half-blocks (not a terminal)");
        }
        return caps;
    }
    detect_with(stdin, stdout, &env, opts, &|reachable| {
        tmux::passthrough(reachable)
    })
}

/// [`detect`] on explicit terminal descriptors, tmux's passthrough state
/// from the caller (tests drive a real PTY and play tmux).
pub fn detect_on(
    input: BorrowedFd<'_>,
    output: BorrowedFd<'_>,
    env: &EnvHints,
    opts: &DetectOptions,
) -> Capabilities {
    detect_with(input, output, env, opts, &|_| Passthrough::Unknown)
}

fn detect_with(
    input: BorrowedFd<'_>,
    output: BorrowedFd<'_>,
    env: &EnvHints,
    opts: &DetectOptions,
    passthrough: &dyn Fn(bool) -> Passthrough,
) -> Capabilities {
    if opts.setting == ImageProtocolSetting::Off {
        return decide(opts, &Answers::default(), env, None);
    }
    let win = rustix::termios::tcgetwinsize(output).ok().map(|w| WinSize {
        cols: w.ws_col,
        rows: w.ws_row,
        x_px: w.ws_xpixel,
        y_px: w.ws_ypixel,
    });
    let direct = tty::query(
        input,
        output,
        &replies::direct_query(!env.tmux),
        tty::Sentinel::Status,
        opts.timeout,
    )
    .ok()
    .filter(Replies::answered);
    let in_tmux = env.tmux
        || direct
            .as_ref()
            .and_then(|r| r.xtversion.as_deref())
            .is_some_and(|v| v.starts_with("tmux"));
    let mut answers = Answers {
        direct,
        ..Answers::default()
    };
    if in_tmux && answers.direct.is_some() {
        // env.tmux: the tmux program is ours to ask; otherwise tmux is on
        // another machine (we were reached over ssh from inside it).
        let p = passthrough(env.tmux);
        answers.passthrough = Some(p);
        if p.allowed() {
            answers.outer = tty::query(
                input,
                output,
                &replies::outer_query(),
                tty::Sentinel::Da1,
                opts.timeout,
            )
            .ok()
            .filter(Replies::answered);
        }
    }
    decide(opts, &answers, env, win)
}
#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> DetectOptions {
        DetectOptions::default()
    }

    fn win() -> Option<WinSize> {
        Some(WinSize {
            cols: 100,
            rows: 40,
            x_px: 0,
            y_px: 0,
        })
    }

    fn direct(r: Replies) -> Answers {
        Answers {
            direct: Some(r),
            ..Answers::default()
        }
    }

    fn tmux_env() -> EnvHints {
        EnvHints {
            tmux: true,
            ..Default::default()
        }
    }

    /// What tmux 3.3a answers to the direct query.
    fn tmux33() -> Replies {
        parse_replies(b"\x1bP>|tmux 3.3a\x1b\\\x1b[?1;2c\x1b[0n")
    }

    #[test]
    fn kitty_by_version() {
        let r = |v: &str| {
            parse_replies(
                format!("\x1b_Gi=31;OK\x1b\\\x1bP>|kitty({v})\x1b\\\x1b[6;17;8t\x1b[?62;c\x1b[0n")
                    .as_bytes(),
            )
        };
        let old = decide(&opts(), &direct(r("0.26.5")), &EnvHints::default(), win());
        assert_eq!(old.protocol, Some(ProtocolKind::Kitty));
        assert!(!old.kitty_placeholders, "0.26 has no U=1");
        assert!(
            old.reason.en.contains("placed at the cell"),
            "{}",
            old.reason.en
        );
        assert!(old.reason.en.contains("kitty(0.26.5)"));
        let new = decide(&opts(), &direct(r("0.35.2")), &EnvHints::default(), win());
        assert!(new.kitty_placeholders);
        assert!(new.target().is_some_and(|t| t.kitty_placeholders));
        assert_eq!(new.font_size, FontSize::new(8, 17));
    }

    #[test]
    fn sixel_from_da1_and_half_blocks_without_pixel_size() {
        let mut r = Replies {
            sixel: true,
            status: true,
            da1: true,
            cell_px: Some((10, 20)),
            ..Default::default()
        };
        let c = decide(&opts(), &direct(r.clone()), &EnvHints::default(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Sixel));
        r.cell_px = None;
        let c = decide(&opts(), &direct(r.clone()), &EnvHints::default(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Halfblocks));
        assert_eq!(c.reason.zh, "半块字符 (终端未报告像素尺寸)");
        let c = decide(
            &opts(),
            &direct(r),
            &EnvHints::default(),
            Some(WinSize {
                cols: 100,
                rows: 40,
                x_px: 900,
                y_px: 720,
            }),
        );
        assert_eq!(c.protocol, Some(ProtocolKind::Sixel));
        assert_eq!(c.font_size, FontSize::new(9, 18));
    }

    #[test]
    fn xterm_limits_reach_the_target() {
        let r = parse_replies(
            b"\x1bP>|XTerm(379)\x1b\\\x1b[?2;0;1000;1000S\x1b[?1;0;16S\x1b[6;17;8t\x1b]11;rgb:ffff/ffff/ffff\x1b\\\x1b[?63;4c\x1b[0n",
        );
        let c = decide(&opts(), &direct(r), &EnvHints::default(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Sixel));
        assert_eq!(c.reason.en, "sixel (XTerm(379))");
        let t = c.target().expect("target");
        assert_eq!(t.sixel_max_px, Some((1000, 1000)));
        assert_eq!(t.colours, 16);
        assert_eq!(t.background, [255, 255, 255]);
        assert!(!t.tmux);
    }

    #[test]
    fn xtversion_picks_iterm2_for_wezterm_over_ssh() {
        let r = Replies {
            sixel: true,
            kitty: true,
            status: true,
            cell_px: Some((8, 16)),
            xtversion: Some("WezTerm 20240203-110809-5046fc22".into()),
            ..Default::default()
        };
        let c = decide(&opts(), &direct(r), &EnvHints::default(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Iterm2));
        assert!(c.reason.en.contains("WezTerm"));
    }

    #[test]
    fn env_is_only_a_tie_breaker() {
        let env = EnvHints {
            kitty_window_id: true,
            ..Default::default()
        };
        let r = Replies {
            status: true,
            da1: true,
            cell_px: Some((10, 20)),
            ..Default::default()
        };
        let c = decide(&opts(), &direct(r.clone()), &env, win());
        assert_eq!(c.protocol, Some(ProtocolKind::Halfblocks));
        assert!(c.reason.en.contains("no graphics protocol"));
        let env = EnvHints {
            lc_terminal: "iTerm2".into(),
            ..Default::default()
        };
        let r = Replies { sixel: true, ..r };
        assert_eq!(
            decide(&opts(), &direct(r), &env, win()).protocol,
            Some(ProtocolKind::Iterm2)
        );
    }

    #[test]
    fn silence_means_half_blocks() {
        let c = decide(&opts(), &Answers::default(), &EnvHints::default(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Halfblocks));
        assert_eq!(
            c.reason.en,
            "half-blocks (terminal did not answer the query)"
        );
        assert!(!c.font_size_known);
    }

    #[test]
    fn override_low_bandwidth_and_off() {
        let r = Replies {
            kitty: true,
            status: true,
            cell_px: Some((10, 20)),
            ..Default::default()
        };
        let mut o = opts();
        o.setting = ImageProtocolSetting::Sixel;
        let c = decide(&o, &direct(r.clone()), &EnvHints::default(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Sixel));
        assert!(c.reason.en.contains("set in config"));
        o.setting = ImageProtocolSetting::Off;
        let c = decide(&o, &direct(r.clone()), &EnvHints::default(), win());
        assert_eq!(c.protocol, None);
        assert!(c.target().is_none());
        o.setting = ImageProtocolSetting::Auto;
        o.low_bandwidth = true;
        let c = decide(&o, &direct(r), &EnvHints::default(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Halfblocks));
        assert_eq!(c.reason.zh, "半块字符 (低带宽模式)");
        assert_eq!(
            "Iterm2".parse::<ImageProtocolSetting>(),
            Ok(ImageProtocolSetting::Iterm2)
        );
        assert!("png".parse::<ImageProtocolSetting>().is_err());
    }

    #[test]
    fn xterm_through_tmux_33_passes_sixel_through() {
        let outer = parse_replies(
            b"\x1bP>|XTerm(379)\x1b\\\x1b[?2;0;960;680S\x1b[?1;0;256S\x1b[6;17;8t\x1b]11;rgb:ffff/ffff/ffff\x1b\\\x1b[?63;1;2;4;6c",
        );
        let a = Answers {
            direct: Some(tmux33()),
            outer: Some(outer),
            passthrough: Some(Passthrough::On),
        };
        let c = decide(&opts(), &a, &tmux_env(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Sixel));
        assert!(c.tmux && !c.tmux_sixel);
        assert_eq!(c.reason.zh, "sixel (XTerm(379), 经 tmux 直通)");
        assert_eq!(c.tmux_version.as_deref(), Some("3.3"));
        let t = c.target().expect("target");
        assert!(t.tmux, "wrapped for the outer terminal");
        assert_eq!(t.sixel_max_px, Some((960, 680)));
        assert_eq!(c.font_size, FontSize::new(8, 17));
    }

    #[test]
    fn old_kitty_through_tmux_is_placed_at_the_cell() {
        let outer = parse_replies(
            b"\x1b_Gi=31;OK\x1b\\\x1bP>|kitty(0.26.5)\x1b\\\x1b[6;17;8t\x1b]11;rgb:0000/0000/0000\x1b\\\x1b[?62;c",
        );
        let a = Answers {
            direct: Some(tmux33()),
            outer: Some(outer),
            passthrough: Some(Passthrough::EnabledForPane),
        };
        let c = decide(&opts(), &a, &tmux_env(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Kitty));
        assert!(!c.kitty_placeholders);
        assert!(c.reason.en.contains("through tmux passthrough"));
        assert_eq!(c.background, Some([0, 0, 0]));
    }

    #[test]
    fn passthrough_off_says_how_to_turn_it_on() {
        let a = Answers {
            direct: Some(Replies {
                cell_px: Some((10, 20)),
                ..tmux33()
            }),
            outer: None,
            passthrough: Some(Passthrough::Off),
        };
        let c = decide(&opts(), &a, &tmux_env(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Halfblocks));
        assert!(
            c.reason.zh.contains("set -g allow-passthrough on"),
            "{}",
            c.reason.zh
        );
        assert!(c.reason.en.contains("set -g allow-passthrough on"));
    }

    #[test]
    fn tmux_34_draws_sixel_itself() {
        let r = parse_replies(b"\x1bP>|tmux 3.4\x1b\\\x1b[?1;2;4c\x1b[6;20;10t\x1b[0n");
        let a = Answers {
            direct: Some(r),
            outer: None,
            passthrough: Some(Passthrough::On),
        };
        let c = decide(&opts(), &a, &tmux_env(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Sixel));
        assert!(c.tmux_sixel);
        assert!(
            !c.target().expect("target").tmux,
            "tmux draws: no passthrough"
        );
    }

    #[test]
    fn sixel_never_on_last_row() {
        let screen = Rect::new(0, 0, 100, 40);
        let pane = Rect::new(30, 3, 70, 37);
        let safe = sixel_safe_area(pane, screen, ProtocolKind::Sixel);
        assert_eq!(safe.bottom(), 39);
        assert_eq!(sixel_safe_area(pane, screen, ProtocolKind::Kitty), pane);
        let high = Rect::new(0, 0, 10, 10);
        assert_eq!(sixel_safe_area(high, screen, ProtocolKind::Sixel), high);
    }
}
