//! Which graphics protocol to draw with, decided once at console start by
//! asking the terminal in-band (one write, one bounded read), with the
//! environment only as a tie-breaker, and a config override.
//!
//! The query is our own rather than ratatui-image's picker, which has no
//! XTVERSION (needed to tell WezTerm, iTerm2 and Konsole apart over SSH, where
//! `TERM_PROGRAM` is not forwarded), no window-size fallback, and sends its
//! DA1 through tmux passthrough, where the answer never comes back.
//!
//! Inside tmux, tmux answers DA1, XTVERSION, the size reports and DSR itself
//! (and draws sixel itself when it says it can), so those go unwrapped; only
//! the kitty query is wrapped for the outer terminal, and only when the
//! environment suggests a kitty-graphics terminal: its answer arrives after
//! tmux's own, so we must wait for it, and an unanswered query is a wait.

use std::io;
use std::os::fd::BorrowedFd;
use std::str::FromStr;
use std::time::{Duration, Instant};

use ratatui::layout::Rect;

use super::protocol::TerminalImages;
use super::target::RenderTarget;
use super::{FontSize, ProtocolKind};

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
    fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
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
    /// Inside tmux, tmux itself draws sixel (it said so in DA1).
    pub tmux_sixel: bool,
    pub kitty_zlib: bool,
    pub background: Option<[u8; 3]>,
    /// XTVERSION answer, e.g. "kitty(0.35.2)" or "tmux 3.4".
    pub terminal: Option<String>,
    pub low_bandwidth: bool,
    pub reason: Reason,
}

impl Capabilities {
    /// What the pipeline needs, or `None` when previews are off.
    pub fn target(&self) -> Option<RenderTarget> {
        let protocol = self.protocol?;
        let wrap = match protocol {
            // tmux draws sixel itself when it can; passthrough only when it
            // cannot (forced by config), where the outer terminal paints it.
            ProtocolKind::Sixel => self.tmux && !self.tmux_sixel,
            _ => self.tmux,
        };
        Some(RenderTarget {
            protocol,
            font: self.font_size,
            tmux: wrap,
            kitty_zlib: self.kitty_zlib,
            background: self.background.unwrap_or([0, 0, 0]),
            low_bandwidth: self.low_bandwidth,
        })
    }

    /// The ledger of what the terminal holds; one per console.
    pub fn terminal_images(&self) -> TerminalImages {
        TerminalImages::new(self.tmux)
    }

