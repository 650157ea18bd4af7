//! The outbox against a failing server (issue 12): `Retry-After` is
//! honoured, and a 5xx that keeps recurring for one decision goes to the
//! refused list after a bounded number of answers, with the reason.

use chrono::Duration;
use shenhe::app::action::{Action, Effect};
use shenhe::app::keys::Command;
use shenhe::app::state::*;
use shenhe::app::update;
use shenhe::lang::Lang;

use super::{cmd, opened, problem, sends};

fn tick(s: &mut State, secs: i64) -> Vec<Effect> {
    let t = s.now + Duration::seconds(secs);
    // Heartbeats go on (the link is fine; the server is what fails).
    s.live.heard(t);
    update(s, Action::Tick(t))
}

#[test]
fn retry_after_is_waited_out() {
    let mut s = opened(Lang::Zh);
    let op = sends(&cmd(&mut s, Command::Lock))[0].id;
    let e = problem(503, "unavailable").with_retry_after(Some(40));
    update(&mut s, Action::OpDone { op, result: Err(e) });
    let head = s.outbox.items.front().expect("kept").clone();
    assert!(
        head.retry_at.expect("retry") >= s.now + Duration::seconds(40),
        "{:?}",
        head.retry_at
    );
    assert!(
        sends(&tick(&mut s, 39)).is_empty(),
        "not before Retry-After"
    );
    assert_eq!(sends(&tick(&mut s, 2)).len(), 1, "sent again after it");
}

#[test]
fn a_recurring_server_error_ends_in_the_refused_list() {
    let mut s = opened(Lang::Zh);
    let mut op = sends(&cmd(&mut s, Command::Lock))[0].id;
    for n in 1..=MAX_SERVER_FAILURES {
        update(
            &mut s,
            Action::OpDone {
                op,
                result: Err(problem(500, "internal")),
            },
        );
        if n < MAX_SERVER_FAILURES {
            assert!(s.refused.is_empty(), "refused after only {n}");
            // The next attempt, whenever its backoff lets it go.
            let mut next = Vec::new();
            for _ in 0..20 {
                next = sends(&tick(&mut s, 31));
                if !next.is_empty() {
                    break;
                }
            }
            op = next.first().expect("retried").id;
        }
    }
    assert!(s.outbox.items.is_empty());
    let r = s.refused.first().expect("in the refused list");
    assert_eq!(
        r.refusal.code.as_deref(),
        Some(shenhe::outbox::Refusal::SERVER_FAILING)
    );
    let words = shenhe::ui::i18n::refusal(Lang::Zh, &r.refusal, s.now);
    assert!(
        words.contains("反复出错") && words.contains("500"),
        "{words}"
    );
    // A lost link, however long, is never given up on.
    let mut s = opened(Lang::Zh);
    let mut op = sends(&cmd(&mut s, Command::Lock))[0].id;
    for _ in 0..(MAX_SERVER_FAILURES * 3) {
        update(
            &mut s,
            Action::OpDone {
                op,
                result: Err(shenhe::api::error::ApiError::Timeout),
            },
        );
        let mut next = Vec::new();
        for _ in 0..20 {
            next = sends(&tick(&mut s, 31));
            if !next.is_empty() {
                break;
            }
        }
        op = next.first().expect("retried").id;
    }
    assert!(s.refused.is_empty());
}
