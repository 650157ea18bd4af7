//! `update` driven by actions, as the loop would: every command and every
//! kind of server answer, including the errors.

use chrono::Duration;
use shenhe::api::client::StreamEvent;
use shenhe::api::dto::*;
use shenhe::api::error::ApiError;
use shenhe::app::action::{Action, Effect, JournalOp, OpOk};
use shenhe::app::fixtures as fx;
use shenhe::app::keys::{Command, KeyAction, Mode};
use shenhe::app::state::*;
use shenhe::app::{start, update};
use shenhe::domain::image::Verdict;
use shenhe::domain::review::{Decision, ReviewStatus};
use shenhe::outbox::{EntryState, Tracked};

fn cmd(s: &mut State, c: Command) -> Vec<Effect> {
    update(s, Action::Key(KeyAction::Command(c)))
}

fn key(s: &mut State, k: KeyAction) -> Vec<Effect> {
    update(s, Action::Key(k))
}

fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        key(s, KeyAction::Char(c));
    }
}

fn problem(status: u16, code: &str) -> ApiError {
    ApiError::Problem(Box::new(Problem {
        type_: "about:blank".into(),
        title: "t".into(),
        status,
        code: code.into(),
        ..Problem::default()
    }))
}

fn sends(fx: &[Effect]) -> Vec<Op> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Send(op) => Some((**op).clone()),
            _ => None,
        })
        .collect()
}

/// Open 张三 (row 0) with the standard dossier loaded.
fn opened(lang: Lang) -> State {
    let mut s = fx::state(lang, 120, 40);
    let effects = cmd(&mut s, Command::Open);
    let req = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadCandidate { req, id: 1 } => Some(*req),
            _ => None,
        })
        .expect("load");
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Claim { id: 1, .. }))
    );
    update(
        &mut s,
        Action::DetailDone {
            req,
            id: 1,
            result: Ok(Box::new(fx::detail())),
        },
    );
    update(
        &mut s,
        Action::ClaimDone {
            id: 1,
            result: Ok(None),
        },
    );
    s
}

fn image_ok(image: ImageDto, candidate_version: i64, audit_id: i64) -> Result<OpOk, ApiError> {
    Ok(OpOk::Image(Box::new(ImageActionResponse {
        image,
        candidate_version,
        audit_id,
    })))
}

fn accepted(mut i: ImageDto) -> ImageDto {
    i.verdict = Verdict::Accepted;
    i.version += 1;
    i
}

#[test]
fn start_with_and_without_token() {
    let mut s = fx::state(Lang::Zh, 80, 24);
    assert_eq!(start(&mut s, true), vec![Effect::CheckToken]);
    assert_eq!(s.mode(), Mode::Login);
    let mut s2 = fx::state(Lang::Zh, 80, 24);
    assert!(start(&mut s2, false).is_empty());
    let me = MeResponse {
        reviewer: fx::reviewer(),
        window: fx::window(),
        expires_at: fx::now() + Duration::hours(1),
        server_time: fx::now(),
    };
    let effects = update(&mut s, Action::MeDone(Ok(Box::new(me))));
    assert_eq!(s.screen, Screen::Queue);
    assert!(effects.contains(&Effect::StartEvents));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::FetchPage { .. }))
    );
    // A stored token is not written again.
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::SaveToken { .. }))
    );
}

#[test]
fn stored_token_expired_shows_login() {
    let mut s = fx::state(Lang::Zh, 80, 24);
    s.session = None;
    start(&mut s, true);
    let effects = update(&mut s, Action::MeDone(Err(problem(401, "token_expired"))));
    assert_eq!(s.screen, Screen::Login);
    assert_eq!(s.login.error, Some(StatusMsg::SessionExpired));
    assert!(effects.contains(&Effect::ForgetToken));
}

#[test]
fn login_form() {
    let mut s = fx::state(Lang::Zh, 80, 24);
    s.session = None;
    s.screen = Screen::Login;
    typed(&mut s, "nanjing");
    // Enter on the username moves to the password.
    assert!(key(&mut s, KeyAction::Submit).is_empty());
    assert_eq!(s.login.focus, LoginField::Password);
    typed(&mut s, "demo");
    let effects = key(&mut s, KeyAction::Submit);
    assert_eq!(
        effects,
        vec![Effect::Login {
            username: "nanjing".into(),
            password: "demo".into()
        }]
    );
    update(
        &mut s,
        Action::LoginDone(Err(problem(401, "bad_credentials"))),
    );
    assert_eq!(s.login.error, Some(StatusMsg::BadCredentials));
    assert_eq!(s.screen, Screen::Login);
    let effects = update(&mut s, Action::LoginDone(Ok(Box::new(fx::session()))));
    assert_eq!(s.screen, Screen::Queue);
    assert!(s.login.password.is_empty(), "the password is not kept");
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::SaveToken { .. }))
    );
    assert!(effects.contains(&Effect::StartEvents));
}

