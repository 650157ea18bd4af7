//! Issue 12 in `update`: undo says what it undid and goes back to it, and
//! gives back the claim it makes moot; flagged images ask once; search
//! filters as one types; `/` on a candidate searches the queue; the
//! reports; a silent stream is noticed.

use chrono::Duration;
use shenhe::api::client::StreamEvent;
use shenhe::app::action::{Action, Effect, OpOk};
use shenhe::app::fixtures as fx;
use shenhe::app::keys::{Command, KeyAction};
use shenhe::app::state::*;
use shenhe::app::update;
use shenhe::lang::Lang;

use super::{cmd, image_ok, key, opened, sends, typed};

fn tick_ms(s: &mut State, ms: i64) -> Vec<Effect> {
    let t = s.now + Duration::milliseconds(ms);
    s.live.heard(t);
    update(s, Action::Tick(t))
}

#[test]
fn undo_says_what_it_undid_and_returns_to_that_image() {
    let mut s = opened(Lang::Zh);
    // Unlock the current image (身份证明 反面, id 11), confirmed.
    let img = s
        .cand
        .as_ref()
        .and_then(|c| c.current_image())
        .cloned()
        .expect("image");
    cmd(&mut s, Command::Unlock);
    key(&mut s, KeyAction::Toggle(0));
    let op = sends(&key(&mut s, KeyAction::Submit)).remove(0);
    let mut after = img.clone();
    after.version += 1;
    update(
        &mut s,
        Action::OpDone {
            op: op.id,
            result: image_ok(after, 8, 41),
        },
    );
    // The reviewer moved on to another image, then undoes.
    cmd(&mut s, Command::NextImage);
    assert_ne!(
        s.cand
            .as_ref()
            .and_then(|c| c.current_image())
            .map(|i| i.id),
        Some(img.id)
    );
    let undo = sends(&cmd(&mut s, Command::Undo)).remove(0);
    assert_eq!(
        s.cand
            .as_ref()
            .and_then(|c| c.current_image())
            .map(|i| i.id),
        Some(img.id),
        "back on the image the undo is about"
    );
    let mut d = fx::detail();
    d.version = 9;
    update(
        &mut s,
        Action::OpDone {
            op: undo.id,
            result: Ok(OpOk::Undo(Box::new(shenhe::api::dto::UndoResponse {
                audit_id: 42,
                undone: 41,
                candidate: d,
            }))),
        },
    );
    let words = shenhe::ui::i18n::status(Lang::Zh, &s.status.as_ref().expect("status").msg, s.now);
    assert!(words.starts_with("已撤销：解锁 身份证明 · 反面"), "{words}");
    assert_eq!(
        s.cand
            .as_ref()
            .and_then(|c| c.current_image())
            .map(|i| i.id),
        Some(img.id)
    );
}

#[test]
fn a_claim_granted_after_the_undo_is_given_back() {
    let mut s = opened(Lang::Zh);
    cmd(&mut s, Command::Pending);
    key(&mut s, KeyAction::Toggle(0));
    let fx1 = key(&mut s, KeyAction::Submit);
    let op = sends(&fx1).remove(0);
    let next = s.cand.as_ref().map(|c| c.id).expect("advanced");
    assert!(
        fx1.iter()
            .any(|e| matches!(e, Effect::Claim { id, .. } if *id == next))
    );
    // Taken back before it was confirmed: the next one is released …
    update(
        &mut s,
        Action::OpDone {
            op: op.id,
            result: Err(shenhe::api::error::ApiError::Timeout),
        },
    );
    let fx2 = cmd(&mut s, Command::Undo);
    assert!(fx2.contains(&Effect::Release { id: next }), "{fx2:?}");
    // … and if its claim is granted only now, that is given back too.
    let fx3 = update(
        &mut s,
        Action::ClaimDone {
            id: next,
            result: Ok(None),
        },
    );
    assert_eq!(fx3, vec![Effect::Release { id: next }]);
}

#[test]
fn a_flagged_image_asks_once_before_it_is_locked() {
    let mut s = opened(Lang::Zh);
    // Flag the current image (as if blurry).
    if let Some(c) = s.cand.as_mut() {
        let id = c.current_image().map(|i| i.id).expect("image");
        if let Some(i) = c.image_mut(id) {
            i.hints.blurry = true;
        }
    }
    let id = s
        .cand
        .as_ref()
        .and_then(|c| c.current_image())
        .map(|i| i.id);
    assert!(
        sends(&cmd(&mut s, Command::Lock)).is_empty(),
        "asked, not sent"
    );
    assert!(matches!(s.overlay, Some(Overlay::ConfirmFlagged(_))));
    // No: nothing happens; asked again next time.
    key(&mut s, KeyAction::ConfirmNo);
    assert!(s.overlay.is_none() && s.outbox.items.is_empty());
    cmd(&mut s, Command::Lock);
    // `a` again (or y): locked.
    let sent = sends(&key(&mut s, KeyAction::Command(Command::Lock)));
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].kind,
        OpKind::Lock {
            image_id: id.expect("id")
        }
    );
    // Turned off in the config: never asks.
    let mut s = opened(Lang::Zh);
    s.confirm_flagged = false;
    if let Some(c) = s.cand.as_mut() {
        let id = c.current_image().map(|i| i.id).expect("image");
        if let Some(i) = c.image_mut(id) {
            i.hints.blurry = true;
        }
    }
    assert_eq!(sends(&cmd(&mut s, Command::Lock)).len(), 1);
}

