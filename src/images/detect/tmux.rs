//! Asking tmux (the program, over its socket) what the escape sequences
//! cannot tell: whether passthrough is allowed for our pane, and where the
//! pane sits on the outer terminal (a picture passed through is drawn at
//! the outer terminal's cursor, which tmux does not put there for us).
//!
//! Every call is bounded: a wedged tmux must not wedge the console.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Whether tmux hands `ESC P tmux; … ESC \` on to the outer terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passthrough {
    /// Allowed (by the user's configuration).
    On,
    /// Was off for this pane; we turned it on for this pane only
    /// (`set -p`, gone with the pane).
    EnabledForPane,
    /// Off, and we could not turn it on.
    Off,
    /// tmux could not be asked (the console runs on another machine than
    /// tmux, e.g. `ssh host shenhe` inside a local tmux): try and see.
    Unknown,
}

impl Passthrough {
    pub fn allowed(self) -> bool {
        !matches!(self, Passthrough::Off)
    }
}

/// Run `tmux ARGS` with a deadline; its stdout when it succeeded.
pub fn tmux(args: &[&str], deadline: Duration) -> Option<String> {
    let mut cmd = Command::new("tmux");
    let (sub, rest) = args.split_first()?;
    cmd.arg(sub);
    // Address our own pane, not the most recently used one.
    if let Ok(pane) = std::env::var("TMUX_PANE")
        && !pane.is_empty()
        && matches!(*sub, "display" | "set" | "show")
    {
        cmd.args(["-t", &pane]);
    }
    cmd.args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().ok()?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut out = String::new();
                if let Some(mut o) = child.stdout.take() {
                    use std::io::Read;
                    let _ = o.read_to_string(&mut out);
                }
                return status.success().then_some(out);
            }
            Ok(None) if start.elapsed() < deadline => std::thread::sleep(Duration::from_millis(3)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

const DEADLINE: Duration = Duration::from_millis(500);

/// Passthrough for our pane, turned on for the pane when it was off: a
/// reviewer should not have to know tmux to see a document. When even that
/// fails, the status bar says how to turn it on.
pub fn passthrough(reachable: bool) -> Passthrough {
    if !reachable {
        return Passthrough::Unknown;
    }
    let Some(v) = tmux(&["display", "-p", "#{allow-passthrough}"], DEADLINE) else {
        return Passthrough::Unknown;
    };
    if matches!(v.trim(), "1" | "on" | "all") {
        return Passthrough::On;
    }
    match tmux(&["set", "-p", "allow-passthrough", "on"], DEADLINE) {
        Some(_) => Passthrough::EnabledForPane,
        None => Passthrough::Off,
    }
}

/// Where our pane's top-left cell is on the outer terminal (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PaneOffset {
    pub x: u16,
    pub y: u16,
}

/// Our pane's place, and whether it is the one the client shows now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PaneState {
    pub offset: PaneOffset,
    /// Our window is current and our pane is in it (and not zoomed away).
    pub visible: bool,
}

pub const PANE_FORMAT: &str =
    "#{pane_left} #{pane_top} #{status} #{status-position} #{window_active} #{session_attached}";

/// Parse [`PANE_FORMAT`]'s answer.
pub fn parse_pane(s: &str) -> Option<PaneState> {
    let f: Vec<&str> = s.split_whitespace().collect();
    let [left, top, status, position, active, attached, ..] = f[..] else {
        return None;
    };
    let mut y: u16 = top.parse().ok()?;
    // A status line on top pushes every pane down (`status` may be a
    // number of lines, or on/off).
    if position == "top" {
        y += match status {
            "on" => 1,
            "off" => 0,
            n => n.parse().unwrap_or(1),
        };
    }
    Some(PaneState {
        offset: PaneOffset {
            x: left.parse().ok()?,
            y,
        },
        visible: active == "1" && attached != "0",
    })
}

/// Ask tmux where our pane is now.
pub fn pane_state() -> Option<PaneState> {
    parse_pane(&tmux(&["display", "-p", PANE_FORMAT], DEADLINE)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pane_positions() {
        let p = parse_pane("0 0 on bottom 1 1\n").expect("parse");
        assert_eq!(p.offset, PaneOffset { x: 0, y: 0 });
        assert!(p.visible);
        let p = parse_pane("61 12 on top 0 1").expect("parse");
        assert_eq!(p.offset, PaneOffset { x: 61, y: 13 });
        assert!(!p.visible);
        assert_eq!(parse_pane("x"), None);
    }
}
