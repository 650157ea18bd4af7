//! The event stream: other reviewers' events move rows and counts or
//! reload the open candidate; the connection state; a reconnect resends
//! at once and resyncs.

use chrono::Duration;
use shenhe::api::client::StreamEvent;
use shenhe::api::dto::*;
use shenhe::api::error::ApiError;
use shenhe::app::action::{Action, Effect};
use shenhe::app::fixtures as fx;
use shenhe::app::keys::Command;
use shenhe::app::state::*;
use shenhe::app::update;
use shenhe::domain::review::ReviewStatus;
use shenhe::lang::Lang;

use super::{cmd, opened, problem, sends};

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
