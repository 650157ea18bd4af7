//! Judging an open candidate: locks, unlocks with reasons, pass, pending,
//! reject, and the refusals when a decision is not allowed.

use shenhe::api::dto::*;
use shenhe::app::action::{Action, Effect, OpOk};
use shenhe::app::fixtures as fx;
use shenhe::app::keys::{Command, KeyAction, Mode};
use shenhe::app::state::*;
use shenhe::app::update;
use shenhe::domain::image::Verdict;
use shenhe::domain::review::{Decision, ReviewStatus};
use shenhe::lang::Lang;

use super::{accepted, cmd, image_ok, key, opened, sends, typed};

#[test]
fn clean_candidate_is_four_locks_and_a_pass() {
    let mut s = fx::state(Lang::Zh, 120, 40);
    let effects = cmd(&mut s, Command::Open);
    let req = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadCandidate { req, .. } => Some(*req),
            _ => None,
        })
        .expect("load");
    update(
        &mut s,
        Action::DetailDone {
            req,
            id: 1,
            result: Ok(Box::new(fx::clean_detail(1))),
        },
    );
    update(
        &mut s,
        Action::ClaimDone {
            id: 1,
            result: Ok(None),
        },
    );
    let mut sent = Vec::new();
    for _ in 0..4 {
        sent.extend(sends(&cmd(&mut s, Command::Lock)));
    }
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::AllAccepted)
    );
    let effects = cmd(&mut s, Command::Pass);
    // The first lock is in flight; the rest wait in order.
    assert_eq!(sent.len(), 1);
    assert_eq!(s.unsent(), 5);
    // Passing released 张三 and opened the next one nobody holds: 李四 is
    // held by 王五, so 欧阳娜娜.
    assert!(effects.contains(&Effect::Release { id: 1 }));
    assert_eq!(s.cand.as_ref().map(|c| c.id), Some(3));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Claim { id: 3, .. }))
    );
    assert!(
        !s.queue.rows.iter().any(|r| r.id == 1),
        "the row left 待审核"
    );
    assert_eq!(s.queue.counts.awaiting_review, 1203);
    assert_eq!(s.queue.counts.passed, 3413);
    assert_eq!(s.stats.decided, 1);
    // Answers arrive: each sends the next, with the candidate version the
    // previous answer produced.
    let mut op = sent[0].clone();
    let mut version = 7;
    let mut images = fx::clean_detail(1)
        .materials
        .iter()
        .flat_map(|m| m.images.clone())
        .collect::<Vec<_>>()
        .into_iter();
    loop {
        version += 1;
        let result = match &op.kind {
            OpKind::Lock { .. } => {
                image_ok(accepted(images.next().expect("img")), version, version)
            }
            OpKind::Decide { decision, .. } => {
                assert_eq!(*decision, Decision::Pass);
                assert_eq!(op.expected_version, version - 1);
                let d = fx::detail();
                Ok(OpOk::Decision(Box::new(DecisionResponse {
                    candidate_id: 1,
                    site_review: ReviewDto {
                        state: ReviewStatus::Passed,
                        ..d.site_review.clone()
                    },
                    district_review: d.district_review.clone(),
                    candidate_version: version,
                    audit_id: 900,
                })))
            }
            other => panic!("unexpected {other:?}"),
        };
        let next = sends(&update(&mut s, Action::OpDone { op: op.id, result }));
        match next.first() {
            Some(n) => op = n.clone(),
            None => break,
        }
    }
    assert_eq!(s.unsent(), 0);
    assert_eq!(s.undo.last().map(|u| u.audit_id), Some(900));
}

#[test]
fn pass_needs_every_image_accepted() {
    let mut s = opened(Lang::Zh);
    let effects = cmd(&mut s, Command::Pass);
    assert!(effects.is_empty());
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::NotAllAccepted {
            unreviewed: 2,
            replace: 1
        })
    );
}

