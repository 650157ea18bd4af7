//! Undo: take back an op not yet sent, or send an Undo for the last
//! confirmed one. Apart because it spans the outbox and the screen.
use crate::app::action::{Effect, JournalOp};
use crate::app::state::*;

use super::candidate::{load_candidate, reopen};
use super::info;
use super::ops::enqueue;
use super::queue::reload_queue;

pub(super) fn undo(s: &mut State) -> Vec<Effect> {
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
    // Undo takes the reviewer back to what it undoes: the candidate, and
    // for an image op that image.
    fx.extend(reopen(s, entry.candidate_id, &entry.name));
    let image_id = match &entry.kind {
        OpKind::Lock { image_id } | OpKind::Unlock { image_id, .. } => Some(*image_id),
        _ => None,
    };
    if let Some(c) = s.cand.as_mut().filter(|c| c.id == entry.candidate_id) {
        c.focus_image = image_id;
        super::candidate::apply_focus(c);
    }
    s.undone = Some((entry.audit_id, entry.kind.clone(), entry.image.clone()));
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