    /// Half-blocks with the fallback font: for tests and non-terminals.
    pub fn halfblocks() -> Self {
        Capabilities {
            protocol: Some(ProtocolKind::Halfblocks),
            font_size: FontSize::FALLBACK,
            font_size_known: false,
            tmux: false,
            tmux_sixel: false,
            kitty_zlib: false,
            background: None,
            terminal: None,
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

/// What the terminal answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replies {
    pub kitty: bool,
    pub kitty_zlib: bool,
    /// Whether a kitty answer (OK or error) arrived at all.
    pub kitty_answered: bool,
    pub sixel: bool,
    pub da1: bool,
    /// Cell size in pixels (CSI 16 t), width × height.
    pub cell_px: Option<(u16, u16)>,
    /// Text area in pixels (CSI 14 t), width × height.
    pub window_px: Option<(u16, u16)>,
    pub xtversion: Option<String>,
    pub background: Option<[u8; 3]>,
    /// The DSR sentinel arrived: every earlier answer is in.
    pub status: bool,
}

/// The terminal size from the kernel (pixels are 0 when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WinSize {
    pub cols: u16,
    pub rows: u16,
    pub x_px: u16,
    pub y_px: u16,
}

const KITTY_QUERY: &str = "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\";
/// The same one-pixel query with its payload deflated (`o=z`): only a
/// terminal that inflates answers OK.
const KITTY_ZLIB_QUERY: &str = "\x1b_Gi=32,s=1,v=1,a=q,t=d,f=24,o=z;eJxjYGAAAAADAAE=\x1b\\";
const XTVERSION: &str = "\x1b[>0q";
const DA1: &str = "\x1b[c";
const CELL_SIZE: &str = "\x1b[16t";
const WINDOW_SIZE: &str = "\x1b[14t";
const BACKGROUND: &str = "\x1b]11;?\x1b\\";
const DSR: &str = "\x1b[5n";

fn tmux_wrap(seq: &str) -> String {
    format!("\x1bPtmux;{}\x1b\\", seq.replace('\x1b', "\x1b\x1b"))
}

/// The query, written in one go. `kitty_through_tmux`: inside tmux, also ask
/// the outer terminal about kitty graphics.
pub fn query_string(tmux: bool, kitty_through_tmux: bool) -> String {
    let mut q = String::new();
    let kitty = format!("{KITTY_QUERY}{KITTY_ZLIB_QUERY}");
    if tmux {
        if kitty_through_tmux {
            q.push_str(&tmux_wrap(&kitty));
        }
    } else {
        q.push_str(&kitty);
    }
    for s in [XTVERSION, DA1, CELL_SIZE, WINDOW_SIZE, BACKGROUND, DSR] {
        q.push_str(s);
    }
    q
}

/// Parse whatever arrived (possibly cut short, possibly with garbage).
pub fn parse_replies(bytes: &[u8]) -> Replies {
    let mut r = Replies::default();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != 0x1b || i + 1 >= bytes.len() {
            i += 1;
            continue;
        }
        let kind = bytes[i + 1];
        let body_start = i + 2;
        match kind {
            b'[' => {
                // CSI: parameters then one final byte 0x40..=0x7E.
                let Some(end) =
                    (body_start..bytes.len()).find(|&j| (0x40..=0x7E).contains(&bytes[j]))
                else {
                    break;
                };
                csi(&bytes[body_start..end], bytes[end], &mut r);
                i = end + 1;
            }
            b'_' | b'P' | b']' => {
                // APC / DCS / OSC: up to ST (ESC \) or, for OSC, BEL.
                let mut end = None;
                let mut j = body_start;
                while j < bytes.len() {
                    if bytes[j] == 0x07 && kind == b']' {
                        end = Some((j, j + 1));
                        break;
                    }
                    if bytes[j] == 0x1b && bytes.get(j + 1) == Some(&b'\\') {
                        end = Some((j, j + 2));
                        break;
                    }
                    j += 1;
                }
                let Some((body_end, next)) = end else {
                    break;
                };
                let body = &bytes[body_start..body_end];
                match kind {
                    b'_' => apc(body, &mut r),
                    b'P' => {
                        if let Some(v) = body.strip_prefix(b">|") {
                            r.xtversion = Some(String::from_utf8_lossy(v).trim().to_string());
                        }
                    }
                    _ => osc(body, &mut r),
                }
                i = next;
            }
            _ => i += 1,
        }
    }
    r
}

fn csi(params: &[u8], fin: u8, r: &mut Replies) {
    let p = String::from_utf8_lossy(params);
    match fin {
        b'c' if p.starts_with('?') => {
            r.da1 = true;
            if p[1..].split(';').any(|x| x == "4") {
                r.sixel = true;
            }
        }
        b't' => {
            let n: Vec<u16> = p.split(';').filter_map(|x| x.parse().ok()).collect();
            if let [kind, h, w] = n[..]
                && h > 0
                && w > 0
            {
                match kind {
                    6 => r.cell_px = Some((w, h)),
                    4 => r.window_px = Some((w, h)),
                    _ => {}
                }
            }
        }
        b'n' if p == "0" => r.status = true,
        _ => {}
    }
}

fn apc(body: &[u8], r: &mut Replies) {
    let s = String::from_utf8_lossy(body);
    let Some(rest) = s.strip_prefix('G') else {
        return;
    };
    let ok = rest.ends_with(";OK");
    if rest.starts_with("i=31;") {
        r.kitty_answered = true;
        r.kitty |= ok;
    } else if rest.starts_with("i=32;") {
        r.kitty_answered = true;
        r.kitty_zlib |= ok;
    }
}

fn osc(body: &[u8], r: &mut Replies) {
    let s = String::from_utf8_lossy(body);
    let Some(rgb) = s.strip_prefix("11;rgb:") else {
        return;
    };
    let parts: Vec<u8> = rgb
        .split('/')
        .filter_map(|h| {
            let v = u32::from_str_radix(h, 16).ok()?;
            // 1 to 4 hex digits: scale to 8 bits.
            let bits = 4 * h.len() as u32;
            if bits == 0 || bits > 16 {
                return None;
            }
            Some(((v * 255 + ((1 << bits) - 1) / 2) / ((1 << bits) - 1)) as u8)
        })
        .collect();
    if let [red, green, blue] = parts[..] {
        r.background = Some([red, green, blue]);
    }
}