#[test]
fn unlock_with_reasons_and_note() {
    let mut s = opened(Lang::Zh);
    cmd(&mut s, Command::Unlock);
    assert_eq!(s.mode(), Mode::Picker);
    // Nothing chosen: refused in words.
    key(&mut s, KeyAction::Submit);
    let Some(Overlay::Picker(p)) = &s.overlay else {
        panic!()
    };
    assert_eq!(p.error, Some(StatusMsg::NeedReason));
    key(&mut s, KeyAction::Toggle(0));
    key(&mut s, KeyAction::Toggle(2));
    key(&mut s, KeyAction::Toggle(2));
    key(&mut s, KeyAction::Move(-1));
    key(&mut s, KeyAction::ToggleCursor);
    key(&mut s, KeyAction::NextField);
    assert_eq!(s.mode(), Mode::PickerNote);
    typed(&mut s, "请重拍");
    let effects = key(&mut s, KeyAction::Submit);
    let ops = sends(&effects);
    assert_eq!(
        ops[0].kind,
        OpKind::Unlock {
            image_id: 11,
            reasons: vec!["BLURRY".into(), "INCOMPLETE".into()],
            note: Some("请重拍".into())
        }
    );
    assert!(s.overlay.is_none());
    let c = s.cand.as_ref().expect("open");
    assert_eq!(c.images()[1].verdict, Verdict::ReplaceRequested);
    // Already unlocked: said, not sent.
    cmd(&mut s, Command::PrevImage);
    cmd(&mut s, Command::Unlock);
    assert!(s.overlay.is_none());
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::AlreadyUnlocked)
    );
}

#[test]
fn picker_cancel_and_other_needs_note() {
    let mut s = opened(Lang::En);
    cmd(&mut s, Command::Pending);
    key(&mut s, KeyAction::Cancel);
    assert!(s.overlay.is_none());
    cmd(&mut s, Command::Pending);
    key(&mut s, KeyAction::Toggle(4)); // OTHER
    key(&mut s, KeyAction::Submit);
    let Some(Overlay::Picker(p)) = &s.overlay else {
        panic!()
    };
    assert_eq!(p.error, Some(StatusMsg::NeedNote));
    assert!(p.note_focus);
}

#[test]
fn pending_with_reason_then_next() {
    let mut s = opened(Lang::Zh);
    cmd(&mut s, Command::Pending);
    key(&mut s, KeyAction::Toggle(0));
    let effects = key(&mut s, KeyAction::Submit);
    let ops = sends(&effects);
    assert_eq!(
        ops[0].kind,
        OpKind::Decide {
            level: shenhe::domain::review::Level::Site,
            decision: Decision::Pending,
            reasons: vec!["MAT_NONCOMPLIANT".into()],
            note: None
        }
    );
    assert_eq!(ops[0].expected_version, 7);
    assert_eq!(s.cand.as_ref().map(|c| c.id), Some(3));
    assert_eq!(s.queue.counts.pending, 88);
}

#[test]
fn reject_needs_confirmation() {
    let mut s = opened(Lang::Zh);
    cmd(&mut s, Command::Reject);
    key(&mut s, KeyAction::Toggle(2));
    assert!(sends(&key(&mut s, KeyAction::Submit)).is_empty());
    assert_eq!(s.mode(), Mode::Confirm);
    // No: nothing happens.
    key(&mut s, KeyAction::ConfirmNo);
    assert!(s.overlay.is_none());
    assert_eq!(s.unsent(), 0);
    cmd(&mut s, Command::Reject);
    key(&mut s, KeyAction::Toggle(2));
    key(&mut s, KeyAction::Submit);
    let ops = sends(&key(&mut s, KeyAction::ConfirmYes));
    assert!(matches!(
        &ops[0].kind,
        OpKind::Decide { decision: Decision::Reject, reasons, .. } if reasons == &vec!["INELIGIBLE".to_string()]
    ));
}

#[test]
fn return_is_for_districts_only() {
    let mut s = opened(Lang::Zh);
    cmd(&mut s, Command::ReturnToSite);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::DistrictOnly)
    );
}

#[test]
fn not_your_turn_refuses_judging() {
    let mut s = opened(Lang::Zh);
    if let Some(d) = s.cand.as_mut().and_then(|c| c.detail.as_mut()) {
        d.site_review.state = ReviewStatus::Passed;
        d.district_review.state = ReviewStatus::AwaitingReview;
    }
    assert!(cmd(&mut s, Command::Lock).is_empty());
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::NotYourTurn)
    );
}
