//! `update` driven by actions, as the loop would: every command and every
//! kind of server answer, including the errors.
//!
//! One module per part of the console; the helpers that drive `update`
//! are here.

mod candidate;
mod judging;
mod ops;
mod outbox;
mod popups;
mod queue;
mod reliability;
mod session;
mod stream;
mod trust;

use shenhe::api::dto::*;
use shenhe::api::error::ApiError;
use shenhe::app::action::{Action, Effect, JournalOp, OpOk};
use shenhe::app::fixtures as fx;
use shenhe::app::keys::{Command, KeyAction};
use shenhe::app::state::*;
use shenhe::app::update;
use shenhe::domain::image::Verdict;
use shenhe::lang::Lang;

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

fn journal(fx: &[Effect]) -> Vec<JournalOp> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Journal(j) => Some(j.clone()),
            _ => None,
        })
        .collect()
}