#[test]
fn login_unreachable_server_retries() {
    let mut s = fx::state(Lang::En, 80, 24);
    s.session = None;
    start(&mut s, true);
    update(
        &mut s,
        Action::MeDone(Err(ApiError::Connect("refused".into()))),
    );
    assert!(matches!(
        s.login.error,
        Some(StatusMsg::Api(ApiError::Connect(_)))
    ));
    let effects = update(&mut s, Action::Tick(fx::now() + Duration::seconds(4)));
    assert!(effects.contains(&Effect::CheckToken));
}

#[test]
fn pages_latest_wins_and_prefetch() {
    let mut s = fx::state(Lang::Zh, 80, 24);
    let effects = cmd(&mut s, Command::NextTab);
    let Some(Effect::FetchPage { req, query }) = effects.first().cloned() else {
        panic!("no fetch: {effects:?}")
    };
    assert_eq!(query.state.as_deref(), Some("pending"));
    assert_eq!(s.queue.tab, Tab::Pending);
    // An older answer is ignored.
    update(
        &mut s,
        Action::PageDone {
            req: req - 1,
            result: Ok(Box::new(fx::list())),
        },
    );
    assert!(s.queue.loading.is_some());
    let mut page = fx::list();
    page.items.truncate(2);
    page.counts.pending = 2;
    let effects = update(
        &mut s,
        Action::PageDone {
            req,
            result: Ok(Box::new(page)),
        },
    );
    assert_eq!(s.queue.rows.len(), 2);
    assert_eq!(s.queue.counts.pending, 2);
    // Few rows and a cursor: the next page is asked for at once.
    let Some(Effect::FetchPage { query, .. }) = effects.first() else {
        panic!("no prefetch: {effects:?}")
    };
    assert_eq!(query.cursor.as_deref(), Some("c2"));
}

#[test]
fn page_errors_are_words() {
    let mut s = fx::state(Lang::Zh, 80, 24);
    let effects = cmd(&mut s, Command::Refresh);
    let Some(Effect::FetchPage { req, .. }) = effects.first().cloned() else {
        panic!()
    };
    update(
        &mut s,
        Action::PageDone {
            req,
            result: Err(ApiError::Timeout),
        },
    );
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::Api(ApiError::Timeout))
    );
    assert!(s.queue.loading.is_none());
}

#[test]
fn moving_and_scrolling() {
    let mut s = fx::state(Lang::Zh, 80, 10);
    cmd(&mut s, Command::Down);
    assert_eq!(s.queue.selected, 1);
    cmd(&mut s, Command::Bottom);
    assert_eq!(s.queue.selected, 4);
    assert!(s.queue.offset > 0, "the selection stays visible");
    cmd(&mut s, Command::Top);
    assert_eq!((s.queue.selected, s.queue.offset), (0, 0));
    cmd(&mut s, Command::PageDown);
    assert_eq!(s.queue.selected, 3);
    cmd(&mut s, Command::Up);
    cmd(&mut s, Command::PageUp);
    assert_eq!(s.queue.selected, 0);
    update(&mut s, Action::Resize(100, 30));
    assert_eq!(s.size, (100, 30));
}

#[test]
fn opening_goes_to_first_unreviewed_image() {
    let s = opened(Lang::Zh);
    assert_eq!(s.screen, Screen::Candidate);
    let c = s.cand.as_ref().expect("open");
    assert_eq!(c.image, 1, "ID back is the first unreviewed");
    assert!(matches!(c.claim, ClaimState::Mine { .. }));
}

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
fn expired_token_keeps_place_and_resends() {
    let mut s = opened(Lang::Zh);
    let op = sends(&cmd(&mut s, Command::Lock)).remove(0);
    s.login.username = "nanjing".into();
    update(
        &mut s,
        Action::OpDone {
            op: op.id,
            result: Err(problem(401, "token_expired")),
        },
    );
    assert!(s.relogin);
    assert_eq!(s.mode(), Mode::Login);
    assert_eq!(s.screen, Screen::Candidate, "the screen below is kept");
    assert_eq!(s.unsent(), 1);
    // While logged out nothing is sent.
    assert!(sends(&update(&mut s, Action::Tick(fx::now()))).is_empty());
    typed(&mut s, "demo");
    let effects = key(&mut s, KeyAction::Submit);
    assert!(matches!(&effects[0], Effect::Login { username, .. } if username == "nanjing"));
    let effects = update(&mut s, Action::LoginDone(Ok(Box::new(fx::session()))));
    assert!(!s.relogin);
    assert_eq!(s.cand.as_ref().map(|c| c.id), Some(1));
    let again = sends(&effects);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].idem, op.idem, "same Idempotency-Key on the retry");
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

