//! The queue: pages (latest answer wins, prefetch), page errors in words,
//! moving and scrolling, search.

use shenhe::api::error::ApiError;
use shenhe::app::action::{Action, Effect};
use shenhe::app::fixtures as fx;
use shenhe::app::keys::{Command, KeyAction, Mode};
use shenhe::app::state::*;
use shenhe::app::update;
use shenhe::lang::Lang;

use super::{cmd, key, typed};

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
    // Everything loaded: the end is the last row (with more to load, `G`
    // fetches the tab's end: console_update::trust).
    s.queue.next_cursor = None;
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
