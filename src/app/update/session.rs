//! Who is at the console: the login form's keys, the answer to a login or
//! token check, logging out, and errors of reads and one-off calls (a 401
//! brings the login form back over the current screen).

use chrono::{DateTime, Duration, Utc};

use crate::api::error::ApiError;
use crate::app::action::{Effect, JournalOp};
use crate::app::keys::{Command, KeyAction};
use crate::app::state::*;

use super::candidate::{load_candidate, release_current};
use super::ops::pump;
use super::popups::quit;
use super::queue::reload_queue;
use super::{error, idem, type_char, warn};

pub(super) fn login_key(s: &mut State, k: KeyAction) -> Vec<Effect> {
    let f = &mut s.login;
    match k {
        KeyAction::Char(c) => type_char(s, c),
        KeyAction::Backspace => {
            match f.focus {
                LoginField::Username => f.username.pop(),
                LoginField::Password => f.password.pop(),
            };
        }
        KeyAction::NextField => {
            f.focus = match f.focus {
                LoginField::Username => LoginField::Password,
                LoginField::Password => LoginField::Username,
            }
        }
        KeyAction::Submit => {
            if f.focus == LoginField::Username && f.password.is_empty() {
                f.focus = LoginField::Password;
                return vec![];
            }
            if f.busy || f.username.trim().is_empty() {
                return vec![];
            }
            f.busy = true;
            f.error = Some(StatusMsg::LoggingIn);
            return vec![Effect::Login {
                username: f.username.trim().to_string(),
                password: f.password.clone(),
            }];
        }
        KeyAction::Cancel | KeyAction::Command(Command::Quit) => {
            // Over a running session unsent work may be waiting: the same
            // warning as q.
            if s.relogin {
                return quit(s);
            }
            s.quit = true;
            return vec![Effect::Quit];
        }
        _ => {}
    }
    vec![]
}

pub(super) fn logout(s: &mut State) -> Vec<Effect> {
    let mut fx = release_current(s);
    s.cand = None;
    s.session = None;
    s.screen = Screen::Login;
    s.login = LoginForm::default();
    s.queue = Queue::new();
    s.undo.clear();
    // What is unsent or refused stays in this reviewer's journal (when
    // there is one) for their next login; never sent as someone else.
    s.outbox = Outbox::default();
    s.refused.clear();
    s.durable = false;
    fx.push(Effect::Logout);
    fx.push(Effect::ForgetToken);
    fx
}

type Who = (
    crate::api::dto::ReviewerDto,
    crate::api::dto::WindowDto,
    DateTime<Utc>,
    Option<String>,
    i64,
);

pub(super) fn login_done(s: &mut State, r: Result<Who, ApiError>) -> Vec<Effect> {
    s.login.busy = false;
    match r {
        Ok((reviewer, window, expires_at, token, undo_secs)) => {
            let mut fx = Vec::new();
            if let Some(token) = token
                && s.remember_token
            {
                fx.push(Effect::SaveToken { token, expires_at });
            }
            let same_reviewer = s
                .session
                .as_ref()
                .is_some_and(|x| x.reviewer.username == reviewer.username);
            // This reviewer's journal on this server: unsent decisions of an
            // earlier run come back with OutboxLoaded and are sent again.
            fx.push(Effect::Journal(JournalOp::Open {
                server: s.server.clone(),
                reviewer: reviewer.username.clone(),
            }));
            s.session = Some(Session {
                reviewer,
                window,
                expires_at,
                undo_secs,
            });
            s.login.password.clear();
            s.login.error = None;
            fx.push(Effect::StartEvents);
            if s.relogin && same_reviewer {
                // Resume where the reviewer was.
                s.relogin = false;
                if let Some(c) = &s.cand {
                    let id = c.id;
                    if c.detail.is_none() || c.loading.is_some() {
                        fx.extend(load_candidate(s, id));
                    }
                    fx.push(Effect::Claim { id, idem: idem() });
                }
                if s.queue.loading.is_some() || !s.queue.loaded {
                    fx.extend(reload_queue(s));
                }
                fx.extend(pump(s));
                return fx;
            }
            // A first login, or someone else took over the terminal: their
            // queue, not the previous reviewer's screen or unsent ops.
            if s.relogin {
                s.outbox = Outbox::default();
                s.refused.clear();
                s.durable = false;
                s.undo.clear();
                s.cand = None;
            }
            s.relogin = false;
            s.screen = Screen::Queue;
            s.queue = Queue::new();
            fx.extend(reload_queue(s));
            fx
        }
        Err(e) if e.is_unauthorized() => {
            let had_session = s.session.is_some();
            s.screen = if had_session { s.screen } else { Screen::Login };
            s.relogin = had_session;
            s.login.error = Some(if s.login.username.is_empty() && !had_session {
                // A stored token that expired.
                StatusMsg::SessionExpired
            } else {
                StatusMsg::BadCredentials
            });
            s.login.focus = if s.login.username.is_empty() {
                LoginField::Username
            } else {
                LoginField::Password
            };
            vec![Effect::ForgetToken]
        }
        Err(e) => {
            if e.is_transport() && s.session.is_none() && s.login.username.is_empty() {
                s.login.retry_at = Some(s.now + Duration::seconds(3));
                s.login.busy = true;
            }
            s.login.error = Some(StatusMsg::Api(e));
            vec![]
        }
    }
}

/// Errors of reads and one-off calls: words in the status bar; 401 brings
/// the login form over the current screen.
pub(super) fn api_error(s: &mut State, e: ApiError) -> Vec<Effect> {
    if e.is_unauthorized() {
        s.relogin = true;
        s.login.password.clear();
        s.login.focus = if s.login.username.is_empty() {
            LoginField::Username
        } else {
            LoginField::Password
        };
        s.login.error = Some(StatusMsg::SessionExpired);
        warn(s, StatusMsg::SessionExpired);
        return vec![];
    }
    if let Some((who, at)) = e.conflict()
        && e.code() != Some("claimed")
    {
        let who = who.map(str::to_string);
        error(s, StatusMsg::Conflict { who, at });
        return vec![];
    }
    if s.queue.loading.is_some() && e.is_transport() {
        s.queue.loading = None;
    }
    error(s, StatusMsg::Api(e));
    vec![]
}