#[test]
fn claim_held_by_someone_else() {
    let mut s = fx::state(Lang::Zh, 120, 40);
    cmd(&mut s, Command::Open);
    let until = fx::now() + Duration::minutes(4);
    let e = ApiError::Problem(Box::new(Problem {
        status: 409,
        code: "claimed".into(),
        held_by: Some("suzhou".into()),
        held_until: Some(until),
        ..Problem::default()
    }));
    update(
        &mut s,
        Action::ClaimDone {
            id: 1,
            result: Err(e),
        },
    );
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::HeldBy {
            who: "suzhou".into(),
            until: Some(until)
        })
    );
    // Leaving does not release what is not ours.
    assert!(!cmd(&mut s, Command::Back).contains(&Effect::Release { id: 1 }));
}

#[test]
fn claim_renewed_while_open_released_on_leave() {
    let mut s = opened(Lang::Zh);
    assert!(
        update(&mut s, Action::Tick(fx::now() + Duration::seconds(30)))
            .iter()
            .all(|e| !matches!(e, Effect::Claim { .. }))
    );
    let effects = update(&mut s, Action::Tick(fx::now() + Duration::seconds(61)));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Claim { id: 1, .. }))
    );
    let effects = cmd(&mut s, Command::Back);
    assert!(effects.contains(&Effect::Release { id: 1 }));
    assert_eq!(s.screen, Screen::Queue);
    // A late claim answer for a candidate we left is given back.
    let effects = update(
        &mut s,
        Action::ClaimDone {
            id: 1,
            result: Ok(None),
        },
    );
    assert_eq!(effects, vec![Effect::Release { id: 1 }]);
}

#[test]
fn next_and_previous_candidate_skip_claimed() {
    let mut s = opened(Lang::Zh);
    let effects = cmd(&mut s, Command::NextCandidate);
    assert!(effects.contains(&Effect::Release { id: 1 }));
    assert_eq!(s.cand.as_ref().map(|c| c.id), Some(3));
    cmd(&mut s, Command::PrevCandidate);
    assert_eq!(s.cand.as_ref().map(|c| c.id), Some(1));
    cmd(&mut s, Command::PrevCandidate);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::QueueStart)
    );
}

#[test]
fn detail_404_returns_to_queue() {
    let mut s = fx::state(Lang::Zh, 80, 24);
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
            result: Err(problem(404, "not_found")),
        },
    );
    assert_eq!(s.screen, Screen::Queue);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::NotFound)
    );
}

#[test]
fn quit_asks_when_decisions_are_unsent() {
    let mut s = opened(Lang::Zh);
    cmd(&mut s, Command::Lock);
    // q (and Ctrl-C and `:quit`, which resolve to the same command) asks.
    assert!(cmd(&mut s, Command::Quit).is_empty());
    assert!(!s.quit);
    assert_eq!(
        s.overlay,
        Some(Overlay::ConfirmLeave(ConfirmLeave {
            unsent: 1,
            durable: false,
            logout: false
        }))
    );
    assert_eq!(s.mode(), Mode::Confirm);
    // n: back to work, nothing lost.
    assert!(key(&mut s, KeyAction::ConfirmNo).is_empty());
    assert!(s.overlay.is_none() && !s.quit);
    assert_eq!(s.unsent(), 1);
    // Other keys leave the question open.
    cmd(&mut s, Command::Palette);
    typed(&mut s, "quit");
    key(&mut s, KeyAction::Submit);
    assert!(matches!(s.overlay, Some(Overlay::ConfirmLeave(_))));
    key(&mut s, KeyAction::Char('x'));
    assert!(matches!(s.overlay, Some(Overlay::ConfirmLeave(_))));
    let effects = key(&mut s, KeyAction::ConfirmYes);
    assert!(s.quit);
    assert!(effects.contains(&Effect::Quit));
    assert!(effects.contains(&Effect::Release { id: 1 }));
}

#[test]
fn quit_without_unsent_work_does_not_ask() {
    let mut s = opened(Lang::Zh);
    let effects = cmd(&mut s, Command::Quit);
    assert!(s.quit && effects.contains(&Effect::Quit));
}

