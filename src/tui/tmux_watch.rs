//! Pictures passed through tmux are not tmux's: it neither moves them with
//! the pane nor redraws them when it redraws the pane (another window shown
//! and back, a client attaching, a split). Once a second this asks tmux
//! where our pane is and whether it is shown, so the painter can take the
//! pictures down while it is not and paint them again where it now is.

use std::time::Duration;

use crate::images::detect::tmux::{PANE_FORMAT, PaneState, parse_pane};

/// How often tmux is asked (a `tmux display` costs a few milliseconds).
pub const EVERY: Duration = Duration::from_secs(1);

/// What changed since the last look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaneChange {
    /// Our pane is no longer on the client's screen; the client's tty.
    Hidden(Option<String>),
    /// Shown again, or moved, or a client attached: draw everything anew.
    Redraw(PaneState),
}

#[derive(Debug, Default)]
pub struct TmuxWatch {
    last: Option<PaneState>,
    attached: Option<String>,
}

impl TmuxWatch {
    /// Ask tmux now; a change, if any.
    pub async fn poll(&mut self) -> Option<PaneChange> {
        // `client_activity`-free: the attached clients' ttys change when a
        // client attaches or detaches, which also loses every picture.
        let format = format!("{PANE_FORMAT} #{{session_attached_list}} #{{client_tty}}");
        let mut cmd = tokio::process::Command::new("tmux");
        cmd.arg("display");
        if let Ok(pane) = std::env::var("TMUX_PANE")
            && !pane.is_empty()
        {
            cmd.args(["-t", &pane]);
        }
        cmd.args(["-p", &format])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_millis(500), cmd.output())
            .await
            .ok()?
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let state = parse_pane(&text)?;
        let clients = text.split_whitespace().nth(6).unwrap_or("").to_string();
        let tty = text
            .split_whitespace()
            .nth(7)
            .filter(|t| t.starts_with("/dev/"))
            .map(str::to_string);
        match self.change(state, clients) {
            Some(PaneChange::Hidden(_)) => Some(PaneChange::Hidden(tty)),
            other => other,
        }
    }

    /// The pure part of [`poll`](Self::poll).
    pub fn change(&mut self, state: PaneState, clients: String) -> Option<PaneChange> {
        let prev = self.last.replace(state);
        let prev_clients = self.attached.replace(clients.clone());
        let prev = prev?;
        if !state.visible {
            return prev.visible.then_some(PaneChange::Hidden(None));
        }
        let attached = prev_clients.is_some_and(|c| c != clients);
        (!prev.visible || prev.offset != state.offset || attached)
            .then_some(PaneChange::Redraw(state))
    }
}

/// Write `seq` straight to the tmux client's terminal (same user, same
/// machine). Only used for deletions, which are harmless if they land
/// between tmux's own writes.
pub fn write_to_client(tty: Option<&str>, seq: &str) {
    use std::io::Write;
    let (Some(tty), false) = (tty, seq.is_empty()) else {
        return;
    };
    if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(tty) {
        let _ = f.write_all(seq.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::detect::PaneOffset;

    fn st(x: u16, visible: bool) -> PaneState {
        PaneState {
            offset: PaneOffset { x, y: 0 },
            visible,
        }
    }

    #[test]
    fn hidden_then_shown_again_redraws() {
        let mut w = TmuxWatch::default();
        assert_eq!(w.change(st(0, true), "a".into()), None);
        assert_eq!(w.change(st(0, true), "a".into()), None);
        assert_eq!(
            w.change(st(0, false), "a".into()),
            Some(PaneChange::Hidden(None))
        );
        assert_eq!(w.change(st(0, false), "a".into()), None);
        assert_eq!(
            w.change(st(0, true), "a".into()),
            Some(PaneChange::Redraw(st(0, true)))
        );
        // A split moved the pane; a client attached.
        assert!(matches!(
            w.change(st(40, true), "a".into()),
            Some(PaneChange::Redraw(_))
        ));
        assert!(matches!(
            w.change(st(40, true), "a,b".into()),
            Some(PaneChange::Redraw(_))
        ));
    }
}
