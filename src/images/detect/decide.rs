//! The decision, pure: from what the terminal (and, inside tmux, the
//! terminal outside it) answered, the environment and the kernel's window
//! size, which protocol draws and why, in words for the status bar.

use super::replies::{Replies, TerminalVersion};
use super::tmux::Passthrough;
use super::{Capabilities, DetectOptions, EnvHints, ImageProtocolSetting, Reason, WinSize};
use crate::images::{FontSize, ProtocolKind};

/// Everything detection learnt, before the decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    /// What answered the direct query: the terminal, or tmux.
    pub direct: Option<Replies>,
    /// Inside tmux: what the terminal outside answered through passthrough.
    pub outer: Option<Replies>,
    /// Inside tmux: whether passthrough is allowed.
    pub passthrough: Option<Passthrough>,
}

fn font_from(replies: &[Option<&Replies>], win: Option<WinSize>) -> Option<FontSize> {
    let plausible = |w: u16, h: u16| (2..=200).contains(&w) && (4..=400).contains(&h);
    for r in replies.iter().flatten() {
        if let Some((w, h)) = r.cell_px
            && plausible(w, h)
        {
            return Some(FontSize::new(w, h));
        }
    }
    let win = win.filter(|w| w.cols > 0 && w.rows > 0)?;
    let (px_w, px_h) = replies
        .iter()
        .flatten()
        .find_map(|r| r.window_px)
        .unwrap_or((win.x_px, win.y_px));
    let (w, h) = (px_w / win.cols, px_h / win.rows);
    plausible(w, h).then_some(FontSize::new(w, h))
}

/// Terminals that draw kitty's Unicode placeholders (`U=1`): kitty from
/// 0.28, Ghostty. Anything else that speaks kitty graphics gets classic
/// placements, which every implementation has.
pub fn kitty_placeholders(name: Option<&TerminalVersion>) -> bool {
    match name {
        Some(v) if v.is("kitty") => v.at_least(&[0, 28]),
        Some(v) if v.is("ghostty") => true,
        _ => false,
    }
}

pub fn names(p: ProtocolKind) -> (&'static str, &'static str) {
    match p {
        ProtocolKind::Halfblocks => ("半块字符", "half-blocks"),
        ProtocolKind::Sixel => ("sixel", "sixel"),
        ProtocolKind::Kitty => ("kitty 图形协议", "kitty graphics"),
        ProtocolKind::Iterm2 => ("iTerm2 图像协议", "iTerm2 images"),
    }
}

/// The advice when tmux keeps pictures from the terminal outside.
pub const PASSTHROUGH_ADVICE_ZH: &str =
    "tmux 未允许直通: 在 ~/.tmux.conf 加 set -g allow-passthrough on";
pub const PASSTHROUGH_ADVICE_EN: &str =
    "tmux passthrough is off: add set -g allow-passthrough on to ~/.tmux.conf";

