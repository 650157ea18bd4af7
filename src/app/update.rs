//! The only place state changes: `update(&mut State, Action) -> Vec<Effect>`.
//! Pure: no I/O, no clock (time arrives with Tick), no terminal.

use chrono::{DateTime, Duration, Utc};

use crate::api::client::StreamEvent;
use crate::api::dto::{CandidateQuery, CandidateSummary, ImageDto};
use crate::api::error::ApiError;
use crate::domain::image::{Lock, Verdict};
use crate::domain::reason::{ReasonError, ReasonTarget, reasons_for, validate_reasons};
use crate::domain::review::{Decision, Level, ReviewStatus, Reviews};

use super::action::{Action, Effect, JournalOp, OpOk};
use super::keys::{Command, KeyAction, Mode};
use super::state::*;

/// Rows fetched per page; the next page is asked for this far ahead.
pub const PAGE: u32 = 200;
const PREFETCH_ROWS: usize = 100;
/// Renew a claim this often while the candidate is open (TTL is 5 min).
const CLAIM_RENEW: i64 = 60;

/// Rows of the queue table for a terminal `height` rows tall (header 2,
/// status 2, borders 2, column titles 1).
pub fn queue_rows(height: u16) -> usize {
    usize::from(height.saturating_sub(7)).max(1)
}

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
    let is_tick = matches!(action, Action::Tick(_));
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
            r.map(|r| (r.reviewer, r.window, r.expires_at, Some(r.token))),
        ),
        Action::MeDone(r) => login_done(s, r.map(|r| (r.reviewer, r.window, r.expires_at, None))),
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

// ------------------------------------------------------------------ clock

