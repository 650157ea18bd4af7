//! The only place state changes: `update(&mut State, Action) -> Vec<Effect>`.
//! Pure: no I/O, no clock (time arrives with Tick), no terminal.
//!
//! Here: the entry points (`start`, `update`), the clock (`tick`), which
//! part gets a key, and the status setters all parts share. What each
//! action does lives in one file per concern, so a change to (say) the
//! outbox is read and reviewed in one place:
//!
//! - `session`: logging in and out, 401s and other read errors
//! - `command`: commands on the screen below any overlay
//! - `popups`: keys inside overlays (pickers, inputs, confirmations)
//! - `queue`: the queue table, its pages, selection and counts
//! - `candidate`: opening a candidate, its claim and dossier
//! - `judge`: judging images and deciding the candidate
//! - `flagged`: asking once before locking an image with quality hints
//! - `ops`: the outbox of writes, their results and retries
//! - `undo`: taking back the last op
//! - `stream`: live events from the server
//! - `reports`: `:export` (the follow-up list) and `:stats` (the overview)

mod candidate;
mod command;
mod flagged;
mod judge;
mod ops;
mod popups;
mod queue;
mod reports;
mod session;
mod stream;
mod undo;

// The crate's API as it was when this was one file.
pub use candidate::current_image;
pub use ops::retry_delay;
pub use popups::{mode_is_overlay, palette_matches};
pub use queue::{PAGE, query, queue_rows};

use chrono::{DateTime, Utc};

use super::action::{Action, Effect};
use super::keys::KeyAction;
use super::state::*;

use candidate::{claim_done, detail_done};
use command::command;
use ops::{op_done, outbox_loaded, pump};
use popups::{confirm_key, input_key, leave_key, picker_key, refused_key};
use queue::{keep_visible, page_done};
use session::{api_error, login_done, login_key};
use stream::stream;

/// Renew a claim this often while the candidate is open (TTL is 5 min).
const CLAIM_RENEW: i64 = 60;

fn idem() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn set_status(s: &mut State, kind: StatusKind, msg: StatusMsg) {
    s.status = Some(Status {
        kind,
        msg,
        at: s.now,
    });
}

fn info(s: &mut State, msg: StatusMsg) {
    set_status(s, StatusKind::Info, msg);
}
fn ok(s: &mut State, msg: StatusMsg) {
    set_status(s, StatusKind::Ok, msg);
}
fn warn(s: &mut State, msg: StatusMsg) {
    set_status(s, StatusKind::Warn, msg);
}
fn error(s: &mut State, msg: StatusMsg) {
    set_status(s, StatusKind::Error, msg);
}

/// The console's start: with a token, check it; otherwise the login screen.
pub fn start(s: &mut State, have_token: bool) -> Vec<Effect> {
    s.screen = Screen::Login;
    if have_token {
        s.login.busy = true;
        s.login.error = Some(StatusMsg::LoggingIn);
        vec![Effect::CheckToken]
    } else {
        vec![]
    }
}

pub fn update(s: &mut State, action: Action) -> Vec<Effect> {
    // Heartbeats are as quiet as ticks: they redraw only what they change.
    let is_tick = matches!(
        action,
        Action::Tick(_) | Action::Stream(crate::api::client::StreamEvent::Alive)
    );
    let status_before = s.status.clone();
    let fx = match action {
        Action::Tick(now) => tick(s, now),
        Action::Resize(w, h) => {
            s.size = (w, h);
            keep_visible(s);
            s.dirty = true;
            vec![]
        }
        Action::Paste(text) => {
            for c in text.chars().filter(|c| !c.is_control()) {
                type_char(s, c);
            }
            vec![]
        }
        Action::Key(k) => key(s, k),
        Action::LoginDone(r) => login_done(
            s,
            r.map(|r| {
                (
                    r.reviewer,
                    r.window,
                    r.expires_at,
                    Some(r.token),
                    r.undo_window_secs,
                )
            }),
        ),
        Action::MeDone(r) => login_done(
            s,
            r.map(|r| (r.reviewer, r.window, r.expires_at, None, r.undo_window_secs)),
        ),
        Action::PageDone { req, result } => page_done(s, req, result),
        Action::DetailDone { req, id, result } => detail_done(s, req, id, result),
        Action::AuditDone { id, result } => {
            if let Some(c) = s.cand.as_mut().filter(|c| c.id == id) {
                match result {
                    Ok(list) => c.audit = Some(list.items),
                    Err(e) => return api_error(s, e),
                }
            }
            vec![]
        }
        Action::ClaimDone { id, result } => claim_done(s, id, result),
        Action::OpDone { op, result } => op_done(s, op, result),
        Action::RevealDone { id, result } => match result {
            Ok(r) => {
                if let Some(c) = s.cand.as_mut().filter(|c| c.id == id) {
                    c.revealed = Some(r.id_number);
                }
                info(s, StatusMsg::Revealed);
                vec![]
            }
            Err(e) => api_error(s, e),
        },
        Action::Stream(ev) => stream(s, ev),
        Action::OutboxLoaded(r) => outbox_loaded(s, r),
        Action::ExportDone(r) => reports::export_done(s, r),
        Action::StatsDone(r) => reports::stats_done(s, r),
        Action::JournalFailed(e) => {
            s.durable = false;
            error(s, StatusMsg::JournalFailed(e));
            vec![]
        }
    };
    if !is_tick || s.status != status_before {
        s.dirty = true;
    }
    fx
}