/// Decide. Pure.
pub fn decide(
    opts: &DetectOptions,
    answers: &Answers,
    env: &EnvHints,
    win: Option<WinSize>,
) -> Capabilities {
    let direct = answers.direct.as_ref().filter(|r| r.answered());
    let xt = direct
        .and_then(|r| r.xtversion.as_deref())
        .and_then(TerminalVersion::parse);
    let tmux = env.tmux || xt.as_ref().is_some_and(|v| v.is("tmux"));
    let tmux_version = xt.clone().filter(|v| v.is("tmux"));
    let outer = answers.outer.as_ref().filter(|r| tmux && r.answered());
    // The terminal that draws: outside tmux the one we talk to, inside it
    // the one beyond tmux (tmux 3.4's own sixel aside).
    let gfx = if tmux { outer } else { direct };
    let gfx_name = gfx
        .and_then(|r| r.xtversion.as_deref())
        .and_then(TerminalVersion::parse)
        .filter(|v| !v.is("tmux"));
    let font = font_from(&[gfx, direct], win);
    let passthrough = answers.passthrough.filter(|_| tmux);
    let mut caps = Capabilities {
        protocol: Some(ProtocolKind::Halfblocks),
        font_size: font.unwrap_or(FontSize::FALLBACK),
        font_size_known: font.is_some(),
        tmux,
        tmux_sixel: tmux && direct.is_some_and(|r| r.sixel),
        passthrough,
        outer_answered: outer.is_some(),
        kitty_zlib: gfx.is_some_and(|r| r.kitty_zlib),
        kitty_placeholders: kitty_placeholders(gfx_name.as_ref()),
        background: gfx
            .and_then(|r| r.background)
            .or(direct.and_then(|r| r.background)),
        sixel_max_px: gfx.and_then(|r| r.sixel_max_px),
        colour_registers: gfx.and_then(|r| r.colour_registers),
        terminal: gfx
            .and_then(|r| r.xtversion.clone())
            .or(direct.and_then(|r| r.xtversion.clone())),
        tmux_version: tmux_version.as_ref().map(|v| {
            v.version
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(".")
        }),
        low_bandwidth: opts.low_bandwidth,
        reason: Reason::new("", ""),
    };
    // "XTerm(379), 经 tmux 直通" — who draws, and how it gets there.
    let shown_name = caps.terminal.clone().filter(|_| gfx_name.is_some());
    let via = |zh: &str, en: &str, wrapped: bool| -> Reason {
        let who = shown_name.as_deref();
        match (tmux, wrapped, who) {
            (true, true, Some(w)) => Reason::new(
                format!("{zh} ({w}, 经 tmux 直通)"),
                format!("{en} ({w}, through tmux passthrough)"),
            ),
            (true, true, None) => Reason::new(
                format!("{zh} (经 tmux 直通)"),
                format!("{en} (through tmux passthrough)"),
            ),
            (true, false, _) => Reason::new(format!("{zh}, tmux 内"), format!("{en}, inside tmux")),
            (false, _, Some(w)) => Reason::new(format!("{zh} ({w})"), format!("{en} ({w})")),
            (false, _, None) => Reason::new(zh, en),
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
        let wrapped = caps.wraps(p);
        caps.reason = if font.is_none() && p != ProtocolKind::Halfblocks {
            via(
                &format!("{zh_name} (配置指定; 终端未报告像素尺寸, 按 10×20 计)"),
                &format!("{en_name} (set in config; pixel size unknown, assuming 10×20)"),
                wrapped,
            )
        } else {
            via(
                &format!("{zh_name} (配置指定)"),
                &format!("{en_name} (set in config)"),
                wrapped,
            )
        };
        return caps;
    }

    let half = |caps: &mut Capabilities, zh: &str, en: &str| {
        caps.protocol = Some(ProtocolKind::Halfblocks);
        caps.reason = if tmux {
            Reason::new(
                format!("半块字符 ({zh}), tmux 内"),
                format!("half-blocks ({en}), inside tmux"),
            )
        } else {
            Reason::new(format!("半块字符 ({zh})"), format!("half-blocks ({en})"))
        };
    };
    if opts.low_bandwidth {
        half(&mut caps, "低带宽模式", "low-bandwidth mode");
        return caps;
    }
    if direct.is_none() {
        // No answer at all: only a strong environment hint and a kernel
        // pixel size justify a graphics protocol.
        if let (Some(n), true) = (env.iterm2_name(), font.is_some()) {
            caps.protocol = Some(ProtocolKind::Iterm2);
            caps.reason = via(
                &format!("iTerm2 图像协议 (终端未应答, 环境变量表明是 {n})"),
                &format!("iTerm2 images (no answer; environment says {n})"),
                tmux,
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
    // Inside tmux: tmux 3.4+ draws sixel itself; everything else must pass
    // through to the terminal outside.
    if tmux && gfx.is_none() {
        if caps.tmux_sixel {
            caps.protocol = Some(ProtocolKind::Sixel);
            caps.reason = Reason::new("sixel (tmux 自己绘制)", "sixel (drawn by tmux itself)");
            return caps;
        }
        match passthrough {
            Some(Passthrough::Off) => half(&mut caps, PASSTHROUGH_ADVICE_ZH, PASSTHROUGH_ADVICE_EN),
            _ => half(
                &mut caps,
                "外层终端经 tmux 直通无应答; 若 tmux 在另一台机器上, 在其 ~/.tmux.conf 加 set -g allow-passthrough on",
                "the terminal outside tmux did not answer through passthrough; if tmux runs on another machine, add set -g allow-passthrough on to its ~/.tmux.conf",
            ),
        }
        return caps;
    }
    let Some(r) = gfx else {
        half(
            &mut caps,
            "终端未应答查询",
            "terminal did not answer the query",
        );
        return caps;
    };
    let lname = gfx_name
        .as_ref()
        .map(|v| v.name.to_ascii_lowercase())
        .unwrap_or_default();
    if lname.starts_with("konsole") || (!tmux && env.konsole && gfx_name.is_none()) {
        half(
            &mut caps,
            "Konsole 的图形协议支持不完整",
            "Konsole's graphics support is incomplete",
        );
        return caps;
    }
    // WezTerm and iTerm2 answer kitty and sixel queries, but draw their own
    // protocol best (WezTerm has no kitty placeholders).
    if lname.starts_with("wezterm") || lname.starts_with("iterm2") {
        caps.protocol = Some(ProtocolKind::Iterm2);
        caps.reason = via("iTerm2 图像协议", "iTerm2 images", tmux);
        return caps;
    }
    if r.kitty {
        caps.protocol = Some(ProtocolKind::Kitty);
        caps.reason = if caps.kitty_placeholders {
            via(
                "kitty 图形协议, 占位符",
                "kitty graphics, placeholders",
                tmux,
            )
        } else {
            // Why: the version has no placeholders (the name shows it).
            via(
                "kitty 图形协议, 单元格放置 (无占位符)",
                "kitty graphics, placed at the cell (no placeholders)",
                tmux,
            )
        };
        return caps;
    }
    if caps.tmux_sixel {
        caps.protocol = Some(ProtocolKind::Sixel);
        caps.reason = Reason::new("sixel (tmux 自己绘制)", "sixel (drawn by tmux itself)");
        return caps;
    }
    if let Some(n) = env.iterm2_name().filter(|_| !tmux) {
        // Tie-break by environment: iTerm2 answers DA1 with sixel too.
        caps.protocol = Some(ProtocolKind::Iterm2);
        caps.reason = via(
            &format!("iTerm2 图像协议 (环境变量表明是 {n})"),
            &format!("iTerm2 images (environment says {n})"),
            false,
        );
        return caps;
    }
    if r.sixel {
        if let Some((w, h)) = caps.sixel_max_px
            && (w < 64 || h < 64)
        {
            half(
                &mut caps,
                &format!("终端的 sixel 上限只有 {w}×{h} 像素"),
                &format!("the terminal draws sixel only up to {w}×{h} px"),
            );
            return caps;
        }
        caps.protocol = Some(ProtocolKind::Sixel);
        caps.reason = via("sixel", "sixel", tmux);
        return caps;
    }
    half(
        &mut caps,
        "终端不支持图形协议",
        "terminal supports no graphics protocol",
    );
    caps
}