#[test]
fn search_filters_as_one_types_after_a_pause() {
    let mut s = fx::state(Lang::Zh, 120, 40);
    cmd(&mut s, Command::Search);
    typed(&mut s, "0000");
    assert_eq!(s.queue.query, "0000");
    // Typing on: nothing sent yet.
    let fx1 = tick_ms(&mut s, 100);
    assert!(!fx1.iter().any(|e| matches!(e, Effect::FetchPage { .. })));
    typed(&mut s, "61");
    let fx2 = tick_ms(&mut s, 250);
    let q = fx2
        .iter()
        .find_map(|e| match e {
            Effect::FetchPage { query, .. } => query.q.clone(),
            _ => None,
        })
        .expect("sent after the pause");
    assert_eq!(q, "000061");
    // Esc puts back the filter there was.
    let fx3 = key(&mut s, KeyAction::Cancel);
    assert_eq!(s.queue.query, "");
    assert!(fx3.iter().any(|e| matches!(e, Effect::FetchPage { .. })));
}

#[test]
fn slash_on_a_candidate_searches_the_queue() {
    let mut s = opened(Lang::Zh);
    let fx1 = cmd(&mut s, Command::Search);
    assert_eq!(s.screen, Screen::Queue);
    assert!(fx1.contains(&Effect::Release { id: 1 }));
    assert!(matches!(
        s.overlay,
        Some(Overlay::Input(Input {
            kind: InputKind::Search,
            ..
        }))
    ));
}

#[test]
fn export_and_stats_from_the_palette() {
    let mut s = fx::state(Lang::Zh, 120, 40);
    let fx1 = cmd(&mut s, Command::Export);
    assert_eq!(
        fx1,
        vec![Effect::Export {
            state: "awaiting_review".into(),
            lang: Lang::Zh
        }]
    );
    update(&mut s, Action::ExportDone(Ok(("/tmp/x.csv".into(), 3, 1))));
    let words = shenhe::ui::i18n::status(Lang::Zh, &s.status.as_ref().expect("s").msg, s.now);
    assert!(
        words.contains("已导出 3 人") && words.contains("撤销期"),
        "{words}"
    );
    let fx2 = cmd(&mut s, Command::Stats);
    assert_eq!(fx2, vec![Effect::LoadStats { stale_days: 3 }]);
    assert_eq!(s.overlay, Some(Overlay::Stats));
    key(&mut s, KeyAction::Cancel);
    assert!(s.overlay.is_none());
}

#[test]
fn a_silent_stream_is_noticed_and_a_beat_brings_it_back() {
    let mut s = fx::state(Lang::Zh, 120, 40);
    let t0 = s.now;
    update(&mut s, Action::Stream(StreamEvent::Connected));
    update(&mut s, Action::Tick(t0 + Duration::seconds(3)));
    assert_eq!(s.conn, Conn::Connected);
    update(&mut s, Action::Tick(t0 + Duration::seconds(4)));
    assert_eq!(s.conn, Conn::Reconnecting);
    assert_eq!(
        s.status.as_ref().map(|x| &x.msg),
        Some(&StatusMsg::ServerSilent)
    );
    update(&mut s, Action::Stream(StreamEvent::Alive));
    assert_eq!(s.conn, Conn::Connected);
}

#[test]
fn bottom_goes_to_the_real_end_of_the_tab() {
    let mut s = fx::state(Lang::Zh, 120, 40);
    let fx1 = cmd(&mut s, Command::Bottom);
    let (req, q) = fx1
        .iter()
        .find_map(|e| match e {
            Effect::FetchPage { req, query } => Some((*req, query.clone())),
            _ => None,
        })
        .expect("the end is fetched");
    assert_eq!(q.order.as_deref(), Some("desc"));
    let mut page = fx::list();
    page.items.reverse();
    page.next_cursor = Some("c9.9".into());
    update(
        &mut s,
        Action::PageDone {
            req,
            result: Ok(Box::new(page)),
        },
    );
    assert_eq!(s.queue.selected, s.queue.rows.len() - 1);
    assert_eq!(s.queue.rows.last().map(|r| r.id), Some(5));
    assert_eq!(shenhe::ui::queue::position(&s), "1,204/1,204");
    // Up to the top of what is loaded: the rows above come next …
    let fx2 = cmd(&mut s, Command::Up);
    assert!(
        fx2.iter()
            .any(|e| matches!(e, Effect::FetchPage { query, .. }
        if query.order.as_deref() == Some("desc") && query.cursor.as_deref() == Some("c9.9")))
    );
    // … and `g` is the start again.
    let fx3 = cmd(&mut s, Command::Top);
    assert!(
        fx3.iter()
            .any(|e| matches!(e, Effect::FetchPage { query, .. } if query.order.is_none()))
    );
}