fn font_from(replies: Option<&Replies>, win: Option<WinSize>) -> Option<FontSize> {
    let plausible = |w: u16, h: u16| (2..=200).contains(&w) && (4..=400).contains(&h);
    if let Some((w, h)) = replies.and_then(|r| r.cell_px)
        && plausible(w, h)
    {
        return Some(FontSize::new(w, h));
    }
    let win = win.filter(|w| w.cols > 0 && w.rows > 0)?;
    let (px_w, px_h) = replies
        .and_then(|r| r.window_px)
        .unwrap_or((win.x_px, win.y_px));
    let (w, h) = (px_w / win.cols, px_h / win.rows);
    plausible(w, h).then_some(FontSize::new(w, h))
}

/// Decide from what the terminal answered (`None`: it did not answer at all),
/// the environment, and the kernel's window size. Pure.
pub fn decide(
    opts: &DetectOptions,
    replies: Option<&Replies>,
    env: &EnvHints,
    win: Option<WinSize>,
) -> Capabilities {
    let answered = replies.filter(|r| r.status || r.da1 || r.xtversion.is_some());
    let xtversion = answered.and_then(|r| r.xtversion.clone());
    let tmux = env.tmux || xtversion.as_deref().is_some_and(|v| v.starts_with("tmux"));
    // Outside tmux XTVERSION names the terminal itself; inside, tmux.
    let name = xtversion.as_deref().filter(|_| !tmux).unwrap_or("");
    let font = font_from(answered, win);
    let mut caps = Capabilities {
        protocol: Some(ProtocolKind::Halfblocks),
        font_size: font.unwrap_or(FontSize::FALLBACK),
        font_size_known: font.is_some(),
        tmux,
        tmux_sixel: tmux && answered.is_some_and(|r| r.sixel),
        kitty_zlib: answered.is_some_and(|r| r.kitty_zlib),
        background: answered.and_then(|r| r.background),
        terminal: xtversion.clone(),
        low_bandwidth: opts.low_bandwidth,
        reason: Reason::new("", ""),
    };
    let tmux_note = |zh: &str, en: &str| {
        if tmux {
            Reason::new(format!("{zh}, tmux 内"), format!("{en}, inside tmux"))
        } else {
            Reason::new(zh, en)
        }
    };

    if opts.setting == ImageProtocolSetting::Off {
        caps.protocol = None;
        caps.reason = Reason::new("图片预览已关闭 (配置)", "image previews off (config)");
        return caps;
    }
    if let Some(p) = opts.setting.forced() {
        caps.protocol = Some(p);
        let (zh_name, en_name) = names(p);
        caps.reason = if font.is_none() && p != ProtocolKind::Halfblocks {
            tmux_note(
                &format!("{zh_name} (配置指定; 终端未报告像素尺寸, 按 10×20 计)"),
                &format!("{en_name} (set in config; pixel size unknown, assuming 10×20)"),
            )
        } else {
            tmux_note(
                &format!("{zh_name} (配置指定)"),
                &format!("{en_name} (set in config)"),
            )
        };
        return caps;
    }

    let half = |caps: &mut Capabilities, zh: &str, en: &str| {
        caps.protocol = Some(ProtocolKind::Halfblocks);
        caps.reason = tmux_note(&format!("半块字符 ({zh})"), &format!("half-blocks ({en})"));
    };
    if opts.low_bandwidth {
        half(&mut caps, "低带宽模式", "low-bandwidth mode");
        return caps;
    }
    let Some(r) = answered else {
        // No answer at all: only a strong environment hint and a kernel
        // pixel size justify a graphics protocol.
        if let (Some(n), true) = (env.iterm2_name(), font.is_some()) {
            caps.protocol = Some(ProtocolKind::Iterm2);
            caps.reason = tmux_note(
                &format!("iTerm2 图像协议 (终端未应答, 环境变量表明是 {n})"),
                &format!("iTerm2 images (no answer; environment says {n})"),
            );
        } else {
            half(
                &mut caps,
                "终端未应答查询",
                "terminal did not answer the query",
            );
        }
        return caps;
    };
    if font.is_none() {
        half(
            &mut caps,
            "终端未报告像素尺寸",
            "terminal did not report pixel size",
        );
        return caps;
    }
    let lname = name.to_ascii_lowercase();
    if lname.starts_with("konsole") || (!tmux && env.konsole && name.is_empty()) {
        half(
            &mut caps,
            "Konsole 的图形协议支持不完整",
            "Konsole's graphics support is incomplete",
        );
        return caps;
    }
    // WezTerm and iTerm2 answer kitty and sixel queries, but draw their own
    // protocol best (WezTerm has no kitty placeholders).
    let iterm_by_name = lname.starts_with("wezterm") || lname.starts_with("iterm2");
    if iterm_by_name {
        caps.protocol = Some(ProtocolKind::Iterm2);
        caps.reason = tmux_note(
            &format!("iTerm2 图像协议 (终端为 {name})"),
            &format!("iTerm2 images (terminal is {name})"),
        );
        return caps;
    }
    if r.kitty {
        caps.protocol = Some(ProtocolKind::Kitty);
        caps.reason = tmux_note(
            "kitty 图形协议 (终端应答支持)",
            "kitty graphics (terminal answered the query)",
        );
        return caps;
    }
    // Tie-break by environment: iTerm2 answers DA1 with sixel too.
    if let Some(n) = env.iterm2_name() {
        caps.protocol = Some(ProtocolKind::Iterm2);
        caps.reason = tmux_note(
            &format!("iTerm2 图像协议 (环境变量表明是 {n})"),
            &format!("iTerm2 images (environment says {n})"),
        );
        return caps;
    }
    if r.sixel {
        caps.protocol = Some(ProtocolKind::Sixel);
        caps.reason = tmux_note("sixel (终端报告支持)", "sixel (terminal reported support)");
        return caps;
    }
    half(
        &mut caps,
        "终端不支持图形协议",
        "terminal supports no graphics protocol",
    );
    caps
}