#[test]
fn quitting_from_a_relogin_asks_over_the_login_form() {
    let mut s = opened(Lang::En);
    let op = sends(&cmd(&mut s, Command::Lock)).remove(0);
    update(
        &mut s,
        Action::OpDone {
            op: op.id,
            result: Err(problem(401, "token_expired")),
        },
    );
    assert!(s.relogin);
    key(&mut s, KeyAction::Cancel);
    assert_eq!(s.mode(), Mode::Confirm);
    key(&mut s, KeyAction::ConfirmNo);
    assert_eq!(s.mode(), Mode::Login, "back to the login form");
    assert!(!s.quit);
}

#[test]
fn back_from_queue_clears_search_then_quits() {
    let mut s = fx::state(Lang::Zh, 80, 24);
    cmd(&mut s, Command::Search);
    assert_eq!(s.mode(), Mode::Input);
    typed(&mut s, "张");
    update(&mut s, Action::Paste("三\x1b".into()));
    let effects = key(&mut s, KeyAction::Submit);
    let Some(Effect::FetchPage { query, .. }) = effects.first() else {
        panic!()
    };
    assert_eq!(query.q.as_deref(), Some("张三"));
    let effects = cmd(&mut s, Command::Back);
    assert!(matches!(effects.first(), Some(Effect::FetchPage { query, .. }) if query.q.is_none()));
    assert_eq!(cmd(&mut s, Command::Back), vec![Effect::Quit]);
}

#[test]
fn palette_runs_commands_by_name() {
    let mut s = opened(Lang::Zh);
    cmd(&mut s, Command::Palette);
    typed(&mut s, "zo");
    key(&mut s, KeyAction::NextField);
    let Some(Overlay::Input(i)) = &s.overlay else {
        panic!()
    };
    assert_eq!(i.text, "zoom");
    key(&mut s, KeyAction::Submit);
    assert_eq!(s.screen, Screen::Zoom);
    cmd(&mut s, Command::Palette);
    typed(&mut s, "frobnicate");
    key(&mut s, KeyAction::Submit);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::UnknownCommand("frobnicate".into()))
    );
    cmd(&mut s, Command::Palette);
    typed(&mut s, "next_tab");
    key(&mut s, KeyAction::Submit);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::NotHere("next_tab".into()))
    );
}

#[test]
fn reveal_feedback_history_zoom_help() {
    let mut s = opened(Lang::Zh);
    let effects = cmd(&mut s, Command::Reveal);
    assert!(matches!(
        effects.first(),
        Some(Effect::Reveal { id: 1, .. })
    ));
    update(
        &mut s,
        Action::RevealDone {
            id: 1,
            result: Ok(RevealResponse {
                id_number: "320102199605011234".into(),
                audit_id: 5,
            }),
        },
    );
    assert_eq!(
        s.cand.as_ref().and_then(|c| c.revealed.as_deref()),
        Some("320102199605011234")
    );
    assert!(
        cmd(&mut s, Command::Reveal).is_empty(),
        "a second press hides it"
    );
    assert!(s.cand.as_ref().is_some_and(|c| c.revealed.is_none()));

    cmd(&mut s, Command::Feedback);
    key(&mut s, KeyAction::Submit);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::FeedbackEmpty)
    );
    key(&mut s, KeyAction::NextField); // phone → sms
    typed(&mut s, "已短信通知");
    let ops = sends(&key(&mut s, KeyAction::Submit));
    assert_eq!(
        ops[0].kind,
        OpKind::Feedback {
            channel: shenhe::domain::audit::FeedbackChannel::Sms,
            body: "已短信通知".into()
        }
    );

    let effects = cmd(&mut s, Command::History);
    assert_eq!(effects, vec![Effect::LoadAudit { id: 1 }]);
    update(
        &mut s,
        Action::AuditDone {
            id: 1,
            result: Ok(AuditList { items: vec![] }),
        },
    );
    assert_eq!(s.cand.as_ref().and_then(|c| c.audit.clone()), Some(vec![]));
    assert!(cmd(&mut s, Command::History).is_empty());

    cmd(&mut s, Command::Zoom);
    assert_eq!(s.mode(), Mode::Zoom);
    cmd(&mut s, Command::PanLeft);
    assert_eq!(s.zoom.pan_x, 0, "nothing to pan at fit");
    cmd(&mut s, Command::ZoomIn);
    cmd(&mut s, Command::Rotate);
    cmd(&mut s, Command::PanLeft);
    assert_eq!(s.zoom.zoom, 1);
    assert_eq!(s.zoom.rotation, 1);
    assert_eq!(s.zoom.pan_x, -1);
    // A region jump replaces the pans; 1:1 toggles, and zooming leaves it.
    cmd(&mut s, Command::Region9);
    assert_eq!((s.zoom.region, s.zoom.pan_x), (9, 0));
    cmd(&mut s, Command::PanUp);
    assert_eq!(s.zoom.pan_y, -1);
    cmd(&mut s, Command::OneToOne);
    assert!(s.zoom.one_to_one);
    cmd(&mut s, Command::OneToOne);
    assert!(!s.zoom.one_to_one);
    cmd(&mut s, Command::OneToOne);
    cmd(&mut s, Command::ZoomOut);
    assert!(!s.zoom.one_to_one);
    assert_eq!(
        (s.zoom.zoom, s.zoom.region, s.zoom.pan_y),
        (0, 0, 0),
        "back at fit"
    );
    cmd(&mut s, Command::Back);
    assert_eq!(s.screen, Screen::Candidate);

    cmd(&mut s, Command::Help);
    assert_eq!(s.mode(), Mode::Help);
    key(&mut s, KeyAction::Scroll(3));
    assert_eq!(s.overlay, Some(Overlay::Help { scroll: 3 }));
    key(&mut s, KeyAction::Cancel);
    assert!(s.overlay.is_none());
}

