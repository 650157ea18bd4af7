//! Locking an image with quality hints (blurry, turned, small, a copy of
//! another's): the console asks once, so a hint is never waved through by
//! the same key that accepts clean images. `confirm_flagged_lock = false`
//! in the config turns the question off.

use crate::app::action::Effect;
use crate::app::keys::{Command, KeyAction};
use crate::app::state::*;

use super::judge::{lock_now, open_picker};

/// Whether `a` on this image should ask first; if so, ask.
pub(super) fn ask_first(s: &mut State, image_id: i64, flagged: bool) -> bool {
    let Some(c) = s.cand.as_ref() else {
        return false;
    };
    if !s.confirm_flagged || !flagged || c.flag_confirmed.contains(&image_id) {
        return false;
    }
    s.overlay = Some(Overlay::ConfirmFlagged(ConfirmFlagged {
        image_id,
        candidate_id: c.id,
    }));
    true
}

pub(super) fn flagged_key(s: &mut State, c: ConfirmFlagged, k: KeyAction) -> Vec<Effect> {
    let here = s.cand.as_ref().is_some_and(|v| {
        v.id == c.candidate_id && v.current_image().is_some_and(|i| i.id == c.image_id)
    });
    match k {
        KeyAction::ConfirmYes | KeyAction::Command(Command::Lock) if here => {
            if let Some(v) = s.cand.as_mut() {
                v.flag_confirmed.push(c.image_id);
            }
            lock_now(s)
        }
        KeyAction::Command(Command::Unlock) if here => open_picker(s, Command::Unlock),
        KeyAction::ConfirmNo | KeyAction::Cancel => vec![],
        _ if !here => vec![],
        _ => {
            s.overlay = Some(Overlay::ConfirmFlagged(c));
            vec![]
        }
    }
}