fn names(p: ProtocolKind) -> (&'static str, &'static str) {
    match p {
        ProtocolKind::Halfblocks => ("半块字符", "half-blocks"),
        ProtocolKind::Sixel => ("sixel", "sixel"),
        ProtocolKind::Kitty => ("kitty 图形协议", "kitty graphics"),
        ProtocolKind::Iterm2 => ("iTerm2 图像协议", "iTerm2 images"),
    }
}

/// Run once at console start, after entering the alternate screen and
/// before reading events (the answers arrive on stdin). Never takes longer
/// than `opts.timeout` plus the time to start `tmux set`.
pub fn detect(opts: &DetectOptions) -> Capabilities {
    let env = EnvHints::from_env();
    let stdin = rustix::stdio::stdin();
    let stdout = rustix::stdio::stdout();
    if !rustix::termios::isatty(stdin) || !rustix::termios::isatty(stdout) {
        let mut caps = decide(opts, None, &env, None);
        if caps.protocol.is_some() && opts.setting == ImageProtocolSetting::Auto {
            caps.reason = Reason::new("半块字符 (不是终端)", "half-blocks (not a terminal)");
        }
        return caps;
    }
    if env.tmux && opts.setting != ImageProtocolSetting::Off {
        enable_tmux_passthrough();
    }
    detect_on(stdin, stdout, &env, opts)
}

/// [`detect`] on explicit terminal descriptors (tests drive a real PTY).
pub fn detect_on(
    input: BorrowedFd<'_>,
    output: BorrowedFd<'_>,
    env: &EnvHints,
    opts: &DetectOptions,
) -> Capabilities {
    if opts.setting == ImageProtocolSetting::Off {
        return decide(opts, None, env, None);
    }
    let win = rustix::termios::tcgetwinsize(output).ok().map(|w| WinSize {
        cols: w.ws_col,
        rows: w.ws_row,
        x_px: w.ws_xpixel,
        y_px: w.ws_ypixel,
    });
    let replies = query(input, output, env, opts.timeout).ok();
    let replies = replies.filter(|r| r.status || r.da1 || r.xtversion.is_some());
    decide(opts, replies.as_ref(), env, win)
}