#[test]
fn events_move_rows_and_counts() {
    let mut s = fx::state(Lang::Zh, 80, 24);
    let ev = QueueEvent {
        candidate_id: 3,
        version: 9,
        site_review: ReviewStatus::Passed,
        district_review: ReviewStatus::AwaitingReview,
        claim: None,
        actor: "suzhou".into(),
        action: "candidate.decision".into(),
        at: fx::now(),
    };
    update(&mut s, Action::Stream(StreamEvent::Event(ev.clone())));
    assert!(!s.queue.rows.iter().any(|r| r.id == 3));
    assert_eq!(s.queue.counts.awaiting_review, 1203);
    assert_eq!(s.queue.counts.passed, 3413);
    // A candidate we do not hold: counts are refreshed a moment later.
    let mut other = ev;
    other.candidate_id = 999;
    update(&mut s, Action::Stream(StreamEvent::Event(other)));
    let effects = update(&mut s, Action::Tick(fx::now() + Duration::seconds(3)));
    assert!(
        matches!(effects.first(), Some(Effect::FetchPage { query, .. }) if query.limit == Some(1))
    );
}

#[test]
fn event_on_the_open_candidate_reloads_it() {
    let mut s = opened(Lang::Zh);
    let ev = QueueEvent {
        candidate_id: 1,
        version: 12,
        site_review: ReviewStatus::AwaitingReview,
        district_review: ReviewStatus::NotStarted,
        claim: None,
        actor: "suzhou".into(),
        action: "image.lock".into(),
        at: fx::now(),
    };
    let effects = update(&mut s, Action::Stream(StreamEvent::Event(ev)));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadCandidate { id: 1, .. }))
    );
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::ChangedBy {
            who: "suzhou".into()
        })
    );
}

#[test]
fn stream_connection_state() {
    let mut s = fx::state(Lang::Zh, 80, 24);
    update(
        &mut s,
        Action::Stream(StreamEvent::Disconnected(ApiError::Timeout)),
    );
    assert_eq!(s.conn, Conn::Reconnecting);
    update(&mut s, Action::Stream(StreamEvent::Connected));
    assert_eq!(s.conn, Conn::Connected);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::Reconnected)
    );
    update(
        &mut s,
        Action::Stream(StreamEvent::Disconnected(problem(401, "token_expired"))),
    );
    assert!(s.relogin);
}

#[test]
fn resync_refetches_counts_and_the_open_dossier() {
    let mut s = opened(Lang::Zh);
    let effects = update(&mut s, Action::Stream(StreamEvent::Resync));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadCandidate { id: 1, .. }))
    );
    let effects = update(&mut s, Action::Tick(fx::now()));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::FetchPage { query, .. } if query.limit == Some(1)))
    );
}

#[test]
fn logout_forgets_everything() {
    let mut s = opened(Lang::Zh);
    let effects = cmd(&mut s, Command::Logout);
    assert!(effects.contains(&Effect::Logout));
    assert!(effects.contains(&Effect::ForgetToken));
    assert!(effects.contains(&Effect::Release { id: 1 }));
    assert_eq!(s.screen, Screen::Login);
    assert!(s.session.is_none());
}

// ------------------------------------------------------------------ outbox

fn journal(fx: &[Effect]) -> Vec<JournalOp> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Journal(j) => Some(j.clone()),
            _ => None,
        })
        .collect()
}

fn position(fx: &[Effect], pred: impl Fn(&Effect) -> bool) -> usize {
    fx.iter().position(pred).expect("effect present")
}

