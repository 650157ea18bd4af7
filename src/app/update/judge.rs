//! Judging the open candidate: stepping through images, lock and unlock,
//! the reason pickers, and the decision (pass, pending, reject, return)
//! that moves on to the next candidate.

use crate::app::action::Effect;
use crate::app::keys::Command;
use crate::app::state::*;
use crate::domain::image::Verdict;
use crate::domain::reason::{ReasonTarget, reasons_for};
use crate::domain::review::{Decision, Level, ReviewStatus, Reviews};

use super::candidate::{open_index, release_current};
use super::ops::enqueue;
use super::queue::{find_open, keep_visible, more_if_needed, move_count};
use super::{info, ok, warn};

pub(super) fn step_image(s: &mut State, d: i64) {
    if let Some(c) = s.cand.as_mut() {
        let n = c.images().len() as i64;
        if n > 0 {
            c.image = usize::try_from((c.image as i64 + d).rem_euclid(n)).unwrap_or(0);
        }
    }
}

/// After judging an image: the next image nobody judged yet (after this
/// one, wrapping); else stay. Says what is left.
pub(super) fn advance_image(s: &mut State) {
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

pub(super) fn lock(s: &mut State) -> Vec<Effect> {
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
    let (image_id, flagged) = (img.id, img.hints.any());
    if super::flagged::ask_first(s, image_id, flagged) {
        return vec![];
    }
    lock_now(s)
}

/// Lock the current image without asking (asked already, or clean).
pub(super) fn lock_now(s: &mut State) -> Vec<Effect> {
    let Some(c) = &s.cand else { return vec![] };
    let Some(img) = c.current_image() else {
        return vec![];
    };
    let (id, name, image_id, version) = (c.id, c.name(), img.id, img.version);
    let fx = enqueue(s, id, name, OpKind::Lock { image_id }, version);
    let left = s.cand.as_ref().map(|c| c.open_work().0).unwrap_or(0);
    ok(s, StatusMsg::Locked { left });
    advance_image(s);
    fx
}

pub(super) fn open_picker(s: &mut State, c: Command) -> Vec<Effect> {
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

pub(super) fn pass(s: &mut State) -> Vec<Effect> {
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
pub(super) fn decide(
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

pub(super) fn decided_state(level: Level, d: Decision) -> ReviewStatus {
    match (level, d) {
        (_, Decision::Pass) => ReviewStatus::Passed,
        (_, Decision::Pending) => ReviewStatus::Pending,
        (_, Decision::Reject) => ReviewStatus::Rejected,
        (_, Decision::Return) => ReviewStatus::Returned,
    }
}
