//! A decision once sent: applied at once, one op in flight at a time with
//! the versions the answers give, conflicts and refusals, retries with
//! the same key, and undo.

use chrono::Duration;
use shenhe::api::dto::*;
use shenhe::api::error::ApiError;
use shenhe::app::action::{Action, Effect, JournalOp, OpOk};
use shenhe::app::fixtures as fx;
use shenhe::app::keys::{Command, KeyAction};
use shenhe::app::state::*;
use shenhe::app::update;
use shenhe::domain::image::Verdict;
use shenhe::lang::Lang;

use super::{accepted, cmd, image_ok, journal, key, opened, problem, sends};

#[test]
fn lock_is_optimistic_serialised_and_versioned() {
    let mut s = opened(Lang::Zh);
    let effects = cmd(&mut s, Command::Lock);
    let ops = sends(&effects);
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].kind, OpKind::Lock { image_id: 11 });
    assert_eq!(ops[0].expected_version, 2);
    assert!(!ops[0].idem.is_empty());
    let c = s.cand.as_ref().expect("open");
    assert_eq!(c.images()[1].verdict, Verdict::Accepted);
    assert_eq!(c.image, 2, "advanced to the next unreviewed");
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::Locked { left: 1 })
    );
    // The second lock waits for the first answer.
    let effects = cmd(&mut s, Command::Lock);
    assert!(sends(&effects).is_empty());
    assert_eq!(s.unsent(), 2);
    let img = accepted(fx::detail().materials[0].images[1].clone());
    let effects = update(
        &mut s,
        Action::OpDone {
            op: ops[0].id,
            result: image_ok(img, 8, 501),
        },
    );
    let next = sends(&effects);
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].kind, OpKind::Lock { image_id: 12 });
    assert_eq!(s.undo.last().map(|u| u.audit_id), Some(501));
    assert_eq!(
        s.cand
            .as_ref()
            .and_then(|c| c.detail.as_ref())
            .map(|d| d.version),
        Some(8)
    );
    // A stale answer for an op not in flight changes nothing.
    assert!(
        update(
            &mut s,
            Action::OpDone {
                op: 999,
                result: Ok(OpOk::Feedback)
            }
        )
        .is_empty()
    );
}

#[test]
fn conflict_says_who_and_drops_dependent_ops() {
    let mut s = opened(Lang::Zh);
    let op = sends(&cmd(&mut s, Command::Lock)).remove(0);
    cmd(&mut s, Command::Lock);
    let at = fx::now() - Duration::minutes(3);
    let e = ApiError::Problem(Box::new(Problem {
        type_: "about:blank".into(),
        title: "Conflict".into(),
        status: 409,
        code: "stale_version".into(),
        changed_by: Some("suzhou".into()),
        changed_at: Some(at),
        ..Problem::default()
    }));
    let effects = update(
        &mut s,
        Action::OpDone {
            op: op.id,
            result: Err(e),
        },
    );
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::Conflict {
            who: Some("suzhou".into()),
            at: Some(at)
        })
    );
    assert_eq!(s.unsent(), 0, "the dependent lock was dropped");
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadCandidate { id: 1, .. }))
    );
    let text = shenhe::ui::i18n::status(Lang::Zh, &s.status.as_ref().expect("status").msg, s.now);
    assert_eq!(
        text,
        "suzhou 已于 09:57 先行处理，您的操作未生效，已重新载入"
    );
}

#[test]
fn scope_and_validation_refusals_are_not_retried() {
    for (status, code) in [(404, "not_found"), (403, "forbidden"), (422, "invalid")] {
        let mut s = opened(Lang::En);
        let op = sends(&cmd(&mut s, Command::Lock)).remove(0);
        let effects = update(
            &mut s,
            Action::OpDone {
                op: op.id,
                result: Err(problem(status, code)),
            },
        );
        assert!(
            journal(&effects)
                .iter()
                .any(|j| matches!(j, JournalOp::Refuse { key, .. } if *key == op.idem))
        );
        assert_eq!(s.unsent(), 0, "{status}");
        assert_eq!(s.refused.len(), 1, "{status}");
    }
}

#[test]
fn timeouts_retry_with_the_same_key() {
    let mut s = opened(Lang::Zh);
    let op = sends(&cmd(&mut s, Command::Lock)).remove(0);
    update(
        &mut s,
        Action::OpDone {
            op: op.id,
            result: Err(ApiError::Timeout),
        },
    );
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::Offline { pending: 1 })
    );
    // Full jitter: somewhere between now and the first ceiling (2 s).
    let at = s.outbox.items[0].retry_at.expect("scheduled");
    assert!(
        at >= fx::now() && at <= fx::now() + Duration::seconds(2),
        "{at}"
    );
    if at > fx::now() {
        assert!(
            sends(&update(
                &mut s,
                Action::Tick(at - Duration::milliseconds(1))
            ))
            .is_empty()
        );
    }
    let again = sends(&update(&mut s, Action::Tick(at)));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].idem, op.idem);
    assert_eq!(again[0].expected_version, op.expected_version);
    assert_eq!(again[0].attempts, 1);
}