#[test]
fn every_decision_is_journaled_before_it_is_sent() {
    let mut s = opened(Lang::Zh);
    let effects = cmd(&mut s, Command::Lock);
    let put = position(&effects, |e| {
        matches!(e, Effect::Journal(JournalOp::Put(_)))
    });
    let send = position(&effects, |e| matches!(e, Effect::Send(_)));
    assert!(put < send, "Put before Send: {effects:?}");
    let op = sends(&effects).remove(0);
    let Effect::Journal(JournalOp::Put(entry)) = &effects[put] else {
        unreachable!()
    };
    assert_eq!(entry.key, op.idem);
    assert_eq!(entry.reviewer, "nanjing");
    assert_eq!(entry.server, "http://127.0.0.1:8080");
    assert_eq!(entry.candidate_id, 1);
    assert_eq!(entry.expected_version, op.expected_version);
    assert_eq!(entry.op, op.kind);
    assert!(
        entry.image.is_some(),
        "the image is named for the refused list"
    );
    // Queued behind the one in flight: journaled now, sent later.
    let effects = cmd(&mut s, Command::Lock);
    assert_eq!(journal(&effects).len(), 1);
    assert!(sends(&effects).is_empty());
    // Feedback, pending, undo: every mutating op goes through the journal.
    cmd(&mut s, Command::Feedback);
    typed(&mut s, "请补交");
    let effects = key(&mut s, KeyAction::Submit);
    assert!(matches!(
        journal(&effects).as_slice(),
        [JournalOp::Put(e)] if matches!(e.op, OpKind::Feedback { .. })
    ));
    assert_eq!(s.unsent(), 3);
}

#[test]
fn confirm_rebases_later_ops_before_they_are_sent() {
    let mut s = opened(Lang::Zh);
    let img = current_image(&s);
    let lock = sends(&cmd(&mut s, Command::Lock)).remove(0);
    cmd(&mut s, Command::Feedback);
    typed(&mut s, "x");
    key(&mut s, KeyAction::Submit);
    let feedback_key = s.outbox.items[1].idem.clone();
    let v = s.outbox.items[1].expected_version;
    let effects = update(
        &mut s,
        Action::OpDone {
            op: lock.id,
            result: image_ok(accepted(img), v + 1, 500),
        },
    );
    let rebase = position(&effects, |e| {
        matches!(e, Effect::Journal(JournalOp::Rebase { key, expected_version })
            if *key == feedback_key && *expected_version == v + 1)
    });
    let confirm = position(
        &effects,
        |e| matches!(e, Effect::Journal(JournalOp::Confirm { key }) if *key == lock.idem),
    );
    let send = position(&effects, |e| matches!(e, Effect::Send(_)));
    assert!(rebase < confirm && confirm < send, "{effects:?}");
    let next = sends(&effects).remove(0);
    assert_eq!(next.idem, feedback_key);
    assert_eq!(next.expected_version, v + 1);
    assert!(next.sent);
}

fn current_image(s: &State) -> ImageDto {
    shenhe::app::update::current_image(s)
        .expect("an image")
        .clone()
}

fn conflict() -> ApiError {
    ApiError::Problem(Box::new(Problem {
        type_: "about:blank".into(),
        title: "Conflict".into(),
        status: 409,
        code: "stale_version".into(),
        changed_by: Some("suzhou".into()),
        changed_at: Some(fx::now() - Duration::minutes(3)),
        ..Problem::default()
    }))
}