fn tick(s: &mut State, now: DateTime<Utc>) -> Vec<Effect> {
    let minute_changed = s.now.timestamp() / 60 != now.timestamp() / 60;
    s.now = now;
    if minute_changed {
        s.dirty = true;
    }
    // A silent stream: say so within seconds (the server beats every second).
    if s.conn == Conn::Connected && s.live.conn(&s.conn, now) == Conn::Reconnecting {
        s.conn = Conn::Reconnecting;
        s.dirty = true;
        warn(s, StatusMsg::ServerSilent);
    }
    let mut fx = Vec::new();
    if let Some(at) = s.login.retry_at
        && now >= at
    {
        s.login.retry_at = None;
        fx.push(Effect::CheckToken);
    }
    // Renew the claim while the candidate is open.
    if let Some(c) = s.cand.as_mut()
        && let ClaimState::Mine { renewed_at } = c.claim
        && (now - renewed_at).num_seconds() >= CLAIM_RENEW
    {
        c.claim = ClaimState::Mine { renewed_at: now };
        fx.push(Effect::Claim {
            id: c.id,
            idem: idem(),
        });
    }
    if let Some(since) = s.queue.counts_stale_since
        && (now - since).num_seconds() >= 2
        && s.queue.counts_req.is_none()
        && s.session.is_some()
    {
        s.queue.counts_stale_since = None;
        let req = s.req();
        s.queue.counts_req = Some(req);
        let mut q = query(s, None);
        q.limit = Some(1);
        fx.push(Effect::FetchPage { req, query: q });
    }
    // Drop the status after a while so stale news does not linger.
    if let Some(st) = &s.status
        && st.kind != StatusKind::Error
        && (now - st.at).num_seconds() >= 8
    {
        s.status = None;
    }
    fx.extend(queue::search_tick(s));
    fx.extend(pump(s));
    fx
}

fn key(s: &mut State, k: KeyAction) -> Vec<Effect> {
    // Asked over the login form too (quitting from a relogin).
    if let Some(Overlay::ConfirmLeave(c)) = s.overlay {
        s.overlay = None;
        return leave_key(s, c, k);
    }
    if s.relogin || s.screen == Screen::Login {
        return login_key(s, k);
    }
    match s.overlay.take() {
        Some(Overlay::Picker(p)) => picker_key(s, p, k),
        Some(Overlay::Confirm(c)) => confirm_key(s, c, k),
        Some(Overlay::ConfirmFlagged(c)) => flagged::flagged_key(s, c, k),
        Some(Overlay::Stats) => {
            // Any key but a scroll closes it.
            if let KeyAction::Scroll(_) = k {
                s.overlay = Some(Overlay::Stats);
            }
            vec![]
        }
        Some(Overlay::Help { scroll }) => {
            if let KeyAction::Scroll(d) = k {
                let v = (i32::from(scroll) + d).clamp(0, 200);
                s.overlay = Some(Overlay::Help {
                    scroll: u16::try_from(v).unwrap_or(0),
                });
            }
            vec![]
        }
        Some(Overlay::Input(i)) => input_key(s, i, k),
        Some(Overlay::Refused { cursor }) => refused_key(s, cursor, k),
        Some(Overlay::ConfirmLeave(c)) => leave_key(s, c, k),
        None => match k {
            KeyAction::Command(c) => command(s, c),
            _ => vec![],
        },
    }
}

fn type_char(s: &mut State, c: char) {
    if s.relogin || s.screen == Screen::Login {
        match s.login.focus {
            LoginField::Username => s.login.username.push(c),
            LoginField::Password => s.login.password.push(c),
        }
        return;
    }
    match &mut s.overlay {
        Some(Overlay::Input(i)) => i.text.push(c),
        Some(Overlay::Picker(p)) if p.note_focus => p.note.push(c),
        _ => {}
    }
}