#[test]
fn server_errors_retry_with_capped_jittered_backoff() {
    let mut s = opened(Lang::Zh);
    let op = sends(&cmd(&mut s, Command::Lock)).remove(0);
    let mut now = fx::now();
    let mut id = op.id;
    for attempt in 1..=8u32 {
        let err = if attempt % 2 == 0 {
            problem(503, "unavailable")
        } else {
            problem(429, "slow_down")
        };
        let effects = update(
            &mut s,
            Action::OpDone {
                op: id,
                result: Err(err),
            },
        );
        assert!(
            journal(&effects).is_empty(),
            "still pending, nothing to write"
        );
        assert!(s.refused.is_empty());
        let head = &s.outbox.items[0];
        assert_eq!(head.attempts, attempt);
        let wait = head.retry_at.expect("scheduled") - now;
        let ceiling = Duration::seconds(2i64.pow(attempt).min(30));
        assert!(
            wait >= Duration::zero() && wait <= ceiling,
            "attempt {attempt}: {wait} > {ceiling}"
        );
        now = head.retry_at.expect("scheduled");
        let again = sends(&update(&mut s, Action::Tick(now)));
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].idem, op.idem, "the same key every time");
        id = again[0].id;
    }
}

#[test]
fn retry_delays_stay_within_full_jitter_bounds() {
    for i in 0..500 {
        let key = format!("6b1c3c1e-0000-4000-8000-{i:012}");
        for attempt in 1..12u32 {
            let d = shenhe::app::update::retry_delay(&key, attempt);
            let ceiling = Duration::seconds(2i64.pow(attempt.min(5)).min(30));
            assert!(d >= Duration::zero() && d <= ceiling, "{attempt}: {d}");
        }
    }
}

#[test]
fn undo_unsent_sent_and_decisions() {
    let mut s = opened(Lang::Zh);
    let first = sends(&cmd(&mut s, Command::Lock)).remove(0);
    cmd(&mut s, Command::Lock);
    // The second lock is not sent yet: undo takes it back.
    cmd(&mut s, Command::Undo);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::Cancelled)
    );
    assert_eq!(s.unsent(), 1);
    // The first is in flight: wait.
    cmd(&mut s, Command::Undo);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::UndoWait)
    );
    let img = accepted(fx::detail().materials[0].images[1].clone());
    update(
        &mut s,
        Action::OpDone {
            op: first.id,
            result: image_ok(img, 8, 501),
        },
    );
    let ops = sends(&cmd(&mut s, Command::Undo));
    assert_eq!(ops[0].kind, OpKind::Undo { audit_id: 501 });
    let effects = update(
        &mut s,
        Action::OpDone {
            op: ops[0].id,
            result: Ok(OpOk::Undo(Box::new(UndoResponse {
                audit_id: 502,
                undone: 501,
                candidate: fx::detail(),
            }))),
        },
    );
    assert!(matches!(
        s.status.as_ref().map(|x| &x.msg),
        Some(StatusMsg::Undone { .. })
    ));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::FetchPage { .. }))
    );
    cmd(&mut s, Command::Undo);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::NothingToUndo)
    );
}

#[test]
fn undoing_a_sent_decision_reopens_the_candidate() {
    let mut s = opened(Lang::Zh);
    cmd(&mut s, Command::Pending);
    key(&mut s, KeyAction::Toggle(0));
    let op = sends(&key(&mut s, KeyAction::Submit)).remove(0);
    assert_eq!(s.cand.as_ref().map(|c| c.id), Some(3));
    let d = fx::detail();
    update(
        &mut s,
        Action::OpDone {
            op: op.id,
            result: Ok(OpOk::Decision(Box::new(DecisionResponse {
                candidate_id: 1,
                site_review: d.site_review.clone(),
                district_review: d.district_review.clone(),
                candidate_version: 8,
                audit_id: 77,
            }))),
        },
    );
    let effects = cmd(&mut s, Command::Undo);
    assert_eq!(s.cand.as_ref().map(|c| c.id), Some(1));
    assert!(effects.contains(&Effect::Release { id: 3 }));
    assert_eq!(sends(&effects)[0].kind, OpKind::Undo { audit_id: 77 });
}