#[test]
fn refused_decisions_are_listed_until_dismissed() {
    let mut s = opened(Lang::Zh);
    let op = sends(&cmd(&mut s, Command::Lock)).remove(0);
    cmd(&mut s, Command::Lock);
    let second = s.outbox.items[1].idem.clone();
    let effects = update(
        &mut s,
        Action::OpDone {
            op: op.id,
            result: Err(conflict()),
        },
    );
    // Both go to the refused list (and to the journal), none is dropped.
    let refused: Vec<_> = journal(&effects)
        .into_iter()
        .filter_map(|j| match j {
            JournalOp::Refuse { key, refusal } => Some((key, refusal)),
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), 2);
    assert_eq!(refused[0].0, op.idem);
    assert_eq!(refused[0].1.status, Some(409));
    assert_eq!(refused[0].1.changed_by.as_deref(), Some("suzhou"));
    assert_eq!(refused[1].0, second);
    assert_eq!(refused[1].1.code.as_deref(), Some(Refusal::DEPENDENT));
    assert_eq!(s.unsent(), 0);
    assert_eq!(s.refused.len(), 2);
    let words = shenhe::ui::i18n::refusal(Lang::Zh, &s.refused[0].refusal, s.now);
    assert_eq!(words, "suzhou 已于 09:57 先行修改");
    let words = shenhe::ui::i18n::refusal(Lang::En, &s.refused[1].refusal, s.now);
    assert!(words.contains("earlier action"), "{words}");

    // The list: `!`, move, dismiss one, then all.
    cmd(&mut s, Command::Refused);
    assert_eq!(s.mode(), Mode::Refused);
    key(&mut s, KeyAction::Move(1));
    assert_eq!(s.overlay, Some(Overlay::Refused { cursor: 1 }));
    let effects = key(&mut s, KeyAction::Dismiss);
    assert_eq!(
        journal(&effects),
        vec![JournalOp::Remove {
            key: second.clone()
        }]
    );
    assert_eq!(s.refused.len(), 1);
    assert_eq!(s.overlay, Some(Overlay::Refused { cursor: 0 }));
    let effects = key(&mut s, KeyAction::DismissAll);
    assert_eq!(
        journal(&effects),
        vec![JournalOp::Remove {
            key: op.idem.clone()
        }]
    );
    assert!(s.refused.is_empty() && s.overlay.is_none());
    cmd(&mut s, Command::Refused);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::NoRefused)
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

fn entry(key: &str, kind: OpKind, version: i64) -> OutboxEntry {
    OutboxEntry {
        key: key.into(),
        created_at: fx::now(),
        reviewer: "nanjing".into(),
        server: "http://127.0.0.1:8080".into(),
        candidate_id: 1,
        label: "张三".into(),
        image: None,
        expected_version: version,
        op: kind,
    }
}

#[test]
fn login_opens_the_journal_and_replays_it_in_order() {
    let mut s = fx::state(Lang::Zh, 80, 24);
    s.session = None;
    start(&mut s, true);
    let me = MeResponse {
        reviewer: fx::reviewer(),
        window: fx::window(),
        expires_at: fx::now() + Duration::hours(1),
        server_time: fx::now(),
    };
    let effects = update(&mut s, Action::MeDone(Ok(Box::new(me))));
    assert!(effects.contains(&Effect::Journal(JournalOp::Open {
        server: "http://127.0.0.1:8080".into(),
        reviewer: "nanjing".into()
    })));
    let a = "00000000-0000-4000-8000-00000000000a";
    let b = "00000000-0000-4000-8000-00000000000b";
    let c = "00000000-0000-4000-8000-00000000000c";
    let refusal = Refusal::dependent(fx::now());
    let tracked = vec![
        Tracked {
            entry: entry(a, OpKind::Lock { image_id: 101 }, 3),
            state: EntryState::Pending,
        },
        Tracked {
            entry: entry(b, OpKind::Lock { image_id: 102 }, 3),
            state: EntryState::Refused(refusal.clone()),
        },
        Tracked {
            entry: entry(c, OpKind::Undo { audit_id: 9 }, 0),
            state: EntryState::Pending,
        },
    ];
    let effects = update(&mut s, Action::OutboxLoaded(Ok(tracked.clone())));
    assert!(s.durable);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::Replaying { n: 2 })
    );
    let keys: Vec<&str> = s.outbox.items.iter().map(|o| o.idem.as_str()).collect();
    assert_eq!(keys, [a, c], "in journal order");
    // Only the oldest can have reached the server: its body is frozen.
    assert!(s.outbox.items[0].sent && !s.outbox.items[1].sent);
    assert_eq!(s.refused.len(), 1);
    assert_eq!(s.refused[0].refusal, refusal);
    let sent = sends(&effects);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].idem, a);
    assert_eq!(sent[0].expected_version, 3);
    // The same journal read again (a relogin) adds nothing.
    update(&mut s, Action::OutboxLoaded(Ok(tracked)));
    assert_eq!(s.unsent(), 2);
    assert_eq!(s.refused.len(), 1);

    // The server already had `a` (the last run sent it before dying): it
    // answers with the stored success. Counts are not moved twice.
    let counts = s.queue.counts.clone();
    let mut img = fx::detail().materials[0].images[0].clone();
    img.verdict = shenhe::domain::image::Verdict::Accepted;
    let effects = update(
        &mut s,
        Action::OpDone {
            op: sent[0].id,
            result: image_ok(img, 4, 77),
        },
    );
    assert!(effects.contains(&Effect::Journal(JournalOp::Confirm { key: a.into() })));
    assert_eq!(s.queue.counts, counts);
    assert_eq!(sends(&effects)[0].idem, c);
}