fn tick(s: &mut State, now: DateTime<Utc>) -> Vec<Effect> {
    let minute_changed = s.now.timestamp() / 60 != now.timestamp() / 60;
    s.now = now;
    if minute_changed {
        s.dirty = true;
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
    fx.extend(pump(s));
    fx
}

// ------------------------------------------------------------------ keys

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

fn login_key(s: &mut State, k: KeyAction) -> Vec<Effect> {
    let f = &mut s.login;
    match k {
        KeyAction::Char(c) => type_char(s, c),
        KeyAction::Backspace => {
            match f.focus {
                LoginField::Username => f.username.pop(),
                LoginField::Password => f.password.pop(),
            };
        }
        KeyAction::NextField => {
            f.focus = match f.focus {
                LoginField::Username => LoginField::Password,
                LoginField::Password => LoginField::Username,
            }
        }
        KeyAction::Submit => {
            if f.focus == LoginField::Username && f.password.is_empty() {
                f.focus = LoginField::Password;
                return vec![];
            }
            if f.busy || f.username.trim().is_empty() {
                return vec![];
            }
            f.busy = true;
            f.error = Some(StatusMsg::LoggingIn);
            return vec![Effect::Login {
                username: f.username.trim().to_string(),
                password: f.password.clone(),
            }];
        }
        KeyAction::Cancel | KeyAction::Command(Command::Quit) => {
            // Over a running session unsent work may be waiting: the same
            // warning as q.
            if s.relogin {
                return quit(s);
            }
            s.quit = true;
            return vec![Effect::Quit];
        }
        _ => {}
    }
    vec![]
}

fn input_key(s: &mut State, mut i: Input, k: KeyAction) -> Vec<Effect> {
    match k {
        KeyAction::Char(c) => i.text.push(c),
        KeyAction::Backspace => {
            i.text.pop();
        }
        KeyAction::NextField => match i.kind {
            InputKind::Feedback => {
                use crate::domain::audit::FeedbackChannel as F;
                // The order the form shows them in.
                i.channel = match i.channel {
                    F::Phone => F::Sms,
                    F::Sms => F::System,
                    F::System => F::Phone,
                };
            }
            InputKind::Palette => {
                if let Some(c) = palette_matches(&i.text).first() {
                    i.text = c.name().to_string();
                }
            }
            InputKind::Search => {}
        },
        KeyAction::Cancel => return vec![],
        KeyAction::Submit => return input_submit(s, i),
        _ => {}
    }
    s.overlay = Some(Overlay::Input(i));
    vec![]
}

/// Commands whose name contains what was typed, live ones first.
pub fn palette_matches(text: &str) -> Vec<Command> {
    let t = text.trim().replace([' ', '-'], "_");
    let mut v: Vec<Command> = Command::ALL
        .iter()
        .copied()
        .filter(|c| c.name().contains(t.as_str()))
        .collect();
    v.sort_by_key(|c| (!c.name().starts_with(t.as_str()), c.name()));
    v
}

fn input_submit(s: &mut State, i: Input) -> Vec<Effect> {
    match i.kind {
        InputKind::Search => {
            s.queue.query = i.text.trim().to_string();
            reload_queue(s)
        }
        InputKind::Palette => {
            let name = i.text.trim().replace([' ', '-'], "_");
            if name.is_empty() {
                return vec![];
            }
            let cmd = Command::from_name(&name).or_else(|| {
                let m = palette_matches(&name);
                (m.len() == 1).then(|| m[0])
            });
            match cmd {
                Some(c)
                    if c.live_in(s.base_mode()) || matches!(c, Command::Quit | Command::Logout) =>
                {
                    command(s, c)
                }
                Some(c) => {
                    warn(s, StatusMsg::NotHere(c.name().into()));
                    vec![]
                }
                None => {
                    warn(s, StatusMsg::UnknownCommand(name));
                    vec![]
                }
            }
        }
        InputKind::Feedback => {
            let body = i.text.trim().to_string();
            if body.is_empty() {
                warn(s, StatusMsg::FeedbackEmpty);
                s.overlay = Some(Overlay::Input(i));
                return vec![];
            }
            let Some(c) = &s.cand else { return vec![] };
            let (id, name) = (c.id, c.name());
            let version = c.detail.as_ref().map(|d| d.version).unwrap_or(0);
            enqueue(
                s,
                id,
                name,
                OpKind::Feedback {
                    channel: i.channel,
                    body,
                },
                version,
            )
        }
    }
}

fn picker_key(s: &mut State, mut p: Picker, k: KeyAction) -> Vec<Effect> {
    p.error = None;
    match k {
        KeyAction::Toggle(n) => {
            if let Some(c) = p.chosen.get_mut(n) {
                *c = !*c;
                p.cursor = n;
            }
        }
        KeyAction::ToggleCursor => {
            if let Some(c) = p.chosen.get_mut(p.cursor) {
                *c = !*c;
            }
        }
        KeyAction::Move(d) => {
            let n = p.options.len() as i32;
            if n > 0 {
                p.cursor = usize::try_from((p.cursor as i32 + d).rem_euclid(n)).unwrap_or(0);
            }
        }
        KeyAction::NextField => p.note_focus = !p.note_focus,
        KeyAction::Char(c) if p.note_focus => p.note.push(c),
        KeyAction::Backspace if p.note_focus => {
            p.note.pop();
        }
        KeyAction::Cancel => {
            if p.note_focus {
                p.note_focus = false;
            } else {
                return vec![];
            }
        }
        KeyAction::Submit => return picker_submit(s, p),
        _ => {}
    }
    s.overlay = Some(Overlay::Picker(p));
    vec![]
}

fn picker_submit(s: &mut State, mut p: Picker) -> Vec<Effect> {
    let codes = p.codes();
    let note = Some(p.note.trim().to_string()).filter(|n| !n.is_empty());
    let target = match p.purpose {
        PickerPurpose::Unlock { .. } => ReasonTarget::Image,
        _ => ReasonTarget::Candidate,
    };
    if let Err(e) = validate_reasons(target, &codes, note.as_deref()) {
        p.error = Some(match e {
            ReasonError::NoteRequired(_) => {
                p.note_focus = true;
                StatusMsg::NeedNote
            }
            ReasonError::NoteTooLong => StatusMsg::NoteTooLong,
            _ => StatusMsg::NeedReason,
        });
        s.overlay = Some(Overlay::Picker(p));
        return vec![];
    }
    let Some(c) = &s.cand else { return vec![] };
    let (id, name) = (c.id, c.name());
    match p.purpose {
        PickerPurpose::Unlock { image_id } => {
            let version = c
                .images()
                .iter()
                .find(|i| i.id == image_id)
                .map(|i| i.version)
                .unwrap_or(0);
            let mut fx = enqueue(
                s,
                id,
                name,
                OpKind::Unlock {
                    image_id,
                    reasons: codes,
                    note,
                },
                version,
            );
            ok(s, StatusMsg::Unlocked);
            advance_image(s);
            fx.extend(vec![]);
            fx
        }
        PickerPurpose::Reject => {
            s.overlay = Some(Overlay::Confirm(ConfirmReject {
                candidate_id: id,
                name,
                reasons: codes,
                note,
            }));
            vec![]
        }
        PickerPurpose::Pending => decide(s, Decision::Pending, codes, note),
        PickerPurpose::Return => decide(s, Decision::Return, codes, note),
    }
}

fn confirm_key(s: &mut State, c: ConfirmReject, k: KeyAction) -> Vec<Effect> {
    match k {
        KeyAction::ConfirmYes => {
            if s.cand.as_ref().map(|v| v.id) == Some(c.candidate_id) {
                decide(s, Decision::Reject, c.reasons, c.note)
            } else {
                vec![]
            }
        }
        KeyAction::ConfirmNo | KeyAction::Cancel => vec![],
        _ => {
            s.overlay = Some(Overlay::Confirm(c));
            vec![]
        }
    }
}

// ------------------------------------------------------------------ commands

fn command(s: &mut State, c: Command) -> Vec<Effect> {
    let in_cand = matches!(s.screen, Screen::Candidate | Screen::Zoom);
    match c {
        Command::Up | Command::Down if in_cand => {
            if c == Command::Up {
                step_image(s, -1)
            } else {
                step_image(s, 1)
            }
            vec![]
        }
        Command::Up => move_sel(s, -1),
        Command::Down => move_sel(s, 1),
        Command::PageUp => move_sel(s, -(queue_rows(s.size.1) as i64)),
        Command::PageDown => move_sel(s, queue_rows(s.size.1) as i64),
        Command::Top => move_sel(s, i64::MIN / 2),
        Command::Bottom => move_sel(s, i64::MAX / 2),
        Command::Open => {
            let i = s.queue.selected;
            open_index(s, i)
        }
        Command::Back => back(s),
        Command::Quit => quit(s),
        Command::NextTab | Command::PrevTab => {
            let i = Tab::ALL.iter().position(|t| *t == s.queue.tab).unwrap_or(0);
            let n = Tab::ALL.len();
            let j = if c == Command::NextTab {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            s.queue.tab = Tab::ALL[j];
            reload_queue(s)
        }
        Command::NextImage => {
            step_image(s, 1);
            vec![]
        }
        Command::PrevImage => {
            step_image(s, -1);
            vec![]
        }
        Command::Lock => lock(s),
        Command::Unlock => open_picker(s, Command::Unlock),
        Command::Pending => open_picker(s, Command::Pending),
        Command::Reject => open_picker(s, Command::Reject),
        Command::ReturnToSite => {
            if s.level() != Some(Level::District) {
                warn(s, StatusMsg::DistrictOnly);
                return vec![];
            }
            open_picker(s, Command::ReturnToSite)
        }
        Command::Pass => pass(s),
        Command::Undo => undo(s),
        Command::NextCandidate => next_candidate(s, 1),
        Command::PrevCandidate => next_candidate(s, -1),
        Command::Zoom => {
            if s.screen == Screen::Zoom {
                s.screen = Screen::Candidate;
            } else if s.cand.as_ref().and_then(|c| c.current_image()).is_some() {
                s.zoom = ZoomView::FIT;
                s.screen = Screen::Zoom;
            } else {
                warn(s, StatusMsg::NoImages);
            }
            vec![]
        }
        Command::ZoomIn => {
            s.zoom.one_to_one = false;
            s.zoom.zoom = (s.zoom.zoom + 1).min(ZoomView::MAX_ZOOM);
            vec![]
        }
        Command::ZoomOut => {
            s.zoom.one_to_one = false;
            s.zoom.zoom = s.zoom.zoom.saturating_sub(1);
            if s.zoom.zoom == 0 {
                // Back at "fit": the whole image, centred.
                s.zoom.pan_x = 0;
                s.zoom.pan_y = 0;
                s.zoom.region = 0;
            }
            vec![]
        }
        Command::Region1
        | Command::Region2
        | Command::Region3
        | Command::Region4
        | Command::Region5
        | Command::Region6
        | Command::Region7
        | Command::Region8
        | Command::Region9 => {
            // A jump replaces the pans made before it.
            s.zoom.region = c.region().unwrap_or(0);
            s.zoom.pan_x = 0;
            s.zoom.pan_y = 0;
            vec![]
        }
        Command::OneToOne => {
            s.zoom.one_to_one = !s.zoom.one_to_one;
            vec![]
        }
        Command::Rotate => {
            s.zoom.rotation = (s.zoom.rotation + 1) % 4;
            vec![]
        }
        Command::PanLeft => pan(s, -1, 0),
        Command::PanRight => pan(s, 1, 0),
        Command::PanUp => pan(s, 0, -1),
        Command::PanDown => pan(s, 0, 1),
        Command::Search => {
            s.overlay = Some(Overlay::Input(Input {
                kind: InputKind::Search,
                text: s.queue.query.clone(),
                channel: crate::domain::audit::FeedbackChannel::System,
            }));
            vec![]
        }
        Command::ShowBytes => {
            s.show_bytes = !s.show_bytes;
            vec![]
        }
        Command::Palette => {
            s.overlay = Some(Overlay::Input(Input {
                kind: InputKind::Palette,
                text: String::new(),
                channel: crate::domain::audit::FeedbackChannel::System,
            }));
            vec![]
        }
        Command::Help => {
            s.overlay = Some(Overlay::Help { scroll: 0 });
            vec![]
        }
        Command::Reveal => {
            let Some(c) = s.cand.as_mut() else {
                return vec![];
            };
            if c.revealed.take().is_some() {
                // A second press hides the number again.
                return vec![];
            }
            vec![Effect::Reveal {
                id: c.id,
                idem: idem(),
            }]
        }
        Command::Feedback => {
            if s.cand.is_none() {
                return vec![];
            }
            s.overlay = Some(Overlay::Input(Input {
                kind: InputKind::Feedback,
                text: String::new(),
                channel: crate::domain::audit::FeedbackChannel::Phone,
            }));
            vec![]
        }
        Command::History => {
            let Some(c) = s.cand.as_mut() else {
                return vec![];
            };
            c.panel = !c.panel;
            if c.panel {
                vec![Effect::LoadAudit { id: c.id }]
            } else {
                vec![]
            }
        }
        Command::Refresh => {
            let mut fx = reload_queue(s);
            if let Some(id) = s.cand.as_ref().map(|c| c.id) {
                fx.extend(load_candidate(s, id));
            }
            fx
        }
        Command::Logout => {
            let unsent = s.unsent();
            if unsent > 0 {
                s.overlay = Some(Overlay::ConfirmLeave(ConfirmLeave {
                    unsent,
                    durable: s.durable,
                    logout: true,
                }));
                return vec![];
            }
            logout(s)
        }
        Command::Refused => {
            if s.refused.is_empty() {
                info(s, StatusMsg::NoRefused);
            } else {
                s.overlay = Some(Overlay::Refused { cursor: 0 });
            }
            vec![]
        }
    }
}

fn logout(s: &mut State) -> Vec<Effect> {
    let mut fx = release_current(s);
    s.cand = None;
    s.session = None;
    s.screen = Screen::Login;
    s.login = LoginForm::default();
    s.queue = Queue::new();
    s.undo.clear();
    // What is unsent or refused stays in this reviewer's journal (when
    // there is one) for their next login; never sent as someone else.
    s.outbox = Outbox::default();
    s.refused.clear();
    s.durable = false;
    fx.push(Effect::Logout);
    fx.push(Effect::ForgetToken);
    fx
}

/// y/n on leaving with unsent decisions.
fn leave_key(s: &mut State, c: ConfirmLeave, k: KeyAction) -> Vec<Effect> {
    match k {
        KeyAction::ConfirmYes if c.logout => logout(s),
        KeyAction::ConfirmYes => leave(s),
        KeyAction::ConfirmNo | KeyAction::Cancel => vec![],
        _ => {
            s.overlay = Some(Overlay::ConfirmLeave(c));
            vec![]
        }
    }
}

/// The refused list: move, dismiss one or all, Enter opens the candidate.
fn refused_key(s: &mut State, cursor: usize, k: KeyAction) -> Vec<Effect> {
    let n = s.refused.len();
    let mut cursor = cursor.min(n.saturating_sub(1));
    let mut fx = Vec::new();
    match k {
        KeyAction::Move(d) => {
            let c = i64::try_from(cursor).unwrap_or(0) + i64::from(d);
            cursor = usize::try_from(c.clamp(0, n.saturating_sub(1) as i64)).unwrap_or(0);
        }
        KeyAction::Dismiss if n > 0 => {
            let r = s.refused.remove(cursor);
            fx.push(Effect::Journal(JournalOp::Remove { key: r.op.idem }));
            let left = s.refused.len();
            info(s, StatusMsg::RefusedDismissed { left });
        }
        KeyAction::DismissAll => {
            for r in std::mem::take(&mut s.refused) {
                fx.push(Effect::Journal(JournalOp::Remove { key: r.op.idem }));
            }
            info(s, StatusMsg::RefusedDismissed { left: 0 });
        }
        KeyAction::Submit => {
            // Go and look at the candidate as it is now.
            if let Some(r) = s.refused.get(cursor) {
                let (id, name) = (r.op.candidate_id, r.op.name.clone());
                if s.cand.as_ref().map(|c| c.id) == Some(id) {
                    fx.extend(load_candidate(s, id));
                    s.screen = Screen::Candidate;
                } else {
                    fx.extend(reopen(s, id, &name));
                }
            }
            return fx;
        }
        KeyAction::Cancel => return fx,
        _ => {}
    }
    if !s.refused.is_empty() {
        s.overlay = Some(Overlay::Refused {
            cursor: cursor.min(s.refused.len() - 1),
        });
    }
    fx
}

fn pan(s: &mut State, dx: i16, dy: i16) -> Vec<Effect> {
    // At "fit" there is nothing to pan to.
    if s.zoom.zoom > 0 {
        s.zoom.pan_x = s.zoom.pan_x.saturating_add(dx).clamp(-64, 64);
        s.zoom.pan_y = s.zoom.pan_y.saturating_add(dy).clamp(-64, 64);
    }
    vec![]
}

fn back(s: &mut State) -> Vec<Effect> {
    match s.screen {
        Screen::Zoom => {
            s.screen = Screen::Candidate;
            vec![]
        }
        Screen::Candidate => {
            let fx = release_current(s);
            s.cand = None;
            s.screen = Screen::Queue;
            fx
        }
        Screen::Queue if !s.queue.query.is_empty() => {
            s.queue.query.clear();
            reload_queue(s)
        }
        _ => quit(s),
    }
}

fn quit(s: &mut State) -> Vec<Effect> {
    let unsent = s.unsent();
    if unsent > 0 {
        s.overlay = Some(Overlay::ConfirmLeave(ConfirmLeave {
            unsent,
            durable: s.durable,
            logout: false,
        }));
        return vec![];
    }
    leave(s)
}

fn leave(s: &mut State) -> Vec<Effect> {
    s.quit = true;
    let mut fx = release_current(s);
    fx.push(Effect::Quit);
    fx
}

// ------------------------------------------------------------------ queue

pub fn query(s: &State, cursor: Option<String>) -> CandidateQuery {
    CandidateQuery {
        state: Some(s.queue.tab.status().as_str().to_string()),
        q: Some(s.queue.query.clone()).filter(|q| !q.is_empty()),
        cursor,
        limit: Some(PAGE),
    }
}

fn reload_queue(s: &mut State) -> Vec<Effect> {
    let req = s.req();
    s.queue.loading = Some((req, true));
    vec![Effect::FetchPage {
        req,
        query: query(s, None),
    }]
}

fn more_if_needed(s: &mut State) -> Vec<Effect> {
    let q = &s.queue;
    if q.loading.is_none()
        && q.next_cursor.is_some()
        && q.selected + PREFETCH_ROWS.max(queue_rows(s.size.1) * 2) >= q.rows.len()
    {
        let cursor = q.next_cursor.clone();
        let req = s.req();
        s.queue.loading = Some((req, false));
        return vec![Effect::FetchPage {
            req,
            query: query(s, cursor),
        }];
    }
    vec![]
}

fn keep_visible(s: &mut State) {
    let rows = queue_rows(s.size.1);
    let q = &mut s.queue;
    if q.selected >= q.rows.len() {
        q.selected = q.rows.len().saturating_sub(1);
    }
    if q.selected < q.offset {
        q.offset = q.selected;
    } else if q.selected >= q.offset + rows {
        q.offset = q.selected + 1 - rows;
    }
    let max_offset = q.rows.len().saturating_sub(rows);
    q.offset = q.offset.min(max_offset);
}

fn move_sel(s: &mut State, d: i64) -> Vec<Effect> {
    let n = s.queue.rows.len() as i64;
    if n == 0 {
        return vec![];
    }
    let i = (s.queue.selected as i64).saturating_add(d).clamp(0, n - 1);
    s.queue.selected = usize::try_from(i).unwrap_or(0);
    keep_visible(s);
    more_if_needed(s)
}

fn page_done(
    s: &mut State,
    req: u64,
    result: Result<Box<crate::api::dto::CandidateList>, ApiError>,
) -> Vec<Effect> {
    if s.queue.counts_req == Some(req) {
        s.queue.counts_req = None;
        if let Ok(list) = result {
            s.queue.counts = list.counts;
        }
        return vec![];
    }
    let Some((r, fresh)) = s.queue.loading else {
        return vec![];
    };
    if r != req {
        // A newer request superseded this one (latest wins).
        return vec![];
    }
    s.queue.loading = None;
    match result {
        Ok(list) => {
            let list = *list;
            s.queue.counts = list.counts;
            s.queue.next_cursor = list.next_cursor;
            if fresh {
                let keep = s.queue.selected;
                s.queue.rows = list.items;
                s.queue.selected = keep.min(s.queue.rows.len().saturating_sub(1));
            } else {
                // Rows already held (moved by events) are not duplicated.
                let have: std::collections::HashSet<i64> =
                    s.queue.rows.iter().map(|r| r.id).collect();
                s.queue
                    .rows
                    .extend(list.items.into_iter().filter(|r| !have.contains(&r.id)));
            }
            s.queue.loaded = true;
            keep_visible(s);
            more_if_needed(s)
        }
        Err(e) => api_error(s, e),
    }
}

fn claimed_by_other(r: &CandidateSummary, now: DateTime<Utc>) -> bool {
    r.claim
        .as_ref()
        .is_some_and(|c| !c.mine && c.expires_at > now)
}

/// The next row from `from` in direction `dir` (inclusive of `from`) that
/// nobody else holds and is not `skip`.
fn find_open(s: &State, from: i64, dir: i64, skip: Option<i64>) -> Option<usize> {
    let n = s.queue.rows.len() as i64;
    let mut i = from;
    while i >= 0 && i < n {
        let r = &s.queue.rows[usize::try_from(i).ok()?];
        if Some(r.id) != skip && !claimed_by_other(r, s.now) {
            return usize::try_from(i).ok();
        }
        i += dir;
    }
    None
}

fn next_candidate(s: &mut State, dir: i64) -> Vec<Effect> {
    let current = s.cand.as_ref().map(|c| c.id);
    let from = match current {
        Some(id) => match s.queue.rows.iter().position(|r| r.id == id) {
            Some(i) => i as i64 + dir,
            None => s.queue.selected as i64,
        },
        None => s.queue.selected as i64,
    };
    match find_open(s, from, dir, current) {
        Some(i) => open_index(s, i),
        None => {
            info(
                s,
                if dir > 0 {
                    StatusMsg::QueueEnd
                } else {
                    StatusMsg::QueueStart
                },
            );
            more_if_needed(s)
        }
    }
}

fn open_index(s: &mut State, i: usize) -> Vec<Effect> {
    let Some(row) = s.queue.rows.get(i).cloned() else {
        return vec![];
    };
    let mut fx = Vec::new();
    if s.cand.as_ref().map(|c| c.id) != Some(row.id) {
        fx.extend(release_current(s));
        let id = row.id;
        s.cand = Some(CandidateView {
            id,
            summary: Some(row),
            detail: None,
            loading: None,
            image: 0,
            claim: ClaimState::Requesting,
            panel: false,
            audit: None,
            revealed: None,
            opened_at: s.now,
        });
        fx.extend(load_candidate(s, id));
        fx.push(Effect::Claim { id, idem: idem() });
    }
    s.queue.selected = i;
    keep_visible(s);
    if s.screen != Screen::Zoom {
        s.screen = Screen::Candidate;
    }
    fx.extend(more_if_needed(s));
    fx
}

fn release_current(s: &mut State) -> Vec<Effect> {
    match &s.cand {
        Some(c) if matches!(c.claim, ClaimState::Mine { .. } | ClaimState::Requesting) => {
            vec![Effect::Release { id: c.id }]
        }
        _ => vec![],
    }
}

fn load_candidate(s: &mut State, id: i64) -> Vec<Effect> {
    let req = s.req();
    if let Some(c) = s.cand.as_mut().filter(|c| c.id == id) {
        c.loading = Some(req);
    }
    vec![Effect::LoadCandidate { req, id }]
}

fn detail_done(
    s: &mut State,
    req: u64,
    id: i64,
    result: Result<Box<crate::api::dto::CandidateDetail>, ApiError>,
) -> Vec<Effect> {
    let Some(c) = s
        .cand
        .as_mut()
        .filter(|c| c.id == id && c.loading == Some(req))
    else {
        return vec![];
    };
    c.loading = None;
    match result {
        Ok(d) => {
            let first = c.detail.is_none();
            c.detail = Some(d);
            // Ops still unsent are re-applied so the screen shows what the
            // reviewer did, not what the server has heard of so far.
            let pending: Vec<OpKind> = s
                .outbox
                .items
                .iter()
                .filter(|o| o.candidate_id == id)
                .map(|o| o.kind.clone())
                .collect();
            for k in &pending {
                apply_optimistic(c, k);
            }
            let n = c.images().len();
            if first {
                // Straight to the work: the first image nobody judged yet.
                c.image = c
                    .images()
                    .iter()
                    .position(|i| i.verdict == Verdict::Unreviewed)
                    .unwrap_or(0);
            }
            c.image = c.image.min(n.saturating_sub(1));
            vec![]
        }
        Err(e) if e.status() == Some(404) => {
            s.cand = None;
            s.screen = Screen::Queue;
            error(s, StatusMsg::NotFound);
            vec![]
        }
        Err(e) => api_error(s, e),
    }
}

fn claim_done(
    s: &mut State,
    id: i64,
    result: Result<Option<crate::api::dto::ClaimDto>, ApiError>,
) -> Vec<Effect> {
    let now = s.now;
    let Some(c) = s.cand.as_mut().filter(|c| c.id == id) else {
        // Claimed something we already left: give it back.
        return if result.is_ok() {
            vec![Effect::Release { id }]
        } else {
            vec![]
        };
    };
    match result {
        Ok(_) => {
            if !matches!(c.claim, ClaimState::Mine { .. }) {
                c.claim = ClaimState::Mine { renewed_at: now };
            }
            vec![]
        }
        Err(e) if e.status() == Some(409) => {
            let p = e.problem();
            let who = p
                .and_then(|p| p.held_by.clone().or_else(|| p.changed_by.clone()))
                .unwrap_or_default();
            let until = p.and_then(|p| p.held_until);
            c.claim = ClaimState::HeldBy {
                who: who.clone(),
                until,
            };
            warn(s, StatusMsg::HeldBy { who, until });
            vec![]
        }
        Err(e) => {
            c.claim = ClaimState::Failed;
            api_error(s, e)
        }
    }
}

// ------------------------------------------------------------------ images

fn step_image(s: &mut State, d: i64) {
    if let Some(c) = s.cand.as_mut() {
        let n = c.images().len() as i64;
        if n > 0 {
            c.image = usize::try_from((c.image as i64 + d).rem_euclid(n)).unwrap_or(0);
        }
    }
}

/// After judging an image: the next image nobody judged yet (after this
/// one, wrapping); else stay. Says what is left.
fn advance_image(s: &mut State) {
    let Some(c) = s.cand.as_mut() else { return };
    let imgs = c.images();
    let n = imgs.len();
    let next = (1..n)
        .map(|k| (c.image + k) % n)
        .find(|&j| imgs[j].verdict == Verdict::Unreviewed);
    let (unreviewed, replace) = c.open_work();
    if let Some(j) = next {
        c.image = j;
    }
    if unreviewed == 0 && replace == 0 && n > 0 {
        ok(s, StatusMsg::AllAccepted);
    } else if matches!(
        s.status.as_ref().map(|x| &x.msg),
        Some(StatusMsg::Locked { .. })
    ) {
        // Keep "locked, n left" fresh.
        ok(s, StatusMsg::Locked { left: unreviewed });
    }
}

fn may_judge(s: &mut State) -> bool {
    let Some(c) = &s.cand else { return false };
    let Some(d) = &c.detail else {
        // Still loading: say so rather than ignore the key.
        info(s, StatusMsg::StillLoading);
        return false;
    };
    let reviews = Reviews {
        site: d.site_review.state,
        district: d.district_review.state,
    };
    match s.level() {
        Some(l) if reviews.reviewer_may_judge_images(l) => true,
        _ => {
            warn(s, StatusMsg::NotYourTurn);
            false
        }
    }
}

fn lock(s: &mut State) -> Vec<Effect> {
    if !may_judge(s) {
        return vec![];
    }
    let Some(c) = &s.cand else { return vec![] };
    let Some(img) = c.current_image() else {
        warn(s, StatusMsg::NoImages);
        return vec![];
    };
    if img.verdict == Verdict::Accepted {
        info(s, StatusMsg::AlreadyAccepted);
        advance_image(s);
        return vec![];
    }
    let (id, name, image_id, version) = (c.id, c.name(), img.id, img.version);
    let fx = enqueue(s, id, name, OpKind::Lock { image_id }, version);
    let left = s.cand.as_ref().map(|c| c.open_work().0).unwrap_or(0);
    ok(s, StatusMsg::Locked { left });
    advance_image(s);
    fx
}

fn open_picker(s: &mut State, c: Command) -> Vec<Effect> {
    if !may_judge(s) {
        return vec![];
    }
    let purpose = match c {
        Command::Unlock => {
            let Some(img) = s.cand.as_ref().and_then(|v| v.current_image()) else {
                warn(s, StatusMsg::NoImages);
                return vec![];
            };
            if img.verdict == Verdict::ReplaceRequested {
                info(s, StatusMsg::AlreadyUnlocked);
                return vec![];
            }
            PickerPurpose::Unlock { image_id: img.id }
        }
        Command::Pending => PickerPurpose::Pending,
        Command::Reject => PickerPurpose::Reject,
        _ => PickerPurpose::Return,
    };
    let target = match purpose {
        PickerPurpose::Unlock { .. } => ReasonTarget::Image,
        _ => ReasonTarget::Candidate,
    };
    let options: Vec<_> = reasons_for(target).collect();
    let chosen = vec![false; options.len()];
    s.overlay = Some(Overlay::Picker(Picker {
        purpose,
        options,
        chosen,
        cursor: 0,
        note: String::new(),
        note_focus: false,
        error: None,
    }));
    vec![]
}

// ------------------------------------------------------------------ decisions

fn pass(s: &mut State) -> Vec<Effect> {
    if !may_judge(s) {
        return vec![];
    }
    let Some(c) = &s.cand else { return vec![] };
    let (unreviewed, replace) = c.open_work();
    if unreviewed > 0 || replace > 0 {
        warn(
            s,
            StatusMsg::NotAllAccepted {
                unreviewed,
                replace,
            },
        );
        return vec![];
    }
    decide(s, Decision::Pass, vec![], None)
}

/// Record the decision, then open the next candidate in the filter.
fn decide(
    s: &mut State,
    decision: Decision,
    reasons: Vec<String>,
    note: Option<String>,
) -> Vec<Effect> {
    let Some(level) = s.level() else {
        return vec![];
    };
    let Some(c) = &s.cand else { return vec![] };
    let (id, name) = (c.id, c.name());
    let version = c.detail.as_ref().map(|d| d.version).unwrap_or(0);
    let took = (s.now - c.opened_at).num_seconds().max(0);
    let mut fx = enqueue(
        s,
        id,
        name.clone(),
        OpKind::Decide {
            level,
            decision,
            reasons,
            note,
        },
        version,
    );
    s.stats.decided += 1;
    s.stats.seconds.push(took);
    ok(s, StatusMsg::Decided { name, decision });
    // The row leaves the tab it no longer belongs to.
    let new_state = decided_state(level, decision);
    let idx = s.queue.rows.iter().position(|r| r.id == id);
    if let Some(i) = idx {
        let old = s.queue.rows[i].state;
        move_count(s, old, new_state);
        if new_state != s.queue.tab.status() {
            s.queue.rows.remove(i);
        } else {
            s.queue.rows[i].state = new_state;
        }
    }
    fx.extend(release_current(s));
    if let Some(c) = s.cand.as_mut() {
        // Released: leaving must not release it twice.
        c.claim = ClaimState::Failed;
    }
    let from = match idx {
        Some(i) if s.queue.rows.get(i).map(|r| r.id) != Some(id) => i as i64,
        Some(i) => i as i64 + 1,
        None => s.queue.selected as i64,
    };
    match find_open(s, from, 1, Some(id)) {
        Some(i) => fx.extend(open_index(s, i)),
        None => {
            s.cand = None;
            s.screen = Screen::Queue;
            keep_visible(s);
            fx.extend(more_if_needed(s));
        }
    }
    fx
}

fn decided_state(level: Level, d: Decision) -> ReviewStatus {
    match (level, d) {
        (_, Decision::Pass) => ReviewStatus::Passed,
        (_, Decision::Pending) => ReviewStatus::Pending,
        (_, Decision::Reject) => ReviewStatus::Rejected,
        (_, Decision::Return) => ReviewStatus::Returned,
    }
}

fn move_count(s: &mut State, from: ReviewStatus, to: ReviewStatus) {
    if from == to {
        return;
    }
    if let Some(n) = count_mut(&mut s.queue.counts, from) {
        *n = (*n - 1).max(0);
    }
    if let Some(n) = count_mut(&mut s.queue.counts, to) {
        *n += 1;
    }
}

// ------------------------------------------------------------------ outbox

fn enqueue(
    s: &mut State,
    candidate_id: i64,
    name: String,
    kind: OpKind,
    version: i64,
) -> Vec<Effect> {
    let mut image = None;
    if let Some(c) = s.cand.as_mut().filter(|c| c.id == candidate_id) {
        if let OpKind::Lock { image_id } | OpKind::Unlock { image_id, .. } = &kind {
            image = c
                .images()
                .iter()
                .find(|i| i.id == *image_id)
                .map(|i| ImageRef {
                    category: i.category,
                    slot: i.slot,
                    slot_label: i.slot_label.clone(),
                });
        }
        apply_optimistic(c, &kind);
    }
    let id = s.outbox.next_id;
    s.outbox.next_id += 1;
    let op = Op {
        id,
        candidate_id,
        name,
        kind,
        idem: idem(),
        expected_version: version,
        attempts: 0,
        retry_at: None,
        image,
        sent: false,
        replayed: false,
    };
    // Durable first: the journal's Put runs (and fsyncs) before the Send
    // that pump may return.
    let mut fx = vec![Effect::Journal(JournalOp::Put(Box::new(op.to_entry(
        s.username().unwrap_or_default(),
        &s.server,
        s.now,
    ))))];
    s.outbox.items.push_back(op);
    fx.extend(pump(s));
    fx
}

/// Send the head of the outbox if nothing is in flight.
fn pump(s: &mut State) -> Vec<Effect> {
    if s.outbox.in_flight.is_some() || s.relogin || s.session.is_none() {
        return vec![];
    }
    let Some(op) = s.outbox.items.front() else {
        return vec![];
    };
    if op.retry_at.is_some_and(|t| t > s.now) {
        return vec![];
    }
    let id = op.id;
    if let Some(head) = s.outbox.items.front_mut() {
        // From now on its body is frozen (see Op::sent).
        head.sent = true;
    }
    s.outbox.in_flight = Some(id);
    s.outbox
        .items
        .front()
        .map(|op| vec![Effect::Send(Box::new(op.clone()))])
        .unwrap_or_default()
}

/// Show on screen what an op will do, before the server confirms it.
fn apply_optimistic(c: &mut CandidateView, k: &OpKind) {
    match k {
        OpKind::Lock { image_id } => {
            if let Some(i) = c.image_mut(*image_id) {
                i.lock = Lock::Locked;
                i.verdict = Verdict::Accepted;
                i.reasons.clear();
                i.note = None;
            }
        }
        OpKind::Unlock {
            image_id,
            reasons,
            note,
        } => {
            if let Some(i) = c.image_mut(*image_id) {
                i.lock = Lock::Unlocked;
                i.verdict = Verdict::ReplaceRequested;
                i.reasons = reasons.clone();
                i.note = note.clone();
            }
        }
        OpKind::Decide {
            level,
            decision,
            reasons,
            note,
        } => {
            if let Some(d) = c.detail.as_mut() {
                let r = match level {
                    Level::Site => &mut d.site_review,
                    Level::District => &mut d.district_review,
                };
                r.state = decided_state(*level, *decision);
                r.reasons = reasons.clone();
                r.note = note.clone();
            }
        }
        OpKind::Feedback { .. } | OpKind::Undo { .. } => {}
    }
}

fn op_done(s: &mut State, op: u64, result: Result<OpOk, ApiError>) -> Vec<Effect> {
    if s.outbox.in_flight != Some(op) {
        return vec![];
    }
    s.outbox.in_flight = None;
    let Some(head) = s.outbox.items.front().cloned().filter(|h| h.id == op) else {
        return pump(s);
    };
    match result {
        Ok(res) => {
            s.outbox.items.pop_front();
            let before: Vec<(u64, i64)> = s
                .outbox
                .items
                .iter()
                .map(|o| (o.id, o.expected_version))
                .collect();
            let applied = apply_result(s, &head, res);
            // Later ops now expect the versions this one produced: the
            // journal learns it before any of them is sent, then forgets
            // this one.
            let mut fx: Vec<Effect> = s
                .outbox
                .items
                .iter()
                .filter(|o| {
                    before
                        .iter()
                        .any(|(id, v)| *id == o.id && *v != o.expected_version)
                })
                .map(|o| {
                    Effect::Journal(JournalOp::Rebase {
                        key: o.idem.clone(),
                        expected_version: o.expected_version,
                    })
                })
                .collect();
            fx.push(Effect::Journal(JournalOp::Confirm {
                key: head.idem.clone(),
            }));
            fx.extend(applied);
            fx.extend(pump(s));
            fx
        }
        Err(e) if e.is_unauthorized() => {
            // Keep the op; it is sent again after the reviewer logs in.
            s.relogin = true;
            s.login.busy = false;
            s.login.password.clear();
            s.login.focus = LoginField::Password;
            s.login.error = Some(StatusMsg::SessionExpired);
            warn(s, StatusMsg::SessionExpired);
            vec![]
        }
        Err(e) if e.is_retryable() => {
            // Same Idempotency-Key and body on the retry: cannot apply twice.
            if let Some(h) = s.outbox.items.front_mut() {
                h.attempts += 1;
                h.retry_at = Some(s.now + retry_delay(&h.idem, h.attempts));
            }
            let pending = s.unsent();
            warn(s, StatusMsg::Offline { pending });
            vec![]
        }
        Err(e) => {
            // A definite no: kept, visible, until the reviewer dismisses it.
            s.outbox.items.pop_front();
            let at = s.now;
            let mut fx = vec![Effect::Journal(JournalOp::Refuse {
                key: head.idem.clone(),
                refusal: Refusal::from_error(&e, at),
            })];
            s.refused.push(RefusedOp {
                refusal: Refusal::from_error(&e, at),
                op: head.clone(),
            });
            // Later ops on this candidate assumed this one worked: they are
            // not sent, and listed with it.
            let (dependent, rest): (Vec<Op>, Vec<Op>) = std::mem::take(&mut s.outbox.items)
                .into_iter()
                .partition(|o| o.candidate_id == head.candidate_id);
            s.outbox.items = rest.into();
            let dropped = dependent.len();
            for op in dependent {
                let refusal = Refusal::dependent(at);
                fx.push(Effect::Journal(JournalOp::Refuse {
                    key: op.idem.clone(),
                    refusal: refusal.clone(),
                }));
                s.refused.push(RefusedOp { op, refusal });
            }
            fx.extend(api_error(s, e));
            if dropped > 0 {
                let msg = s.status.clone();
                warn(s, StatusMsg::Dropped { n: dropped });
                // The conflict matters more than the count.
                if let Some(m) = msg {
                    s.status = Some(m);
                }
            }
            // Show the truth again: reload the dossier and the queue.
            if s.cand.as_ref().map(|c| c.id) == Some(head.candidate_id) {
                fx.extend(load_candidate(s, head.candidate_id));
            }
            if matches!(head.kind, OpKind::Decide { .. } | OpKind::Undo { .. }) {
                fx.extend(reload_queue(s));
            }
            fx.extend(pump(s));
            fx
        }
    }
}

/// When to try an op again after its `attempts`-th failure: exponential
/// backoff with full jitter, capped (see api::retry).
pub fn retry_delay(key: &str, attempts: u32) -> Duration {
    use crate::api::retry::{OUTBOX_BASE, OUTBOX_CAP, full_jitter, unit_from_key};
    let d = full_jitter(
        OUTBOX_BASE,
        OUTBOX_CAP,
        attempts,
        unit_from_key(key, attempts),
    );
    Duration::from_std(d).unwrap_or_else(|_| Duration::seconds(30))
}

/// The journal of this server and reviewer was read: its pending entries
/// go to the front of the queue (in order), its refused ones to the list.
fn outbox_loaded(s: &mut State, r: Result<Vec<crate::outbox::Tracked>, String>) -> Vec<Effect> {
    use crate::outbox::EntryState;
    if s.session.is_none() {
        return vec![];
    }
    let tracked = match r {
        Ok(t) => t,
        Err(e) => {
            s.durable = false;
            error(s, StatusMsg::JournalFailed(e));
            return vec![];
        }
    };
    s.durable = true;
    let mut known: std::collections::HashSet<String> =
        s.outbox.items.iter().map(|o| o.idem.clone()).collect();
    known.extend(s.refused.iter().map(|r| r.op.idem.clone()));
    let mut first_pending = true;
    let mut replay = Vec::new();
    for t in tracked {
        let is_first = matches!(t.state, EntryState::Pending) && first_pending;
        if matches!(t.state, EntryState::Pending) {
            first_pending = false;
        }
        if known.contains(&t.entry.key) {
            continue;
        }
        let mut op = Op::from_entry(s.outbox.next_id, &t.entry);
        s.outbox.next_id += 1;
        match t.state {
            EntryState::Pending => {
                // Ops go one at a time, so only the oldest may have reached
                // the server before the last run ended: its body stays as is.
                op.sent = is_first;
                replay.push(op);
            }
            EntryState::Refused(refusal) => s.refused.push(RefusedOp { op, refusal }),
        }
    }
    if replay.is_empty() {
        return pump(s);
    }
    let n = replay.len();
    if let Some(c) = s.cand.as_mut() {
        let id = c.id;
        for op in replay.iter().filter(|o| o.candidate_id == id) {
            apply_optimistic(c, &op.kind);
        }
    }
    // Before what this run queued, but never in front of one in flight.
    let keep_head = s.outbox.in_flight.is_some();
    let mut items = std::mem::take(&mut s.outbox.items);
    let head = if keep_head { items.pop_front() } else { None };
    s.outbox.items = head.into_iter().chain(replay).chain(items).collect();
    info(s, StatusMsg::Replaying { n });
    pump(s)
}

fn apply_result(s: &mut State, head: &Op, res: OpOk) -> Vec<Effect> {
    let mut fx = Vec::new();
    match res {
        OpOk::Image(r) => {
            let r = *r;
            for o in s
                .outbox
                .items
                .iter_mut()
                .filter(|o| o.candidate_id == head.candidate_id && !o.sent)
            {
                match &o.kind {
                    OpKind::Lock { image_id } | OpKind::Unlock { image_id, .. }
                        if *image_id == r.image.id =>
                    {
                        o.expected_version = r.image.version;
                    }
                    OpKind::Decide { .. } | OpKind::Feedback { .. } => {
                        o.expected_version = r.candidate_version;
                    }
                    _ => {}
                }
            }
            let later_same_image = s.outbox.items.iter().any(|o| {
                o.candidate_id == head.candidate_id
                    && matches!(&o.kind, OpKind::Lock { image_id } | OpKind::Unlock { image_id, .. } if *image_id == r.image.id)
            });
            if let Some(c) = s.cand.as_mut().filter(|c| c.id == head.candidate_id) {
                // A replayed op's stored answer may be older than the
                // dossier on screen: never step a version back.
                if let Some(d) = c.detail.as_mut() {
                    d.version = d.version.max(r.candidate_version);
                }
                if !later_same_image
                    && let Some(i) = c.image_mut(r.image.id)
                    && r.image.version >= i.version
                {
                    *i = r.image.clone();
                }
            }
            s.undo.push(UndoEntry {
                audit_id: r.audit_id,
                candidate_id: head.candidate_id,
                name: head.name.clone(),
                kind: head.kind.clone(),
            });
        }
        OpOk::Decision(r) => {
            for o in s
                .outbox
                .items
                .iter_mut()
                .filter(|o| o.candidate_id == head.candidate_id && !o.sent)
            {
                if matches!(o.kind, OpKind::Decide { .. } | OpKind::Feedback { .. }) {
                    o.expected_version = r.candidate_version;
                }
            }
            if let Some(d) = s
                .cand
                .as_mut()
                .filter(|c| c.id == head.candidate_id)
                .and_then(|c| c.detail.as_mut())
                .filter(|d| d.version <= r.candidate_version)
            {
                d.version = r.candidate_version;
                d.site_review = r.site_review.clone();
                d.district_review = r.district_review.clone();
            }
            if let Some(row) = s
                .queue
                .rows
                .iter_mut()
                .find(|x| x.id == head.candidate_id && x.version <= r.candidate_version)
            {
                row.version = r.candidate_version;
                row.site_review = r.site_review.state;
                row.district_review = r.district_review.state;
            }
            s.undo.push(UndoEntry {
                audit_id: r.audit_id,
                candidate_id: head.candidate_id,
                name: head.name.clone(),
                kind: head.kind.clone(),
            });
        }
        OpOk::Feedback => {
            ok(s, StatusMsg::FeedbackSent);
            if let Some(c) = s.cand.as_ref().filter(|c| c.id == head.candidate_id) {
                let id = c.id;
                fx.extend(load_candidate(s, id));
            }
        }
        OpOk::Undo(r) => {
            let r = *r;
            ok(
                s,
                StatusMsg::Undone {
                    name: head.name.clone(),
                },
            );
            let id = r.candidate.id;
            match s.cand.as_mut() {
                Some(c) if c.id == id => {
                    c.detail = Some(Box::new(r.candidate));
                    let n = c.images().len();
                    c.image = c.image.min(n.saturating_sub(1));
                }
                _ => {}
            }
            fx.extend(reload_queue(s));
        }
    }
    if head.replayed && !matches!(head.kind, OpKind::Undo { .. }) {
        // From an earlier run: what is on screen was loaded without it (or
        // with it already applied); ask rather than guess.
        if s.cand.as_ref().map(|c| c.id) == Some(head.candidate_id) {
            fx.extend(load_candidate(s, head.candidate_id));
        }
        if matches!(head.kind, OpKind::Decide { .. }) {
            fx.extend(reload_queue(s));
        }
    }
    fx
}

fn undo(s: &mut State) -> Vec<Effect> {
    // An op not yet sent is simply taken back (slow links: the common case).
    if let Some(last) = s.outbox.items.back()
        && last.kind.undoable()
        && s.outbox.in_flight != Some(last.id)
    {
        let last = s.outbox.items.pop_back();
        info(s, StatusMsg::Cancelled);
        let Some(last) = last else { return vec![] };
        let mut fx = vec![Effect::Journal(JournalOp::Remove {
            key: last.idem.clone(),
        })];
        if matches!(last.kind, OpKind::Decide { .. }) {
            fx.extend(reopen(s, last.candidate_id, &last.name));
            fx.extend(reload_queue(s));
        } else if s.cand.as_ref().map(|c| c.id) == Some(last.candidate_id) {
            fx.extend(load_candidate(s, last.candidate_id));
        }
        return fx;
    }
    if s.outbox.items.back().is_some_and(|o| o.kind.undoable()) {
        info(s, StatusMsg::UndoWait);
        return vec![];
    }
    let Some(entry) = s.undo.pop() else {
        info(s, StatusMsg::NothingToUndo);
        return vec![];
    };
    let mut fx = Vec::new();
    if matches!(entry.kind, OpKind::Decide { .. }) {
        // Undoing a decision takes the reviewer back to that candidate.
        fx.extend(reopen(s, entry.candidate_id, &entry.name));
    }
    fx.extend(enqueue(
        s,
        entry.candidate_id,
        entry.name,
        OpKind::Undo {
            audit_id: entry.audit_id,
        },
        0,
    ));
    fx
}

/// Open `id` again (after undoing a decision on it).
fn reopen(s: &mut State, id: i64, name: &str) -> Vec<Effect> {
    if s.cand.as_ref().map(|c| c.id) == Some(id) {
        return vec![];
    }
    let mut fx = release_current(s);
    let summary = s.queue.rows.iter().find(|r| r.id == id).cloned();
    s.cand = Some(CandidateView {
        id,
        summary: summary.or_else(|| {
            Some(CandidateSummary {
                id,
                reg_no: String::new(),
                name: name.to_string(),
                exam_category: String::new(),
                site: String::new(),
                state: ReviewStatus::AwaitingReview,
                site_review: ReviewStatus::AwaitingReview,
                district_review: ReviewStatus::NotStarted,
                submitted_at: None,
                updated_at: s.now,
                version: 0,
                claim: None,
                images: 0,
                flagged: 0,
            })
        }),
        detail: None,
        loading: None,
        image: 0,
        claim: ClaimState::Requesting,
        panel: false,
        audit: None,
        revealed: None,
        opened_at: s.now,
    });
    s.screen = Screen::Candidate;
    fx.extend(load_candidate(s, id));
    fx.push(Effect::Claim { id, idem: idem() });
    fx
}

// ------------------------------------------------------------------ session

type Who = (
    crate::api::dto::ReviewerDto,
    crate::api::dto::WindowDto,
    DateTime<Utc>,
    Option<String>,
);

fn login_done(s: &mut State, r: Result<Who, ApiError>) -> Vec<Effect> {
    s.login.busy = false;
    match r {
        Ok((reviewer, window, expires_at, token)) => {
            let mut fx = Vec::new();
            if let Some(token) = token
                && s.remember_token
            {
                fx.push(Effect::SaveToken { token, expires_at });
            }
            let same_reviewer = s
                .session
                .as_ref()
                .is_some_and(|x| x.reviewer.username == reviewer.username);
            // This reviewer's journal on this server: unsent decisions of an
            // earlier run come back with OutboxLoaded and are sent again.
            fx.push(Effect::Journal(JournalOp::Open {
                server: s.server.clone(),
                reviewer: reviewer.username.clone(),
            }));
            s.session = Some(Session {
                reviewer,
                window,
                expires_at,
            });
            s.login.password.clear();
            s.login.error = None;
            fx.push(Effect::StartEvents);
            if s.relogin && same_reviewer {
                // Resume where the reviewer was.
                s.relogin = false;
                if let Some(c) = &s.cand {
                    let id = c.id;
                    if c.detail.is_none() || c.loading.is_some() {
                        fx.extend(load_candidate(s, id));
                    }
                    fx.push(Effect::Claim { id, idem: idem() });
                }
                if s.queue.loading.is_some() || !s.queue.loaded {
                    fx.extend(reload_queue(s));
                }
                fx.extend(pump(s));
                return fx;
            }
            // A first login, or someone else took over the terminal: their
            // queue, not the previous reviewer's screen or unsent ops.
            if s.relogin {
                s.outbox = Outbox::default();
                s.refused.clear();
                s.durable = false;
                s.undo.clear();
                s.cand = None;
            }
            s.relogin = false;
            s.screen = Screen::Queue;
            s.queue = Queue::new();
            fx.extend(reload_queue(s));
            fx
        }
        Err(e) if e.is_unauthorized() => {
            let had_session = s.session.is_some();
            s.screen = if had_session { s.screen } else { Screen::Login };
            s.relogin = had_session;
            s.login.error = Some(if s.login.username.is_empty() && !had_session {
                // A stored token that expired.
                StatusMsg::SessionExpired
            } else {
                StatusMsg::BadCredentials
            });
            s.login.focus = if s.login.username.is_empty() {
                LoginField::Username
            } else {
                LoginField::Password
            };
            vec![Effect::ForgetToken]
        }
        Err(e) => {
            if e.is_transport() && s.session.is_none() && s.login.username.is_empty() {
                s.login.retry_at = Some(s.now + Duration::seconds(3));
                s.login.busy = true;
            }
            s.login.error = Some(StatusMsg::Api(e));
            vec![]
        }
    }
}

/// Errors of reads and one-off calls: words in the status bar; 401 brings
/// the login form over the current screen.
fn api_error(s: &mut State, e: ApiError) -> Vec<Effect> {
    if e.is_unauthorized() {
        s.relogin = true;
        s.login.password.clear();
        s.login.focus = if s.login.username.is_empty() {
            LoginField::Username
        } else {
            LoginField::Password
        };
        s.login.error = Some(StatusMsg::SessionExpired);
        warn(s, StatusMsg::SessionExpired);
        return vec![];
    }
    if let Some((who, at)) = e.conflict()
        && e.code() != Some("claimed")
    {
        let who = who.map(str::to_string);
        error(s, StatusMsg::Conflict { who, at });
        return vec![];
    }
    if s.queue.loading.is_some() && e.is_transport() {
        s.queue.loading = None;
    }
    error(s, StatusMsg::Api(e));
    vec![]
}

// ------------------------------------------------------------------ events

fn stream(s: &mut State, ev: StreamEvent) -> Vec<Effect> {
    match ev {
        StreamEvent::Connected => {
            let was = std::mem::replace(&mut s.conn, Conn::Connected);
            if was != Conn::Reconnecting || s.session.is_none() {
                return vec![];
            }
            info(s, StatusMsg::Reconnected);
            // Events were missed while away: the queue (rows and counts)
            // and the open dossier again.
            let mut fx = reload_queue(s);
            if let Some(id) = s.cand.as_ref().map(|c| c.id) {
                fx.extend(load_candidate(s, id));
            }
            // The link is back: what waits goes now, not at its backoff.
            let in_flight = s.outbox.in_flight;
            if let Some(h) = s.outbox.items.front_mut()
                && in_flight != Some(h.id)
            {
                h.retry_at = None;
            }
            fx.extend(pump(s));
            fx
        }
        StreamEvent::Resync => {
            // Missed events: counts now, the dossier on screen too.
            s.queue.counts_stale_since = Some(s.now - Duration::seconds(10));
            match s.cand.as_ref().map(|c| c.id) {
                Some(id) => load_candidate(s, id),
                None => vec![],
            }
        }
        StreamEvent::Disconnected(e) => {
            s.conn = Conn::Reconnecting;
            if e.is_unauthorized() {
                return api_error(s, e);
            }
            vec![]
        }
        StreamEvent::Event(ev) => {
            let Some(level) = s.level() else {
                return vec![];
            };
            let new_state = match level {
                Level::Site => ev.site_review,
                Level::District => ev.district_review,
            };
            let mine = s.username() == Some(ev.actor.as_str());
            let tab = s.queue.tab.status();
            match s.queue.rows.iter().position(|r| r.id == ev.candidate_id) {
                Some(i) => {
                    let old = s.queue.rows[i].state;
                    if ev.version >= s.queue.rows[i].version {
                        // Our own decisions were counted when made.
                        if !mine {
                            move_count(s, old, new_state);
                        }
                        let r = &mut s.queue.rows[i];
                        r.state = new_state;
                        r.site_review = ev.site_review;
                        r.district_review = ev.district_review;
                        r.version = ev.version;
                        // Age is "since the candidate's last change": a
                        // claim is not a change.
                        if !matches!(ev.action.as_str(), "claim" | "release") {
                            r.updated_at = ev.at;
                        }
                        r.claim = ev.claim.clone().map(|mut c| {
                            c.mine = s
                                .session
                                .as_ref()
                                .is_some_and(|x| x.reviewer.username == c.reviewer);
                            c
                        });
                        let open = s.cand.as_ref().map(|c| c.id) == Some(ev.candidate_id);
                        if new_state != tab && !open {
                            s.queue.rows.remove(i);
                            if s.queue.selected > i {
                                s.queue.selected -= 1;
                            }
                            keep_visible(s);
                        }
                    }
                }
                None => {
                    if !mine {
                        s.queue.counts_stale_since.get_or_insert(s.now);
                    }
                }
            }
            // Someone else changed the candidate on screen: show the truth.
            let mut fx = Vec::new();
            let is_claim = matches!(ev.action.as_str(), "claim" | "release");
            if !mine
                && !is_claim
                && let Some(c) = s.cand.as_ref().filter(|c| c.id == ev.candidate_id)
                && c.detail.as_ref().is_some_and(|d| ev.version > d.version)
            {
                let id = c.id;
                warn(
                    s,
                    StatusMsg::ChangedBy {
                        who: ev.actor.clone(),
                    },
                );
                fx.extend(load_candidate(s, id));
            }
            fx
        }
    }
}

/// Used by tests and the ui: the image the pane shows.
pub fn current_image(s: &State) -> Option<&ImageDto> {
    s.cand.as_ref().and_then(|c| c.current_image())
}

/// Whether `mode` is one where the screen below is still visible.
pub fn mode_is_overlay(m: Mode) -> bool {
    matches!(
        m,
        Mode::Picker | Mode::PickerNote | Mode::Confirm | Mode::Help | Mode::Input
    )
}
