//! The durable outbox: every op journaled before it is sent, rebased and
//! confirmed as answers come, refused ones listed until dismissed, the
//! journal replayed at login, and a journal that cannot be written.

use chrono::Duration;
use shenhe::api::dto::*;
use shenhe::api::error::ApiError;
use shenhe::app::action::{Action, Effect, JournalOp};
use shenhe::app::fixtures as fx;
use shenhe::app::keys::{Command, KeyAction, Mode};
use shenhe::app::state::*;
use shenhe::app::{start, update};
use shenhe::lang::Lang;
use shenhe::outbox::{EntryState, Tracked};

use super::{accepted, cmd, image_ok, journal, key, opened, problem, sends, typed};

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

fn current_image(s: &State) -> ImageDto {
    shenhe::app::update::current_image(s)
        .expect("an image")
        .clone()
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
        undo_window_secs: 120,
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