#[test]
fn an_unwritable_journal_is_said_not_hidden() {
    let mut s = opened(Lang::En);
    update(&mut s, Action::OutboxLoaded(Err("disk full".into())));
    assert!(!s.durable);
    assert!(matches!(
        s.status.as_ref().map(|x| &x.msg),
        Some(StatusMsg::JournalFailed(_))
    ));
    update(&mut s, Action::OutboxLoaded(Ok(vec![])));
    assert!(s.durable);
    update(&mut s, Action::JournalFailed("EIO".into()));
    assert!(!s.durable);
    cmd(&mut s, Command::Lock);
    cmd(&mut s, Command::Quit);
    assert_eq!(
        s.overlay,
        Some(Overlay::ConfirmLeave(ConfirmLeave {
            unsent: 1,
            durable: false,
            logout: false
        }))
    );
}

#[test]
fn reconnect_resends_at_once_and_resyncs_the_queue() {
    let mut s = opened(Lang::Zh);
    let op = sends(&cmd(&mut s, Command::Lock)).remove(0);
    update(
        &mut s,
        Action::OpDone {
            op: op.id,
            result: Err(ApiError::Connect("reset".into())),
        },
    );
    // Push the retry far out, as after many failures.
    s.outbox.items[0].retry_at = Some(fx::now() + Duration::seconds(30));
    update(
        &mut s,
        Action::Stream(StreamEvent::Disconnected(ApiError::Timeout)),
    );
    let effects = update(&mut s, Action::Stream(StreamEvent::Connected));
    let again = sends(&effects);
    assert_eq!(again.len(), 1, "{effects:?}");
    assert_eq!(again[0].idem, op.idem);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::FetchPage { query, .. } if query.limit == Some(shenhe::app::update::PAGE)))
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadCandidate { id: 1, .. }))
    );
    // A first connection is not a resync.
    let mut fresh = fx::state(Lang::Zh, 80, 24);
    fresh.conn = Conn::Unknown;
    assert!(update(&mut fresh, Action::Stream(StreamEvent::Connected)).is_empty());
}

#[test]
fn taking_back_an_unsent_op_removes_it_from_the_journal() {
    let mut s = opened(Lang::Zh);
    sends(&cmd(&mut s, Command::Lock));
    cmd(&mut s, Command::Lock);
    let last = s.outbox.items[1].idem.clone();
    let effects = cmd(&mut s, Command::Undo);
    assert!(effects.contains(&Effect::Journal(JournalOp::Remove { key: last })));
    assert_eq!(s.unsent(), 1);
}

#[test]
fn expired_token_relogin_reopens_the_journal_and_resumes() {
    let mut s = opened(Lang::Zh);
    update(&mut s, Action::OutboxLoaded(Ok(vec![])));
    let op = sends(&cmd(&mut s, Command::Lock)).remove(0);
    s.login.username = "nanjing".into();
    update(
        &mut s,
        Action::OpDone {
            op: op.id,
            result: Err(problem(401, "token_expired")),
        },
    );
    assert!(s.relogin);
    assert_eq!(s.screen, Screen::Candidate);
    typed(&mut s, "demo");
    key(&mut s, KeyAction::Submit);
    let effects = update(&mut s, Action::LoginDone(Ok(Box::new(fx::session()))));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Journal(JournalOp::Open { .. })))
    );
    let again = sends(&effects);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].idem, op.idem);
    // The journal, read again, holds the same op: not queued twice.
    let tracked = vec![Tracked {
        entry: op.to_entry("nanjing", "http://127.0.0.1:8080", fx::now()),
        state: EntryState::Pending,
    }];
    let effects = update(&mut s, Action::OutboxLoaded(Ok(tracked)));
    assert!(sends(&effects).is_empty());
    assert_eq!(s.unsent(), 1);
    assert_eq!(
        s.cand.as_ref().map(|c| c.id),
        Some(1),
        "where the reviewer was"
    );
}

#[test]
fn logout_with_unsent_work_asks_and_forgets_it_in_memory() {
    let mut s = opened(Lang::Zh);
    update(&mut s, Action::OutboxLoaded(Ok(vec![])));
    cmd(&mut s, Command::Lock);
    assert!(cmd(&mut s, Command::Logout).is_empty());
    assert_eq!(
        s.overlay,
        Some(Overlay::ConfirmLeave(ConfirmLeave {
            unsent: 1,
            durable: true,
            logout: true
        }))
    );
    let effects = key(&mut s, KeyAction::ConfirmYes);
    assert!(effects.contains(&Effect::Logout));
    // Kept in the reviewer's journal; never sent as the next one to log in.
    assert_eq!(s.unsent(), 0);
    assert!(!effects.iter().any(|e| matches!(e, Effect::Journal(_))));
}