/// `tmux set -p allow-passthrough on`, bounded: a wedged tmux must not wedge
/// the console.
fn enable_tmux_passthrough() {
    let child = std::process::Command::new("tmux")
        .args(["set", "-p", "allow-passthrough", "on"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return;
    };
    let deadline = Instant::now() + Duration::from_millis(500);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Write the query and read answers until the DSR sentinel (plus, inside
/// tmux, the outer terminal's kitty answer) or the deadline.
pub fn query(
    input: BorrowedFd<'_>,
    output: BorrowedFd<'_>,
    env: &EnvHints,
    timeout: Duration,
) -> io::Result<Replies> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};

    let kitty_through_tmux = env.tmux && env.suggests_kitty();
    let q = query_string(env.tmux, kitty_through_tmux);

    // Answers must arrive unechoed and without waiting for a newline.
    let original = tcgetattr(input)?;
    let mut raw = original.clone();
    raw.local_modes &= !(LocalModes::ICANON | LocalModes::ECHO);
    tcsetattr(input, OptionalActions::Now, &raw)?;
    let result = (|| {
        write_all(output, q.as_bytes())?;
        read_answers(input, timeout, kitty_through_tmux)
    })();
    if result.as_ref().is_ok_and(|r| !r.status) {
        // Cut short: drop half-read answers now rather than let the event
        // reader take them for keys (later stragglers cannot be helped).
        let _ = rustix::termios::tcflush(input, rustix::termios::QueueSelector::IFlush);
    }
    let _ = tcsetattr(input, OptionalActions::Now, &original);
    result
}

fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn read_answers(
    input: BorrowedFd<'_>,
    timeout: Duration,
    wait_for_kitty: bool,
) -> io::Result<Replies> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};

    let deadline = Instant::now() + timeout;
    let mut got = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    loop {
        let r = parse_replies(&got);
        if r.status && (!wait_for_kitty || r.kitty_answered) {
            return Ok(r);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(r);
        }
        let ts = Timespec {
            tv_sec: left.as_secs() as _,
            tv_nsec: left.subsec_nanos() as _,
        };
        let mut fds = [PollFd::new(&input, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => return Ok(parse_replies(&got)),
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        if !fds[0].revents().contains(PollFlags::IN) {
            // Hang-up or error with nothing to read: stop waiting.
            return Ok(parse_replies(&got));
        }
        match rustix::io::read(input, &mut buf) {
            Ok(0) => return Ok(parse_replies(&got)),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
            Err(e) => return Err(e.into()),
        }
        if got.len() > 64 * 1024 {
            // Someone is typing a novel; whatever was answered is in.
            return Ok(parse_replies(&got));
        }
    }
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

    #[test]
    fn parses_a_full_answer() {
        let r = parse_replies(
            b"\x1b_Gi=31;OK\x1b\\\x1b_Gi=32;OK\x1b\\\x1bP>|kitty(0.35.2)\x1b\\\x1b[?62;4;22c\x1b[6;20;10t\x1b[4;800;1000t\x1b]11;rgb:1e1e/1e1e/2e2e\x1b\\\x1b[0n",
        );
        assert!(r.kitty && r.kitty_zlib && r.sixel && r.status && r.da1);
        assert_eq!(r.cell_px, Some((10, 20)));
        assert_eq!(r.window_px, Some((1000, 800)));
        assert_eq!(r.xtversion.as_deref(), Some("kitty(0.35.2)"));
        assert_eq!(r.background, Some([0x1e, 0x1e, 0x2e]));
    }

    #[test]
    fn parses_errors_garbage_and_truncation() {
        let r = parse_replies(b"junk\x1b_Gi=31;ENOTSUPPORTED:no\x1b\\\x1b[?1;2c\x1b[0n\x1b[6;2");
        assert!(!r.kitty && r.kitty_answered && !r.sixel && r.status);
        assert_eq!(r.cell_px, None);
        let r = parse_replies(b"\x1b]11;rgb:ff/80/00\x07");
        assert_eq!(r.background, Some([255, 128, 0]));
        assert_eq!(parse_replies(b""), Replies::default());
        assert_eq!(parse_replies(b"\x1b"), Replies::default());
    }

    #[test]
    fn query_wraps_only_kitty_inside_tmux() {
        let q = query_string(false, false);
        assert!(q.starts_with("\x1b_Gi=31") && q.ends_with(DSR));
        assert!(!q.contains("tmux;"));
        let q = query_string(true, true);
        assert!(q.starts_with("\x1bPtmux;\x1b\x1b_Gi=31"));
        assert!(q.contains("\x1b[c") && q.ends_with(DSR));
        assert!(!query_string(true, false).contains("_G"));
    }

    #[test]
    fn kitty_wins_when_answered() {
        let r = Replies {
            kitty: true,
            sixel: true,
            status: true,
            cell_px: Some((9, 18)),
            ..Default::default()
        };
        let c = decide(&opts(), Some(&r), &EnvHints::default(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Kitty));
        assert_eq!(c.font_size, FontSize::new(9, 18));
        assert!(c.reason.zh.contains("kitty") && c.reason.en.contains("kitty"));
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
        let c = decide(&opts(), Some(&r), &EnvHints::default(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Sixel));
        r.cell_px = None;
        let c = decide(&opts(), Some(&r), &EnvHints::default(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Halfblocks));
        assert_eq!(c.reason.zh, "半块字符 (终端未报告像素尺寸)");
        assert_eq!(
            c.reason.en,
            "half-blocks (terminal did not report pixel size)"
        );
        // The kernel's pixel size is a fallback for the font size.
        let c = decide(
            &opts(),
            Some(&r),
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
    fn xtversion_picks_iterm2_for_wezterm_over_ssh() {
        let r = Replies {
            sixel: true,
            kitty: true,
            status: true,
            cell_px: Some((8, 16)),
            xtversion: Some("WezTerm 20240203-110809-5046fc22".into()),
            ..Default::default()
        };
        let c = decide(&opts(), Some(&r), &EnvHints::default(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Iterm2));
        assert!(c.reason.en.contains("WezTerm"));
    }

    #[test]
    fn env_is_only_a_tie_breaker() {
        // A stale KITTY_WINDOW_ID does not make a silent terminal kitty.
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
        let c = decide(&opts(), Some(&r), &env, win());
        assert_eq!(c.protocol, Some(ProtocolKind::Halfblocks));
        assert!(c.reason.en.contains("no graphics protocol"));
        // iTerm2 (LC_TERMINAL survives ssh) breaks the tie with sixel.
        let env = EnvHints {
            lc_terminal: "iTerm2".into(),
            ..Default::default()
        };
        let r = Replies { sixel: true, ..r };
        assert_eq!(
            decide(&opts(), Some(&r), &env, win()).protocol,
            Some(ProtocolKind::Iterm2)
        );
    }

    #[test]
    fn silence_means_half_blocks() {
        let c = decide(&opts(), None, &EnvHints::default(), win());
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
        let c = decide(&o, Some(&r), &EnvHints::default(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Sixel));
        assert!(c.reason.en.contains("set in config"));
        o.setting = ImageProtocolSetting::Off;
        let c = decide(&o, Some(&r), &EnvHints::default(), win());
        assert_eq!(c.protocol, None);
        assert!(c.target().is_none());
        o.setting = ImageProtocolSetting::Auto;
        o.low_bandwidth = true;
        let c = decide(&o, Some(&r), &EnvHints::default(), win());
        assert_eq!(c.protocol, Some(ProtocolKind::Halfblocks));
        assert_eq!(c.reason.zh, "半块字符 (低带宽模式)");
        assert_eq!(
            "Iterm2".parse::<ImageProtocolSetting>(),
            Ok(ImageProtocolSetting::Iterm2)
        );
        assert!("png".parse::<ImageProtocolSetting>().is_err());
    }

    #[test]
    fn tmux_sixel_is_drawn_by_tmux_and_kitty_is_wrapped() {
        let env = EnvHints {
            tmux: true,
            ..Default::default()
        };
        let r = Replies {
            sixel: true,
            da1: true,
            status: true,
            cell_px: Some((10, 20)),
            xtversion: Some("tmux 3.4".into()),
            ..Default::default()
        };
        let c = decide(&opts(), Some(&r), &env, win());
        assert_eq!(c.protocol, Some(ProtocolKind::Sixel));
        assert!(c.tmux && c.tmux_sixel);
        assert!(c.reason.zh.ends_with("tmux 内"));
        let t = c.target().expect("target");
        assert!(!t.tmux, "tmux draws sixel itself: no passthrough");
        let r = Replies {
            kitty: true,
            sixel: false,
            ..r
        };
        let t = decide(&opts(), Some(&r), &env, win())
            .target()
            .expect("target");
        assert_eq!(t.protocol, ProtocolKind::Kitty);
        assert!(t.tmux);
    }

    #[test]
    fn sixel_never_on_last_row() {
        let screen = Rect::new(0, 0, 100, 40);
        let pane = Rect::new(30, 3, 70, 37); // ends at the last row
        let safe = sixel_safe_area(pane, screen, ProtocolKind::Sixel);
        assert_eq!(safe.bottom(), 39);
        assert_eq!(sixel_safe_area(pane, screen, ProtocolKind::Kitty), pane);
        let high = Rect::new(0, 0, 10, 10);
        assert_eq!(sixel_safe_area(high, screen, ProtocolKind::Sixel), high);
    }
}
