//! Logging in and out, a token that expires under the reviewer, and
//! quitting: what `update` asks for and keeps at each step.

use chrono::Duration;
use shenhe::api::dto::*;
use shenhe::api::error::ApiError;
use shenhe::app::action::{Action, Effect};
use shenhe::app::fixtures as fx;
use shenhe::app::keys::{Command, KeyAction, Mode};
use shenhe::app::state::*;
use shenhe::app::{start, update};
use shenhe::lang::Lang;

use super::{cmd, key, opened, problem, sends, typed};

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
        undo_window_secs: 120,
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
fn logout_forgets_everything() {
    let mut s = opened(Lang::Zh);
    let effects = cmd(&mut s, Command::Logout);
    assert!(effects.contains(&Effect::Logout));
    assert!(effects.contains(&Effect::ForgetToken));
    assert!(effects.contains(&Effect::Release { id: 1 }));
    assert_eq!(s.screen, Screen::Login);
    assert!(s.session.is_none());
}
