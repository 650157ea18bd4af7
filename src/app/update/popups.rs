//! Keys inside overlays: text inputs (search, palette, feedback), the
//! reason picker, the reject confirmation, the refused list, and leaving
//! (`quit` asks first when decisions are unsent). Apart from `command`
//! because an overlay owns every key while it is up.

use crate::app::action::{Effect, JournalOp};
use crate::app::keys::{Command, KeyAction, Mode};
use crate::app::state::*;
use crate::domain::reason::{ReasonError, ReasonTarget, validate_reasons};
use crate::domain::review::Decision;

use super::candidate::{load_candidate, release_current, reopen};
use super::command::command;
use super::judge::{advance_image, decide};
use super::ops::enqueue;
use super::queue::reload_queue;
use super::session::logout;
use super::{info, ok, warn};

pub(super) fn input_key(s: &mut State, mut i: Input, k: KeyAction) -> Vec<Effect> {
    match k {
        KeyAction::Char(c) => {
            i.text.push(c);
            super::queue::search_typed(s, &i);
        }
        KeyAction::Backspace => {
            i.text.pop();
            super::queue::search_typed(s, &i);
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
        KeyAction::Cancel if i.kind == InputKind::Search => {
            return super::queue::search_cancelled(s);
        }
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
            let q = i.text.trim().to_string();
            let sent = s.queue.search_due.is_none() && q == s.queue.query;
            s.queue.query = q;
            s.queue.search_due = None;
            s.queue.search_before = None;
            if sent { vec![] } else { reload_queue(s) }
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

pub(super) fn picker_key(s: &mut State, mut p: Picker, k: KeyAction) -> Vec<Effect> {
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

pub(super) fn confirm_key(s: &mut State, c: ConfirmReject, k: KeyAction) -> Vec<Effect> {
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

/// y/n on leaving with unsent decisions.
pub(super) fn leave_key(s: &mut State, c: ConfirmLeave, k: KeyAction) -> Vec<Effect> {
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
pub(super) fn refused_key(s: &mut State, cursor: usize, k: KeyAction) -> Vec<Effect> {
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

pub(super) fn quit(s: &mut State) -> Vec<Effect> {
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

/// Whether `mode` is one where the screen below is still visible.
pub fn mode_is_overlay(m: Mode) -> bool {
    matches!(
        m,
        Mode::Picker | Mode::PickerNote | Mode::Confirm | Mode::Help | Mode::Input
    )
}
