//! The outbox: every write is an op queued here, journalled first, shown
//! at once (optimistic), sent one at a time, retried with backoff, and on
//! a definite no kept in the refused list. Also its results and the
//! journal read back at login.

use chrono::Duration;

use crate::api::error::ApiError;
use crate::app::action::{Effect, JournalOp, OpOk};
use crate::app::state::*;
use crate::domain::image::{Lock, Verdict};
use crate::domain::review::Level;

use super::candidate::load_candidate;
use super::judge::decided_state;
use super::queue::reload_queue;
use super::session::api_error;
use super::{error, idem, info, ok, warn};

pub(super) fn enqueue(
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
        server_failures: 0,
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
pub(super) fn pump(s: &mut State) -> Vec<Effect> {
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
pub(super) fn apply_optimistic(c: &mut CandidateView, k: &OpKind) {
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

pub(super) fn op_done(s: &mut State, op: u64, result: Result<OpOk, ApiError>) -> Vec<Effect> {
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
        Err(e)
            if e.is_retryable()
                && !(e.is_server_failure() && head.server_failures + 1 >= MAX_SERVER_FAILURES) =>
        {
            // Same Idempotency-Key and body on the retry: cannot apply twice.
            let asked = e
                .retry_after()
                .and_then(|d| Duration::from_std(d).ok())
                .map(|d| d.min(Duration::minutes(10)));
            if let Some(h) = s.outbox.items.front_mut() {
                h.attempts += 1;
                if e.is_server_failure() {
                    h.server_failures += 1;
                }
                // Never sooner than the server asked (429, 503 Retry-After).
                let backoff = retry_delay(&h.idem, h.attempts);
                h.retry_at = Some(s.now + asked.map_or(backoff, |a| a.max(backoff)));
            }
            let pending = s.unsent();
            warn(s, StatusMsg::Offline { pending });
            vec![]
        }
        Err(e) => {
            // A definite no: kept, visible, until the reviewer dismisses it.
            s.outbox.items.pop_front();
            let at = s.now;
            let refusal = if e.is_server_failure() {
                Refusal::server_failing(&e, head.server_failures + 1, at)
            } else {
                Refusal::from_error(&e, at)
            };
            let mut fx = vec![Effect::Journal(JournalOp::Refuse {
                key: head.idem.clone(),
                refusal: refusal.clone(),
            })];
            s.refused.push(RefusedOp {
                refusal,
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
pub(super) fn outbox_loaded(
    s: &mut State,
    r: Result<Vec<crate::outbox::Tracked>, String>,
) -> Vec<Effect> {
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
                image: head.image.clone(),
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
                image: head.image.clone(),
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
            // Say what was undone: the entry the op was made from.
            let (kind, image) = s
                .undone
                .take()
                .filter(|(id, _, _)| *id == r.undone)
                .map(|(_, k, i)| (k, i))
                .unwrap_or((head.kind.clone(), head.image.clone()));
            ok(
                s,
                StatusMsg::Undone {
                    name: head.name.clone(),
                    kind,
                    image,
                },
            );
            let id = r.candidate.id;
            match s.cand.as_mut() {
                Some(c) if c.id == id => {
                    c.detail = Some(Box::new(r.candidate));
                    let n = c.images().len();
                    c.image = c.image.min(n.saturating_sub(1));
                    super::candidate::apply_focus(c);
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
